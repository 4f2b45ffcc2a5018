namespace Captum.Plugins.TextGeneration.Stories;

/// <summary>
/// A generated story with its question: sentences such as "mary went to the garden .", the question
/// "where is mary ?", the one-word answer, and which sentence decides it (the last one that moves the person asked
/// about; an earlier move of that person, like every sentence about someone else, is a distractor).
/// </summary>
/// <param name="Seed">The stream the story comes from.</param>
/// <param name="Index">Its index in the stream.</param>
/// <param name="Sentences">The sentences, in order, each ending with " .".</param>
/// <param name="Person">The person asked about.</param>
/// <param name="Answer">Where that person is: the place of the supporting fact.</param>
/// <param name="SupportingFact">The index in <paramref name="Sentences"/> of the sentence that decides the answer.</param>
public sealed record Story(long Seed, long Index, IReadOnlyList<string> Sentences, string Person, string Answer, int SupportingFact)
{
    /// <summary>The question: "where is mary ?".</summary>
    public string Question => $"where is {Person} ?";

    /// <summary>The prompt the model reads: the sentences and the question, separated by spaces.</summary>
    public string Prompt => string.Join(" ", [.. Sentences, Question]);

    /// <summary>
    /// The prompt as a template with one positional slot per sentence ("{} {} where is mary ?"), for
    /// <c>TextTemplateInput</c> with <see cref="Sentences"/> as the values.
    /// </summary>
    public string Template => string.Join(" ", [.. Sentences.Select(_ => "{}"), Question]);
}
