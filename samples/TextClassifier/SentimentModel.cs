using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Samples.TextClassifier;

/// <summary>
/// Generated reviews over a tiny vocabulary: a few neutral words and exactly one sentiment word, whose polarity is the
/// label, padded to <see cref="Length"/> tokens with <c>&lt;pad&gt;</c> (id 0).
/// </summary>
public static class Reviews
{
    /// <summary>Tokens per review, padding included.</summary>
    public const int Length = 8;

    /// <summary>The id of <c>&lt;pad&gt;</c>, also the reference token of the explanations.</summary>
    public const long PadId = 0;

    /// <summary>The class names, by label.</summary>
    public static IReadOnlyList<string> Classes { get; } = ["negative", "positive"];

    /// <summary>The words that carry no sentiment.</summary>
    public static IReadOnlyList<string> Neutral { get; } = ["the", "movie", "was", "a", "film", "plot", "story", "actors", "this", "really"];

    /// <summary>The positive words.</summary>
    public static IReadOnlyList<string> Positive { get; } = ["great", "good", "wonderful", "fun", "brilliant"];

    /// <summary>The negative words.</summary>
    public static IReadOnlyList<string> Negative { get; } = ["bad", "awful", "boring", "dull", "terrible"];

    /// <summary>The vocabulary: <c>&lt;pad&gt;</c> (id 0), then the neutral, positive and negative words.</summary>
    public static IReadOnlyList<string> Vocabulary { get; } = [.. new[] { "<pad>" }.Concat(Neutral).Concat(Positive).Concat(Negative)];

    /// <summary>Makes <paramref name="count"/> reviews; the same seed gives the same reviews on every machine.</summary>
    /// <param name="count">How many reviews.</param>
    /// <param name="seed">The seed of the generator (System.Random) that picks the words.</param>
    /// <returns>
    /// The token ids ([count, <see cref="Length"/>], int64), the labels ([count], int64, 1 positive) and the position
    /// of each review's sentiment word; the caller disposes the tensors.
    /// </returns>
    public static (Tensor Tokens, Tensor Labels, int[] SentimentPositions) Generate(int count, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        var random = new Random(seed);
        var tokens = new long[count * Length];
        var labels = new long[count];
        var positions = new int[count];
        for (var n = 0; n < count; n++)
        {
            var words = random.Next(3, Length);
            var position = random.Next(words);
            var label = random.Next(2);
            for (var t = 0; t < words; t++)
            {
                var word = t != position ? Neutral[random.Next(Neutral.Count)]
                    : label == 1 ? Positive[random.Next(Positive.Count)]
                    : Negative[random.Next(Negative.Count)];
                tokens[(n * Length) + t] = Id(word);
            }

            labels[n] = label;
            positions[n] = position;
        }

        return (torch.tensor(tokens).view(count, Length), torch.tensor(labels), positions);
    }

    /// <summary>The id of a word of the vocabulary.</summary>
    /// <param name="word">The word.</param>
    /// <returns>Its id.</returns>
    /// <exception cref="ArgumentException">The word is not in the vocabulary.</exception>
    public static long Id(string word)
    {
        for (var i = 0; i < Vocabulary.Count; i++)
        {
            if (Vocabulary[i] == word)
            {
                return i;
            }
        }

        throw new ArgumentException($"'{word}' is not in the vocabulary.", nameof(word));
    }

    /// <summary>The words of a review's token ids ([Length]).</summary>
    /// <param name="tokens">The token ids of one review.</param>
    /// <returns>The words, <c>&lt;pad&gt;</c> included.</returns>
    public static string[] Words(Tensor tokens) => [.. tokens.data<long>().Select(id => Vocabulary[(int)id])];
}

/// <summary>
/// A bag-of-embeddings sentiment classifier: the tokens' embeddings (the padding's is zero) are summed and a small
/// MLP gives the two classes' logits. Its embedding layer is named <c>embedding</c>.
/// </summary>
public sealed class SentimentModel : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> embedding;
    private readonly nn.Module<Tensor, Tensor> hidden;
    private readonly nn.Module<Tensor, Tensor> relu;
    private readonly nn.Module<Tensor, Tensor> output;

    /// <summary>Creates the model with TorchSharp's default (random) initialisation.</summary>
    public SentimentModel()
        : base(nameof(SentimentModel))
    {
        embedding = nn.Embedding(Reviews.Vocabulary.Count, 8, padding_idx: Reviews.PadId);
        hidden = nn.Linear(8, 16);
        relu = nn.ReLU();
        output = nn.Linear(16, Reviews.Classes.Count);
        RegisterComponents();
    }

    /// <summary>The logits ([N, 2]) of token ids [N, L].</summary>
    /// <param name="input">The token ids, int64.</param>
    /// <returns>The logits.</returns>
    public override Tensor forward(Tensor input) =>
        output.call(relu.call(hidden.call(embedding.call(input).sum(dim: 1))));

    /// <summary>
    /// Trains a new model on <paramref name="tokens"/> with Adam and cross-entropy (about a second on a CPU) and
    /// returns it in evaluation mode.
    /// </summary>
    /// <param name="tokens">The training reviews' token ids, [N, L].</param>
    /// <param name="labels">Their labels, [N].</param>
    /// <param name="epochs">Passes over the reviews, in batches of 32.</param>
    /// <param name="seed">Seeds TorchSharp's global generator before the weights are initialised.</param>
    /// <returns>The trained model; the caller disposes it.</returns>
    public static SentimentModel Train(Tensor tokens, Tensor labels, int epochs = 10, long seed = 0)
    {
        torch.manual_seed(seed);
        var model = new SentimentModel();
        using var optimizer = torch.optim.Adam(model.parameters(), lr: 0.02);
        var count = tokens.shape[0];
        for (var epoch = 0; epoch < epochs; epoch++)
        {
            for (long start = 0; start < count; start += 32)
            {
                using var scope = torch.NewDisposeScope();
                var length = Math.Min(32, count - start);
                optimizer.zero_grad();
                var loss = nn.functional.cross_entropy(model.call(tokens.narrow(0, start, length)), labels.narrow(0, start, length));
                loss.backward();
                optimizer.step();
            }
        }

        model.eval();
        return model;
    }

    /// <summary>The fraction of <paramref name="tokens"/> classified as <paramref name="labels"/>.</summary>
    /// <param name="tokens">The reviews' token ids, [N, L].</param>
    /// <param name="labels">Their labels, [N].</param>
    /// <returns>The accuracy, in [0, 1].</returns>
    public double Accuracy(Tensor tokens, Tensor labels)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        return call(tokens).argmax(1).eq(labels).to_type(ScalarType.Float64).mean().item<double>();
    }
}
