using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// The tokenizer of a language model, as the LLM attribution classes use it: text to token ids and back, and ids
/// to the tokenizer's own token strings and back.
/// </summary>
/// <remarks>
/// Python: Captum's <c>TokenizerLike</c> (<c>encode</c>, <c>decode</c>, <c>convert_ids_to_tokens</c>,
/// <c>convert_tokens_to_ids</c>), which Hugging Face tokenizers satisfy. A model plugin supplies one; for GPT-2's
/// byte-level BPE, wrap Microsoft.ML.Tokenizers' GPT-2 tokenizer.
/// </remarks>
public interface ITextTokenizer
{
    /// <summary>The ids of <paramref name="text"/>, with the special tokens the tokenizer adds (a leading BOS, for one).</summary>
    IReadOnlyList<long> Encode(string text);

    /// <summary>The text of <paramref name="ids"/>, special tokens left out.</summary>
    string Decode(IReadOnlyList<long> ids);

    /// <summary>The tokenizer's token string of each id (byte-level BPE marks included).</summary>
    IReadOnlyList<string> ConvertIdsToTokens(IReadOnlyList<long> ids);

    /// <summary>The id of each token string.</summary>
    IReadOnlyList<long> ConvertTokensToIds(IReadOnlyList<string> tokens);
}
