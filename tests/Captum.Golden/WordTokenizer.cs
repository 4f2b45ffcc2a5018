using System.Text.Json.Nodes;
using Captum.Attr;

namespace Captum.Golden;

/// <summary>
/// The golden LLM cases' tokenizer (kind "words" in ../shared/golden/captum-0.8.0-modules/README.md): words split on
/// single spaces, an unknown word as &lt;unk&gt;, &lt;s&gt; first; decoding joins the words and leaves &lt;s&gt; out. A
/// fixture that fixes the tokens so that the cases test the attribution, not a tokenizer.
/// </summary>
internal sealed class WordTokenizer(IReadOnlyList<string> vocab, string bos = "<s>", string unk = "<unk>") : ITextTokenizer
{
    private readonly Dictionary<string, long> ids = vocab.Select((w, i) => (w, (long)i)).ToDictionary(p => p.w, p => p.Item2, StringComparer.Ordinal);

    /// <summary>The tokenizer of a case's <c>tokenizer</c> object (kind <c>words</c>): <c>vocab</c>, <c>bos</c> and <c>unk</c>.</summary>
    public static WordTokenizer FromCase(JsonObject tokenizer) => tokenizer["kind"]?.GetValue<string>() is not "words"
        ? throw new InvalidDataException($"tokenizer.kind '{tokenizer["kind"]}' is not 'words'")
        : new(
        (tokenizer["vocab"] as JsonArray ?? throw new InvalidDataException("tokenizer.vocab is missing")).Select(v => v!.GetValue<string>()).ToList(),
        tokenizer["bos"]?.GetValue<string>() ?? throw new InvalidDataException("tokenizer.bos is missing"),
        tokenizer["unk"]?.GetValue<string>() ?? throw new InvalidDataException("tokenizer.unk is missing"));

    public IReadOnlyList<long> Encode(string text) =>
        [ids[bos], .. text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(w => ids.TryGetValue(w, out var id) ? id : ids[unk])];

    public string Decode(IReadOnlyList<long> tokens) => string.Join(" ", tokens.Where(t => t != ids[bos]).Select(t => vocab[(int)t]));

    public IReadOnlyList<string> ConvertIdsToTokens(IReadOnlyList<long> tokens) => tokens.Select(t => vocab[(int)t]).ToList();

    public IReadOnlyList<long> ConvertTokensToIds(IReadOnlyList<string> tokens) => tokens.Select(t => ids.TryGetValue(t, out var id) ? id : ids[unk]).ToList();
}
