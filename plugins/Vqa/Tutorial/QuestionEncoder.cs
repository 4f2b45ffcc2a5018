namespace Captum.Plugins.Vqa.Tutorial;

/// <summary>
/// Turns questions into token ids with the checkpoint's vocabulary, as the tutorial's
/// <c>encode_question</c> does: lowercase, split on whitespace, unknown words to 0.
/// </summary>
public sealed class QuestionEncoder
{
    private readonly IReadOnlyDictionary<string, long> tokenToIndex;

    /// <summary>Creates the encoder from the vocabulary (word to index; index 0 is reserved for padding and unknown words).</summary>
    public QuestionEncoder(IReadOnlyDictionary<string, long> tokenToIndex)
    {
        this.tokenToIndex = tokenToIndex ?? throw new ArgumentNullException(nameof(tokenToIndex));
        var words = new string[tokenToIndex.Count == 0 ? 1 : (int)tokenToIndex.Values.Max() + 1];
        Array.Fill(words, "unk");
        foreach (var (word, index) in tokenToIndex)
        {
            if (index < 0)
            {
                throw new ArgumentException($"tokenToIndex: word '{word}' has a negative index {index}.", nameof(tokenToIndex));
            }

            words[index] = word;
        }

        QuestionWords = words;
    }

    /// <summary>The word of every index ("unk" where the vocabulary has none). Python: <c>question_words</c>.</summary>
    public IReadOnlyList<string> QuestionWords { get; }

    /// <summary>The number of embedding rows the net needs: the vocabulary plus the padding index 0. Python: <c>num_tokens</c>.</summary>
    public long TokenCount => tokenToIndex.Count + 1;

    /// <summary>The index of the padding word "pad" if the vocabulary has one, else 0.</summary>
    public long PadIndex => tokenToIndex.TryGetValue("pad", out var pad) ? pad : 0;

    /// <summary>The question's words as the encoder sees them: lowercased, split on whitespace.</summary>
    public static IReadOnlyList<string> Tokenize(string question)
    {
        ArgumentNullException.ThrowIfNull(question);
        return question.ToLowerInvariant().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>
    /// Encodes a question: token ids, int64 [length], and its length, an int64 scalar. The caller owns both.
    /// Python: <c>encode_question(question)</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The question has no words.</exception>
    public (Tensor Tokens, Tensor Length) Encode(string question, Device? device = null)
    {
        var words = Tokenize(question);
        if (words.Count == 0)
        {
            throw new ArgumentException("question is empty: it needs at least one word.", nameof(question));
        }

        var ids = TokenIds(words);
        return (torch.tensor(ids, ScalarType.Int64, device), torch.tensor((long)ids.Length, ScalarType.Int64, device));
    }

    /// <summary>Whether <paramref name="word"/> (lowercase, as <see cref="Tokenize"/> gives it) is in the vocabulary; other words are read as padding, index 0.</summary>
    public bool Knows(string word) => tokenToIndex.TryGetValue(word, out var index) && index != 0;

    /// <summary>The token id of every word (0 for words outside the vocabulary).</summary>
    public long[] TokenIds(IEnumerable<string> words)
    {
        ArgumentNullException.ThrowIfNull(words);
        return words.Select(w => tokenToIndex.TryGetValue(w, out var i) ? i : 0L).ToArray();
    }
}
