using Captum.Forward;
using Captum.Layers;
using Captum.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Influence;

/// <summary>
/// The training examples whose activations at chosen layers are most similar to each test example's: influence by
/// resemblance, with no gradients and no checkpoints.
/// </summary>
/// <remarks>
/// Python: <c>captum.influence.SimilarityInfluence(module, layers, influence_src_dataset, activation_dir, model_id,
/// similarity_metric, similarity_direction, batch_size)</c> and its <c>influence(inputs, top_k,
/// additional_forward_args)</c>. Captum writes the training activations to <c>activation_dir</c> first; here the
/// training data is streamed through the model on every call and only each test example's running top k is kept, so
/// memory does not grow with the training set.
/// </remarks>
public sealed class SimilarityInfluence
{
    private readonly ForwardFunction forward;
    private readonly IReadOnlyList<(string Name, nn.Module Module)> layers;
    private readonly IEnumerable<IReadOnlyList<Tensor>> trainingInputs;
    private readonly SimilarityInfluenceOptions options;

    /// <summary>Creates the method.</summary>
    /// <param name="model">The model.</param>
    /// <param name="layers">The layers (modules or dotted paths) whose outputs are compared, at least one.</param>
    /// <param name="trainingInputs">The training examples' model arguments in batches, in a fixed order (no labels). Python: <c>influence_src_dataset</c>.</param>
    /// <param name="options">The metric and direction; cosine similarity, most similar first, when null.</param>
    /// <exception cref="ArgumentException">No layer, or one not in the model; the message names the argument.</exception>
    public SimilarityInfluence(nn.Module model, IReadOnlyList<LayerReference> layers, IEnumerable<IReadOnlyList<Tensor>> trainingInputs, SimilarityInfluenceOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentNullException.ThrowIfNull(trainingInputs);
        TorchRuntime.EnsureAvailable();
        if (layers.Count == 0)
        {
            throw new ArgumentException("layers: give at least one layer.", nameof(layers));
        }

        forward = ForwardFunction.FromModule(model);
        this.layers = layers.Select(l => (l.Path ?? LayerPath.PathOf(model, l.Resolve(model, nameof(layers))) ?? l.ToString(), l.Resolve(model, nameof(layers)))).ToList();
        this.trainingInputs = trainingInputs;
        this.options = options ?? new SimilarityInfluenceOptions();
    }

    /// <summary>The <paramref name="k"/> most similar training examples of each test example, per layer.</summary>
    /// <param name="inputs">The test examples' model arguments, batch first.</param>
    /// <param name="k">How many per test example, at least 1. Python: <c>top_k</c>.</param>
    /// <param name="progress">Reports training batches done.</param>
    /// <param name="cancellationToken">Checked between batches.</param>
    /// <returns>Per layer (by the name given or its path), indices and similarities [test examples, k], most similar first; the caller disposes it.</returns>
    public SimilarityInfluenceResult MostSimilar(IReadOnlyList<Tensor> inputs, int k, IProgress<AttributionProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (k < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(k), k, "k must be at least 1.");
        }

        using var scope = torch.NewDisposeScope();
        var test = Activations(inputs);
        var largest = options.Direction == SimilarityDirection.Max;
        var metric = options.Metric ?? SimilarityMetrics.Cosine(largest ? -2 : 2);
        var best = new (Tensor Values, Tensor Indices)?[layers.Count];
        var zeros = new List<Tensor>[layers.Count];
        long seen = 0;
        var batchIndex = 0;
        foreach (var batch in trainingInputs)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var batchScope = torch.NewDisposeScope();
            var train = Activations(batch ?? throw new ArgumentException($"trainingInputs: batch {batchIndex} is null.", "trainingInputs"));
            var m = train[0].shape[0];
            for (var l = 0; l < layers.Count; l++)
            {
                var similarity = metric(test[l], train[l]);
                if (!similarity.shape.SequenceEqual([test[l].shape[0], m]))
                {
                    throw new ArgumentException(
                        $"Metric: the similarity must be [{test[l].shape[0]}, {m}] (test examples, training batch), not [{string.Join(", ", similarity.shape)}].", "Metric");
                }

                if (options.Metric is null)
                {
                    var zeroPair = SimilarityMetrics.IsZero(test[l]).unsqueeze(1) | SimilarityMetrics.IsZero(train[l]).unsqueeze(0);
                    (zeros[l] ??= []).Add((torch.nonzero(zeroPair) + torch.tensor(new[] { 0L, seen })).MoveToOuterDisposeScope());
                }

                var (values, indices) = torch.topk(similarity, (int)Math.Min(k, m), dim: 1, largest: largest);
                indices += seen;
                if (best[l] is { } previous)
                {
                    values = torch.cat([previous.Values, values], 1);
                    indices = torch.cat([previous.Indices, indices], 1);
                }

                var order = torch.argsort(values, dim: 1, descending: largest).narrow(1, 0, Math.Min(k, values.shape[1]));
                best[l] = (values.gather(1, order).MoveToOuterDisposeScope(), indices.gather(1, order).MoveToOuterDisposeScope());
            }

