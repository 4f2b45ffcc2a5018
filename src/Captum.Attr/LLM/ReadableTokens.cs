using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>Tokens as people read them: each id decoded alone, newlines shown as \n, surrounding spaces trimmed.</summary>
/// <remarks>
/// Python: <c>_convert_ids_to_pretty_tokens_fallback</c> and <c>_clean_up_pretty_token</c> of captum.attr._core.llm_attr
/// (Captum first tries the tokenizer's offsets, which <see cref="ITextTokenizer"/> does not expose). A token that
/// decodes to nothing (a special token) keeps the tokenizer's string.
/// </remarks>
internal static class ReadableTokens
{
    public static IReadOnlyList<string> Of(IReadOnlyList<long> ids, ITextTokenizer tokenizer)
    {
        var raw = tokenizer.ConvertIdsToTokens(ids);
        return ids.Select((id, i) => tokenizer.Decode([id]).Replace("\n", "\\n", StringComparison.Ordinal).Trim() is { Length: > 0 } text ? text : raw[i]).ToList();
    }
}
