using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Influence;

/// <summary>
/// The proponents or opponents of each test example: <see cref="Indices"/>[i, j] is the training example with the
/// j-th highest (proponents) or lowest (opponents) influence on test example i, <see cref="Scores"/>[i, j] its score.
/// </summary>
/// <remarks>Python: <c>KMostInfluentialResults(indices, influence_scores)</c>. The caller disposes it.</remarks>
public sealed class MostInfluentialResult : IDisposable
{
    internal MostInfluentialResult(Tensor indices, Tensor scores)
    {
        Indices = indices;
        Scores = scores;
    }

    /// <summary>[test examples, k], int64 indices into the training data.</summary>
    public Tensor Indices { get; }

    /// <summary>[test examples, k], the influence scores of those examples.</summary>
    public Tensor Scores { get; }

    /// <summary>Disposes both tensors.</summary>
    public void Dispose()
    {
        Indices.Dispose();
        Scores.Dispose();
    }

    /// <summary>Checks k before any work: at least 1, and at most the training set's size when the training data is a collection.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The message names k.</exception>
    internal static void RequireK(int k, IEnumerable<InfluenceBatch> trainingData)
    {
        if (k < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(k), k, "k must be at least 1.");
        }

        if (trainingData is IReadOnlyCollection<InfluenceBatch> known && known.All(b => b is not null) && known.Sum(b => b.Count) is var size && k > size)
        {
            throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be at most the number of training examples ({size}).");
        }
    }

    /// <summary>The top k of every row of <paramref name="scores"/> ([test, training]).</summary>
    internal static MostInfluentialResult From(Tensor scores, int k, bool proponents)
    {
        if (k > scores.shape[1])
        {
            throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be at most the number of training examples ({scores.shape[1]}).");
        }

        using var scope = torch.NewDisposeScope();
        var (values, indices) = torch.topk(scores, k, dim: 1, largest: proponents, sorted: true);
        return new MostInfluentialResult(indices.MoveToOuterDisposeScope(), values.MoveToOuterDisposeScope());
    }
}
