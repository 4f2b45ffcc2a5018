using System.Text;

namespace Captum.Attr;

/// <summary>
/// Tokens as people read them: each token's characters in the decoded text, newlines shown as \n, surrounding spaces
/// trimmed; a character split across tokens (an emoji in GPT-2's byte-level BPE) shown whole on each of them, marked
/// <c>[OVERLAP]</c> after the first.
/// </summary>
/// <remarks>
/// Python: <c>_convert_ids_to_pretty_tokens</c> and <c>_clean_up_pretty_token</c> of captum.attr._core.llm_attr, which
/// take each token's span from the tokenizer's offsets. <see cref="ITextTokenizer"/> gives no offsets, so the spans
/// come from decoding: a token whose every character decodes alone is that text (the common case, one decode per
/// token); otherwise the text's decoded prefixes tell where each token ends (for a tokenizer that
/// <see cref="ITextTokenizer.DecodesByConcatenation"/>, decoded from the last character boundary, so the work grows
/// with the tokens, not their square), and a token that ends inside a character decodes, at the end of its prefix, to
/// more than the whole text has there (a U+FFFD). A token that decodes to
/// nothing (a special token) keeps the tokenizer's string.
/// </remarks>
internal static class ReadableTokens
{
    private const string Overlap = " [OVERLAP]";

    public static IReadOnlyList<string> Of(IReadOnlyList<long> ids, ITextTokenizer tokenizer)
    {
        var raw = tokenizer.ConvertIdsToTokens(ids);
        var alone = ids.Select(id => tokenizer.Decode([id])).ToList();
        return alone.Any(t => t.Contains('\uFFFD', StringComparison.Ordinal))
            ? FromPrefixes(ids, tokenizer, raw)
            : alone.Select((text, i) => Clean(text) is { Length: > 0 } clean ? clean : raw[i]).ToList();
    }

    private static List<string> FromPrefixes(IReadOnlyList<long> ids, ITextTokenizer tokenizer, IReadOnlyList<string> raw)
    {
        var text = tokenizer.Decode(ids);
        var tokens = new List<string>(ids.Count);
        var complete = 0;
        var previousEnd = -1;

        // Each token's prefix is decoded from the last character boundary (anchor) when the tokenizer's decoding is a
        // concatenation there (a few tokens for byte-level BPE), else from the start.
        var (anchor, anchorChar) = (0, 0);
        for (var k = 0; k < ids.Count; k++)
        {
            var decoded = tokenizer.Decode(ids.Skip(anchor).Take(k + 1 - anchor).ToList());
            var common = decoded.AsSpan().CommonPrefixLength(text.AsSpan(anchorChar));
            var start = complete;
            complete = Math.Max(complete, anchorChar + common);
            var partial = anchorChar + decoded.Length > complete && complete < text.Length;
            var end = partial ? complete + CharLength(text, complete) : complete;
            var clean = Clean(text[start..end]);
            tokens.Add(clean.Length == 0 ? raw[k] : previousEnd > start ? clean + Overlap : clean);
            previousEnd = end;
            if (!partial && tokenizer.DecodesByConcatenation)
            {
                (anchor, anchorChar) = (k + 1, complete);
            }
        }

        return tokens;
    }

    private static string Clean(string token) => token.Replace("\n", "\\n", StringComparison.Ordinal).Trim();

    /// <summary>The UTF-16 length of the character at <paramref name="index"/>: 2 for a surrogate pair.</summary>
    private static int CharLength(string text, int index) =>
        Rune.DecodeFromUtf16(text.AsSpan(index), out _, out var length) == System.Buffers.OperationStatus.Done ? length : 1;
}