            seen += m;
            batchIndex++;
            progress?.Report(new AttributionProgress(batchIndex, trainingInputs is IReadOnlyCollection<IReadOnlyList<Tensor>> c ? c.Count : batchIndex));
        }

        if (seen < k)
        {
            throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be at most the number of training examples ({seen}).");
        }

        var results = new Dictionary<string, MostInfluentialResult>(StringComparer.Ordinal);
        var zeroPairs = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        for (var l = 0; l < layers.Count; l++)
        {
            results[layers[l].Name] = new MostInfluentialResult(best[l]!.Value.Indices.MoveToOuterDisposeScope(), best[l]!.Value.Values.MoveToOuterDisposeScope());
            if (zeros[l] is { } z && torch.cat(z) is var pairs && pairs.shape[0] > 0)
            {
                zeroPairs[layers[l].Name] = pairs.MoveToOuterDisposeScope();
            }
        }

        return new SimilarityInfluenceResult(layers.Select(l => l.Name).ToList(), results, zeroPairs);
    }

    /// <summary>The layers' outputs for a batch, [n, ...] each, without gradients.</summary>
    private Tensor[] Activations(IReadOnlyList<Tensor> inputs)
    {
        using var noGrad = torch.no_grad();
        var values = new Tensor?[layers.Count];
        var counts = new int[layers.Count];
        var hooks = new List<IDisposable>();
        try
        {
            for (var l = 0; l < layers.Count; l++)
            {
                var index = l;
                hooks.Add(LayerHooks.Register(layers[l].Module, onInput: false, current =>
                {
                    counts[index] = current.Length;
                    values[index] = current.Length == 1 ? current[0].detach().clone() : null;
                    return null;
                }, "layers"));
            }

            forward.Invoke([.. inputs]);
        }
        finally
        {
            foreach (var hook in hooks)
            {
                hook.Dispose();
            }
        }

        for (var l = 0; l < layers.Count; l++)
        {
            if (counts[l] > 1)
            {
                // Captum's compares one activation tensor per layer too (tuple activations are a TODO there); taking the
                // first of several (a GRU's output beside its hidden state) would rank by a part the caller did not choose.
                throw new ArgumentException(
                    $"layers: {layers[l].Name} returns {counts[l]} tensors; SimilarityInfluence compares one activation per example, so give a layer that returns one (a submodule, or a module around this one that returns the tensor to compare).",
                    "layers");
            }

            if (values[l] is null)
            {
                throw new ArgumentException($"layers: {layers[l].Name} was not called by the forward pass (call it through call(), not forward()).", "layers");
            }
        }

        return values.Select(v => v!).ToArray();
    }
}

/// <summary>Which end of the similarity ranks first.</summary>
public enum SimilarityDirection
{
    /// <summary>The highest similarity first (cosine similarity, dot products). Python: <c>"max"</c>.</summary>
    Max,

    /// <summary>The lowest value first (distances). Python: <c>"min"</c>.</summary>
    Min,
}

/// <summary>A similarity of test activations [n, ...] and training activations [m, ...]: [n, m].</summary>
public delegate Tensor SimilarityMetric(Tensor test, Tensor train);

