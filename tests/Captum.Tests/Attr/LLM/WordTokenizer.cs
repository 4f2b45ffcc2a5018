using Captum.Attr;

namespace Captum.Tests.Attr.LLM;

/// <summary>
/// The golden LLM cases' tokenizer (kind "words" in ../shared/golden/captum-0.8.0-modules/README.md): words split on
/// single spaces, an unknown word as &lt;unk&gt;, &lt;s&gt; first; decoding joins the words and leaves &lt;s&gt; out. A
/// fixture that fixes the tokens so that the cases test the attribution, not a tokenizer.
/// </summary>
internal sealed class WordTokenizer(IReadOnlyList<string> vocab, string bos = "<s>", string unk = "<unk>") : ITextTokenizer
{
    private readonly Dictionary<string, long> ids = vocab.Select((w, i) => (w, (long)i)).ToDictionary(p => p.w, p => p.Item2, StringComparer.Ordinal);

    public IReadOnlyList<long> Encode(string text) =>
        [ids[bos], .. text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(w => ids.TryGetValue(w, out var id) ? id : ids[unk])];

    public string Decode(IReadOnlyList<long> tokens) => string.Join(" ", tokens.Where(t => t != ids[bos]).Select(t => vocab[(int)t]));

    public IReadOnlyList<string> ConvertIdsToTokens(IReadOnlyList<long> tokens) => tokens.Select(t => vocab[(int)t]).ToList();

    public IReadOnlyList<long> ConvertTokensToIds(IReadOnlyList<string> tokens) => tokens.Select(t => ids.TryGetValue(t, out var id) ? id : ids[unk]).ToList();
}
