using System.Text;
using Captum.Attr;
using Microsoft.ML.Tokenizers;

namespace Captum.Plugins.TextGeneration.Stories;

/// <summary>
/// The story model's word-level tokenizer as <see cref="ITextTokenizer"/>: Microsoft.ML.Tokenizers'
/// <see cref="WordPieceTokenizer"/> over a vocabulary of whole words (a BERT-style <c>vocab.txt</c>, one token a line,
/// the line number its id), lower-casing the text and splitting it into words and punctuation; a word outside the
/// vocabulary becomes <c>[unk]</c>. It adds no special token, like GPT-2's tokenizer.
/// </summary>
/// <remarks>
/// Ids to token strings and back are looked up in the vocabulary itself (the WordPiece tokenizer does not expose it).
/// Decoding leaves <c>[pad]</c>, <c>[unk]</c> and <c>[eos]</c> out and writes punctuation without a space before it
/// ("mary went to the garden."). Instances are safe to share across threads.
/// </remarks>
public sealed class StoryTokenizer : ITextTokenizer
{
    /// <summary>The vocabulary file's name in a model folder.</summary>
    public const string VocabularyFile = "vocab.txt";

    private readonly WordPieceTokenizer tokenizer;
    private readonly string[] vocabulary;
    private readonly Dictionary<string, long> ids;

    /// <summary>The tokenizer of <see cref="StoryWords.Vocabulary"/>.</summary>
    public StoryTokenizer()
        : this(StoryWords.Vocabulary)
    {
    }

    /// <summary>A tokenizer of the words in <paramref name="vocabulary"/>, in id order; it must hold the special tokens of <see cref="StoryWords"/>.</summary>
    /// <exception cref="ArgumentException">A word is repeated, blank or has a space, or a special token is missing; the message names it.</exception>
    public StoryTokenizer(IReadOnlyList<string> vocabulary)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        this.vocabulary = [.. vocabulary];
        ids = new Dictionary<string, long>(StringComparer.Ordinal);
        for (var i = 0; i < this.vocabulary.Length; i++)
        {
            var word = this.vocabulary[i];
            if (string.IsNullOrWhiteSpace(word) || word.Any(char.IsWhiteSpace) || !ids.TryAdd(word, i))
            {
                throw new ArgumentException($"vocabulary: entry {i} (\"{word}\") is blank, has a space, or repeats an earlier one.", nameof(vocabulary));
            }
        }

        var special = new[] { StoryWords.Pad, StoryWords.Unknown, StoryWords.End }.ToDictionary(
            t => t,
            t => ids.TryGetValue(t, out var id) ? (int)id : throw new ArgumentException($"vocabulary: the special token {t} is missing.", nameof(vocabulary)));
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(string.Join('\n', this.vocabulary) + "\n"));
        tokenizer = WordPieceTokenizer.Create(stream, new WordPieceOptions
        {
            UnknownToken = StoryWords.Unknown,
            SpecialTokens = special,
            Normalizer = new LowerCaseNormalizer(),
            PreTokenizer = PreTokenizer.CreateWordOrPunctuation(special),
        });
    }

    /// <summary>The padding token's id.</summary>
    public long PadId => ids[StoryWords.Pad];

    /// <summary>The end token's id: generation stops there.</summary>
    public long EndId => ids[StoryWords.End];

    /// <summary>The vocabulary in id order.</summary>
    public IReadOnlyList<string> Vocabulary => vocabulary;

    /// <inheritdoc />
    public long? VocabularySize => vocabulary.Length;

    /// <inheritdoc />
    /// <remarks><c>[unk]</c>: every word outside the vocabulary.</remarks>
    public long? UnknownTokenId => ids[StoryWords.Unknown];

    /// <inheritdoc />
    /// <remarks><c>[eos]</c> (<see cref="EndId"/>), which the story model says after its answer.</remarks>
    public long? EndOfSequenceTokenId => EndId;

    /// <summary>Reads the <c>vocab.txt</c> of a model folder.</summary>
    /// <exception cref="ArgumentException">The folder has no <c>vocab.txt</c>, or it is not a story vocabulary; the message names it.</exception>
    public static StoryTokenizer Load(string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        var path = Path.Combine(folder, VocabularyFile);
        return File.Exists(path)
            ? new StoryTokenizer(File.ReadAllLines(path).Where(line => line.Length > 0).ToList())
            : throw new ArgumentException($"checkpoint: {path} not found; a story model folder has its vocabulary there.", "checkpoint");
    }

    /// <summary>Writes the vocabulary as <c>vocab.txt</c> into <paramref name="folder"/>.</summary>
    public void Save(string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, VocabularyFile), string.Join('\n', vocabulary) + "\n");
    }

    /// <inheritdoc />
    public IReadOnlyList<long> Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return tokenizer.EncodeToIds(text).Select(i => (long)i).ToList();
    }

    /// <inheritdoc />
    public string Decode(IReadOnlyList<long> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        return tokenizer.Decode(ids.Select(Checked), skipSpecialTokens: true) ?? string.Empty;
    }

    /// <inheritdoc />
    public IReadOnlyList<string> ConvertIdsToTokens(IReadOnlyList<long> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        return ids.Select(id => vocabulary[Checked(id)]).ToList();
    }

    /// <inheritdoc />
    /// <remarks>A string outside the vocabulary gives <c>[unk]</c>'s id, as Hugging Face's tokenizers do.</remarks>
    public IReadOnlyList<long> ConvertTokensToIds(IReadOnlyList<string> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        return tokens.Select(t => ids.TryGetValue(t, out var id) ? id : ids[StoryWords.Unknown]).ToList();
    }

    private int Checked(long id) =>
        id >= 0 && id < vocabulary.Length ? (int)id : throw new ArgumentException($"ids: {id} is not a token of the {vocabulary.Length}-word story vocabulary.", nameof(ids));
}
