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
    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="skipped">The ids left out.</param>
    /// <param name="argument">The argument the target was given as (target, Foil), which the errors name.</param>
    /// <exception cref="ArgumentException">
    /// No token is left, the text holds the tokenizer's unknown token (a word it does not know), or an id is outside
    /// the tokenizer's vocabulary; the message names <paramref name="argument"/>.
    /// </exception>
    internal long[] Resolve(ITextTokenizer tokenizer, ISet<long> skipped, string argument)
    {
        var described = Text is not null ? $"{argument} \"{Text}\"" : $"{argument} ids";
        var encoded = Text is not null ? tokenizer.Encode(Text) : Ids!;
        if (Text is not null && tokenizer.UnknownTokenId is { } unknown && encoded.Contains(unknown))
        {
            var token = tokenizer.ConvertIdsToTokens([unknown])[0];
            throw new ArgumentException(
                $"{described} holds a word the tokenizer does not know, so it would be explained as the unknown token {token} (id {unknown}); give words of the vocabulary.",
                argument);
        }

        if (Text is null)
        {
            LLMAttributionCall.RequireTokenIds(encoded, tokenizer.VocabularySize, "the tokenizer's", argument);
        }

        var ids = encoded.Where(id => !skipped.Contains(id)).ToArray();
        return ids.Length > 0
            ? ids
            : throw new ArgumentException($"{described} has no token once the skipped tokens are left out.", argument);
    }

    /// <inheritdoc />
    public override string ToString() => Text ?? string.Join(" ", Ids!);
}
