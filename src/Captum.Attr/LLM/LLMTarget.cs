using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// What the language model should answer, whose (log) probability is attributed: text, encoded with the tokenizer
/// (skipped tokens such as BOS left out), or token ids; none makes the model generate it greedily.
/// </summary>
/// <remarks>Python: the <c>target</c> argument of <c>LLMAttribution.attribute</c> (a str or a Tensor of ids).</remarks>
public readonly record struct LLMTarget
{
    private LLMTarget(string? text, IReadOnlyList<long>? ids) => (Text, Ids) = (text, ids);

    /// <summary>The target as text, when given as text.</summary>
    public string? Text { get; }

    /// <summary>The target's token ids, when given as ids.</summary>
    public IReadOnlyList<long>? Ids { get; }

    /// <summary>A target given as text.</summary>
    public static implicit operator LLMTarget(string text) => new(text ?? throw new ArgumentNullException(nameof(text)), null);

    /// <summary>A target given as token ids.</summary>
    public static implicit operator LLMTarget(long[] ids) => new(null, ids ?? throw new ArgumentNullException(nameof(ids)));

    /// <summary>The target's token ids: the text encoded, or the ids, without <paramref name="skipped"/>.</summary>
    /// <exception cref="ArgumentException">No token is left; the message names target.</exception>
    internal long[] Resolve(ITextTokenizer tokenizer, ISet<long> skipped)
    {
        var ids = (Text is not null ? tokenizer.Encode(Text) : Ids!).Where(id => !skipped.Contains(id)).ToArray();
        return ids.Length > 0
            ? ids
            : throw new ArgumentException($"target {(Text is not null ? $"\"{Text}\"" : "ids")} has no token once the skipped tokens are left out.", "target");
    }

    /// <inheritdoc />
    public override string ToString() => Text ?? string.Join(" ", Ids!);
}
