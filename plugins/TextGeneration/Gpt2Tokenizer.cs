using Captum.Attr;
using Microsoft.ML.Tokenizers;

namespace Captum.Plugins.TextGeneration;

/// <summary>
/// GPT-2's byte-level BPE as <see cref="ITextTokenizer"/>: Microsoft.ML.Tokenizers' GPT-2 tokenizer with its GPT-2 data
/// package (no vocabulary or merges written here). Like Hugging Face's GPT-2 tokenizer it adds no BOS.
/// </summary>
/// <remarks>
/// Token strings (<see cref="ConvertIdsToTokens"/>) follow Hugging Face's byte-level spelling for the common cases:
/// a leading space shows as Ġ and a newline as Ċ; a token that is part of a multi-byte character decodes to U+FFFD.
/// Instances are safe to share across threads.
/// </remarks>
public sealed class Gpt2Tokenizer : ITextTokenizer
{
    private static readonly Lazy<Tokenizer> Gpt2 = new(() => TiktokenTokenizer.CreateForModel("gpt2"));
    private readonly Lazy<Tokenizer> shared;
    private readonly long size;
    private readonly long? endOfText;

    /// <summary>GPT-2's own BPE (Microsoft.ML.Tokenizers' GPT-2 data).</summary>
    public Gpt2Tokenizer()
    {
        shared = Gpt2;

        // 50,000 merges, 256 bytes and <|endoftext|>.
        size = EndOfText + 1;
        endOfText = EndOfText;
    }

    private Gpt2Tokenizer(CodeGenTokenizer tokenizer)
    {
        shared = new(tokenizer);
        size = tokenizer.Vocabulary.Values.Concat(tokenizer.SpecialTokens?.Values ?? []).DefaultIfEmpty(-1).Max() + 1L;
        // The id of the folder's own <|endoftext|>, not GPT-2's 50256 (an ordinary token there, perhaps). A vocab.json
        // without it never gets here: Microsoft.ML.Tokenizers refuses it, and FromFolder with it.
        endOfText = tokenizer.EndOfSentenceId;
    }

    /// <summary>The end-of-text token of GPT-2's own BPE, GPT-2's BOS and EOS: 50256.</summary>
    public const long EndOfText = 50256;

    private Lazy<Tokenizer> Shared => shared;

    /// <inheritdoc />
    /// <remarks>GPT-2's own BPE: 50257; a folder's: one more than the highest id of its vocab.json (its special tokens included).</remarks>
    public long? VocabularySize => size;

    /// <inheritdoc />
    /// <remarks>The end-of-text token, <c>&lt;|endoftext|&gt;</c>: 50256 in GPT-2's own BPE, its id in a folder's vocab.json (which must have it: <see cref="FromFolder"/> refuses a vocabulary without it).</remarks>
    public long? EndOfSequenceTokenId => endOfText;

    /// <summary>
    /// The tokenizer of a Hugging Face GPT-2 folder: its <c>vocab.json</c> and <c>merges.txt</c> when both are there (read
    /// by Microsoft.ML.Tokenizers' byte-level BPE, <c>CodeGenTokenizer</c>, without a prefix space or added BOS/EOS,
    /// as GPT-2's), else GPT-2's own BPE.
    /// </summary>
    /// <param name="folder">The checkpoint folder.</param>
    /// <returns>The tokenizer.</returns>
    /// <exception cref="ArgumentException">The files are there but cannot be read as a BPE vocabulary and merges, or the vocabulary has no <c>&lt;|endoftext|&gt;</c>; the message names checkpoint.</exception>
    public static Gpt2Tokenizer FromFolder(string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        var vocab = Path.Combine(folder, "vocab.json");
        var merges = Path.Combine(folder, "merges.txt");
        if (!File.Exists(vocab) || !File.Exists(merges))
        {
            return new Gpt2Tokenizer();
        }

        try
        {
            using var vocabStream = File.OpenRead(vocab);
            using var mergesStream = File.OpenRead(merges);
            return new Gpt2Tokenizer(CodeGenTokenizer.Create(vocabStream, mergesStream, addPrefixSpace: false, addBeginOfSentence: false, addEndOfSentence: false));
        }
        catch (Exception e) when (e is not IOException)
        {
            throw new ArgumentException($"checkpoint: {vocab} and {merges} are not a byte-level BPE vocabulary and merges: {e.Message}", "checkpoint", e);
        }
    }

    /// <inheritdoc />
    public IReadOnlyList<long> Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Shared.Value.EncodeToIds(text).Select(i => (long)i).ToList();
    }

    /// <inheritdoc />
    public string Decode(IReadOnlyList<long> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        return Shared.Value.Decode(ids.Where(i => i != endOfText).Select(id => checked((int)id))) ?? string.Empty;
    }

    /// <inheritdoc />
    public IReadOnlyList<string> ConvertIdsToTokens(IReadOnlyList<long> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        return ids.Select(id => id == endOfText ? "<|endoftext|>" : (Shared.Value.Decode([checked((int)id)]) ?? string.Empty).Replace(' ', 'Ġ').Replace('\n', 'Ċ')).ToList();
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">A token string is not one GPT-2 token; the message names it.</exception>
    public IReadOnlyList<long> ConvertTokensToIds(IReadOnlyList<string> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        return tokens.Select(token =>
        {
            if (token == "<|endoftext|>" && endOfText is { } end)
            {
                return end;
            }

            var ids = Encode(token.Replace('Ġ', ' ').Replace('Ċ', '\n'));
            return ids.Count == 1 ? ids[0] : throw new ArgumentException($"tokens: \"{token}\" is {ids.Count} GPT-2 tokens, not one.", nameof(tokens));
        }).ToList();
    }
}
