using Captum.Forward;
using Captum.Layers;
using Captum.Plugins.TextGeneration.Model;
using Captum.Plugins.TextGeneration.Stories;

namespace Captum.Plugins.TextGeneration;

/// <summary>
/// The story model (<see cref="StoryModel"/>) as an <see cref="IInterpretableModel"/>: a classifier of the next word
/// after a prompt. Its one raw input is the prompt ("prompt": a story and its question); its classes are the words of
/// the vocabulary, so the predicted class is the model's answer (the first word it would generate) and its score that
/// word's probability. Attributions go to the token embedding (<c>lm.transformer.wte</c>), one per prompt token,
/// with the padding token as every token's baseline (token id 0, Captum's default baseline token).
/// </summary>
/// <remarks>
/// This is what <c>captum explain --model story</c>, <c>captum insights</c> and <c>captum attribute-dataset --dataset
/// stories</c> explain: one next word, with any of the host's explanation methods. An answer of several tokens, a
/// template's values as features, contrastive targets and step scores are <c>captum llm</c>'s (LLMAttribution), which
/// the story model's one-word answers do not need. Not thread-safe (one network); Captum Insights queues its calls.
/// </remarks>
public sealed class StoryAnswerModel : IInterpretableModel
{
    /// <summary>The raw input's name.</summary>
    public const string PromptInput = "prompt";

    private readonly StoryModel story;
    private readonly NextWord net;

    /// <summary>Wraps a loaded story model; the instance takes ownership of it.</summary>
    /// <param name="story">The story model.</param>
    /// <param name="name">The model's name; default "story".</param>
    public StoryAnswerModel(StoryModel story, string? name = null)
    {
        this.story = story ?? throw new ArgumentNullException(nameof(story));
        Name = string.IsNullOrWhiteSpace(name) ? "story" : name;
        story.Network.eval();
        net = new NextWord(story.Network, story.Tokenizer.Vocabulary.Count);
        Labels = story.Tokenizer.Vocabulary;
    }

    /// <summary>The story model.</summary>
    public StoryModel Story => story;

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public IReadOnlyList<RawInputSpec> RawInputs { get; } =
        [new(PromptInput, RawInputKind.Text, "a story and its question, e.g. \"mary went to the garden . john went to the office . where is mary ?\"")];

    /// <inheritdoc />
    /// <remarks>Token ids [batch, tokens] to the logits of the word after the last token, [batch, words].</remarks>
    public ForwardFunction Forward => net;

    /// <inheritdoc />
    public IReadOnlyList<LayerReference> AttributionLayers { get; } = ["lm.transformer.wte"];

    /// <inheritdoc />
    public IReadOnlyList<string> Labels { get; }

    /// <summary>Loads a story model folder (the shipped one when <paramref name="folder"/> is null) as an interpretable model.</summary>
    /// <exception cref="ArgumentException">The folder is missing or holds no story model; the message names it.</exception>
    public static StoryAnswerModel Load(string? folder = null) => new(StoryModel.Load(folder));

    /// <inheritdoc />
    /// <exception cref="ArgumentException">
    /// The prompt is missing or blank, has none of the vocabulary's words, or has more tokens than the model's
    /// positions; the message names "prompt".
    /// </exception>
    public PreparedInput Prepare(IReadOnlyDictionary<string, string> rawInputs)
    {
        ArgumentNullException.ThrowIfNull(rawInputs);
        var prompt = rawInputs.TryGetValue(PromptInput, out var p) ? p : throw new ArgumentException($"rawInputs lacks '{PromptInput}'.", nameof(rawInputs));
        if (string.IsNullOrWhiteSpace(prompt))
        {
            throw new ArgumentException($"{PromptInput}: the prompt is empty; give a story and its question.", nameof(rawInputs));
        }

        var tokenizer = story.Tokenizer;
        var ids = tokenizer.Encode(prompt);
        var unknown = tokenizer.ConvertTokensToIds([StoryWords.Unknown])[0];
        if (ids.Count == 0 || ids.All(id => id == unknown))
        {
            throw new ArgumentException($"{PromptInput}: none of its words is one of the story model's {tokenizer.Vocabulary.Count} words; the answer would rest on unknown tokens only.", nameof(rawInputs));
        }

        var positions = story.Network.Config.Positions;
        if (ids.Count > positions)
        {
            throw new ArgumentException($"{PromptInput}: {ids.Count} tokens, but the model reads at most {positions}.", nameof(rawInputs));
        }

        var device = story.Network.TokenEmbedding.weight!.device;
        var tokens = torch.tensor(ids.ToArray(), ScalarType.Int64, device).unsqueeze(0);
        var baseline = torch.full(1, ids.Count, tokenizer.PadId, ScalarType.Int64, device);
        return new PreparedInput([tokens], [baseline], [], [new TextDisplay(PromptInput, prompt, tokenizer.ConvertIdsToTokens(ids))]);
    }

    /// <summary>Disposes the story model.</summary>
    public void Dispose()
    {
        story.Dispose();
        net.Dispose();
    }

    /// <summary>The language model's logits at the last position, limited to the tokenizer's words.</summary>
    private sealed class NextWord : nn.Module<Tensor, Tensor>
    {
        private readonly Gpt2LMHeadModel lm;
        private readonly long words;

        public NextWord(Gpt2LMHeadModel lm, long words)
            : base("StoryNextWord")
        {
            this.lm = lm;
            this.words = words;
            RegisterComponents();
        }

        public override Tensor forward(Tensor ids) => lm.call(ids)[.., -1, ..(int)words];
    }
}
