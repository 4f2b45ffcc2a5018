using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// A prompt whose tokens are the interpretable features: each token can be kept or replaced by a baseline token
/// (usually the unknown or padding token); tokens such as BOS can be skipped (always kept, never attributed).
/// </summary>
/// <remarks>
/// <para>Python: <c>captum.attr.TextTokenInput(text, tokenizer, baselines=0, skip_tokens=None)</c>.</para>
/// <para>Beyond Captum, <see cref="Values"/> are the tokens as readable text (each id decoded alone, without
/// byte-level BPE marks such as Ġ); <see cref="Tokens"/> keeps the tokenizer's own strings, Captum's <c>values</c>.</para>
/// </remarks>
public sealed class TextTokenInput : IInterpretableInput
{
    private readonly long[] ids;
    private readonly bool[] interpretable;
    private readonly long[] interpretableIds;

    /// <summary>Tokenizes the prompt.</summary>
    /// <param name="text">The prompt.</param>
    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="baselines">The token that replaces a removed one, by id or string; id 0 by default. Python: <c>baselines</c>.</param>
    /// <param name="skipTokens">Tokens never perturbed nor attributed (by id or string), e.g. BOS. Python: <c>skip_tokens</c>.</param>
    /// <exception cref="ArgumentException">The prompt is empty or has no token left to attribute, the baseline is not a token id (negative, or outside the tokenizer's <see cref="ITextTokenizer.VocabularySize"/> when it gives one), or a baseline or skipped token given as a string is not one of the tokenizer's (Captum would take it as the unknown token); the message names the argument.</exception>
    public TextTokenInput(string text, ITextTokenizer tokenizer, TokenReference? baselines = null, IReadOnlyList<TokenReference>? skipTokens = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(tokenizer);
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new ArgumentException("text is empty: give a prompt.", nameof(text));
        }

        ids = [.. tokenizer.Encode(text)];
        var skipped = TokenReference.ResolveAll(skipTokens, tokenizer, nameof(skipTokens));
        interpretable = ids.Select(id => !skipped.Contains(id)).ToArray();
        interpretableIds = ids.Where((_, i) => interpretable[i]).ToArray();
        if (interpretableIds.Length == 0)
        {
            throw new ArgumentException($"text: \"{text}\" has no token to attribute once skipTokens are left out.", nameof(skipTokens));
        }

        Baseline = (baselines ?? 0).Resolve(tokenizer, nameof(baselines));
        LLMAttributionCall.RequireTokenIds([Baseline], tokenizer.VocabularySize, "the tokenizer's", nameof(baselines));
        Tokens = tokenizer.ConvertIdsToTokens(interpretableIds);
        Values = ReadableTokens.Of(interpretableIds, tokenizer);
    }

    /// <summary>The baseline token's id.</summary>
    public long Baseline { get; }

    /// <summary>The prompt's token ids, skipped ones included.</summary>
    public IReadOnlyList<long> Ids => ids;

    /// <summary>The tokenizer's strings of the interpretable tokens (Captum's <c>values</c>).</summary>
    public IReadOnlyList<string> Tokens { get; }

    /// <inheritdoc />
    public int FeatureCount => interpretableIds.Length;

    /// <inheritdoc />
    public IReadOnlyList<string> Values { get; }

    /// <summary>Which of the prompt's tokens are interpretable (not skipped). Python: <c>itp_mask</c>.</summary>
    public IReadOnlyList<bool> InterpretableMask => interpretable;

    /// <inheritdoc />
    public Tensor ToTensor() => torch.ones(1, interpretableIds.Length, ScalarType.Int64);

    /// <inheritdoc />
    /// <remarks>A feature whose value is not 1 takes the baseline token, as Captum's <c>perturbed_tensor != 1</c>.</remarks>
    public Tensor ToModelInput(Tensor? perturbed, ITextTokenizer tokenizer)
    {
        if (perturbed is null)
        {
            return torch.tensor(ids, ScalarType.Int64).unsqueeze(0);
        }

        if (perturbed.dim() != 2 || perturbed.shape[1] != interpretableIds.Length)
        {
            throw new ArgumentException($"perturbed must be [rows, {interpretableIds.Length}], not [{string.Join(", ", perturbed.shape)}].", nameof(perturbed));
        }

        using var scope = torch.NewDisposeScope();
        var rows = perturbed.shape[0];
        var kept = perturbed.eq(1).cpu();
        var itp = torch.tensor(interpretableIds, ScalarType.Int64).unsqueeze(0).expand(rows, -1);
        var replaced = torch.where(kept, itp, torch.tensor(Baseline, ScalarType.Int64));
        var positions = torch.tensor(interpretable.Select((b, i) => (b, i)).Where(p => p.b).Select(p => (long)p.i).ToArray(), ScalarType.Int64);
        var full = torch.tensor(ids, ScalarType.Int64).unsqueeze(0).expand(rows, -1).clone();
        full.index_copy_(1, positions, replaced);
        return full.to(perturbed.device).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public Tensor FormatAttribution(Tensor attribution) => attribution.alias();
}