/// <summary>Captum's similarity metrics.</summary>
public static class SimilarityMetrics
{
    /// <summary>
    /// Cosine similarity of the flattened activations, [n, m]; where either vector of a pair is zero (its cosine is
    /// undefined) the similarity is <paramref name="replaceNan"/>, so that with -2 such pairs rank last under
    /// <see cref="SimilarityDirection.Max"/> and with 2 last under <see cref="SimilarityDirection.Min"/>.
    /// Python: <c>cosine_similarity(test, train, replace_nan)</c>.
    /// </summary>
    /// <remarks>
    /// Captum puts <c>replace_nan</c> into every element of a zero vector before the product instead, so its
    /// similarity for such a pair is <c>replace_nan</c> times the sum of the other vector's normalised elements: any
    /// value, and for activations with negative elements possibly the highest of all. Here the pair gets
    /// <paramref name="replaceNan"/> itself.
    /// </remarks>
    public static SimilarityMetric Cosine(double replaceNan = 0) => (test, train) =>
    {
        var a = test.reshape(test.shape[0], -1);
        var b = train.reshape(train.shape[0], -1);
        var na = a.norm(1, keepdim: true);
        var nb = b.norm(1, keepdim: true);
        var zero = torch.zeros(1, a.dtype, a.device);
        var cosine = torch.mm(torch.where(na != 0, a / na, zero), torch.where(nb != 0, b / nb, zero).t());
        return torch.where((na == 0) | (nb == 0).t(), torch.tensor(replaceNan, cosine.dtype, cosine.device), cosine);
    };

    /// <summary>Whether each example's flattened activation vector is zero, [n] bool.</summary>
    internal static Tensor IsZero(Tensor activations) => activations.reshape(activations.shape[0], -1).norm(1) == 0;

    /// <summary>Euclidean distance of the flattened activations (rank with <see cref="SimilarityDirection.Min"/>). Python: <c>euclidean_distance</c>.</summary>
    public static SimilarityMetric Euclidean { get; } = (test, train) =>
        torch.cdist(test.reshape(1, test.shape[0], -1), train.reshape(1, train.shape[0], -1)).squeeze(0);
}

/// <summary>The settings of <see cref="SimilarityInfluence"/>, with Captum's defaults.</summary>
/// <remarks>Python: the keyword arguments of <c>SimilarityInfluence.__init__</c>.</remarks>
public sealed record SimilarityInfluenceOptions
{
    /// <summary>
    /// The similarity; null for cosine similarity with zero vectors scored -2 (<see cref="SimilarityDirection.Max"/>)
    /// or 2 (<see cref="SimilarityDirection.Min"/>), as Captum. Python: <c>similarity_metric</c>.
    /// </summary>
    public SimilarityMetric? Metric { get; init; }

    /// <summary>Most similar as highest (default) or lowest value. Python: <c>similarity_direction</c>.</summary>
    public SimilarityDirection Direction { get; init; } = SimilarityDirection.Max;
}

/// <summary>The most similar training examples per layer; the caller disposes it.</summary>
/// <remarks>Python: the dict <c>SimilarityInfluence.influence</c> returns.</remarks>
public sealed class SimilarityInfluenceResult : IDisposable
{
    private readonly IReadOnlyDictionary<string, MostInfluentialResult> results;
    private readonly IReadOnlyDictionary<string, Tensor> zeroActivations;

    internal SimilarityInfluenceResult(IReadOnlyList<string> layers, IReadOnlyDictionary<string, MostInfluentialResult> results, IReadOnlyDictionary<string, Tensor> zeroActivations)
    {
        Layers = layers;
        this.results = results;
        this.zeroActivations = zeroActivations;
    }

    /// <summary>The layers, in the order given.</summary>
    public IReadOnlyList<string> Layers { get; }

    /// <summary>A layer's indices and similarities, [test examples, k].</summary>
    public MostInfluentialResult this[string layer] => results[layer];

    /// <summary>
    /// The (test example, training example) pairs where the default cosine similarity met a zero activation vector
    /// (and scored it as the worst), [pairs, 2], or null when none did. Python: the <c>zero_acts-LAYER</c> entry.
    /// </summary>
    public Tensor? ZeroActivations(string layer) => zeroActivations.GetValueOrDefault(layer);

    /// <summary>Disposes every tensor.</summary>
    public void Dispose()
    {
        foreach (var r in results.Values)
        {
            r.Dispose();
        }

        foreach (var z in zeroActivations.Values)
        {
            z.Dispose();
        }
    }
}
