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
/// byte-level BPE, wrap Microsoft.ML.Tokenizers' GPT-2 tokenizer. The three properties have default implementations
/// (null: not known), so that a tokenizer need give only what it has; the LLM classes check what is given.
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

    /// <summary>
    /// How many tokens the tokenizer has (ids 0 to <c>VocabularySize - 1</c>), or null when it does not say; ids given
    /// by the caller (a baseline, a target) outside it are refused. Python: <c>len(tokenizer)</c>.
    /// </summary>
    long? VocabularySize => null;

    /// <summary>
    /// The id a word outside the vocabulary becomes, or null when the tokenizer has no such token (GPT-2's byte-level
    /// BPE spells every text with its tokens); a target given as text that contains it is refused. Python:
    /// <c>unk_token_id</c>.
    /// </summary>
    long? UnknownTokenId => null;

    /// <summary>
    /// The end-of-sequence token's id, or null when the tokenizer has none: greedy generation stops there unless told
    /// otherwise (<see cref="LLMAttributionOptions{TOptions}.EndOfSequence"/>). Python: <c>eos_token_id</c>.
    /// </summary>
    long? EndOfSequenceTokenId => null;

    /// <summary>
    /// Whether decoding ids is the concatenation of decoding any split of them made at a character boundary (true of
    /// byte-level BPE such as GPT-2's; not of tokenizers that drop the leading space of the first token, such as
    /// SentencePiece's). False by default; when true, readable tokens of text with characters split across tokens are
    /// found by decoding a few tokens at a time instead of every prefix.
    /// </summary>
    bool DecodesByConcatenation => false;
}
