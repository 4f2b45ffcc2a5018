namespace Captum.Plugins.TextGeneration.Stories;

/// <summary>The fixed words of the generated stories: people, places, verbs, and the story model's vocabulary.</summary>
public static class StoryWords
{
    /// <summary>The padding token (id 0): fills batches, and is the baseline token of token-level attribution.</summary>
    public const string Pad = "[pad]";

    /// <summary>The unknown token (id 1): any word outside the vocabulary.</summary>
    public const string Unknown = "[unk]";

    /// <summary>The end token (id 2) the model says after its answer.</summary>
    public const string End = "[eos]";

    /// <summary>The people stories are about.</summary>
    public static IReadOnlyList<string> People { get; } = ["john", "mary", "sandra", "daniel", "bill", "fred"];

    /// <summary>The places they go to: the answers.</summary>
    public static IReadOnlyList<string> Places { get; } = ["kitchen", "garden", "office", "bathroom", "hallway", "bedroom"];

    /// <summary>The verbs of movement ("john travelled to the office .").</summary>
    public static IReadOnlyList<string> Verbs { get; } = ["went", "moved", "journeyed", "travelled"];

    /// <summary>
    /// The story model's vocabulary in id order (the lines of its <c>vocab.txt</c>): the special tokens, then every
    /// word a story or question can hold.
    /// </summary>
    public static IReadOnlyList<string> Vocabulary { get; } =
        [Pad, Unknown, End, .. People, .. Verbs, "to", "the", .. Places, ".", "where", "is", "?", "who"];
}
