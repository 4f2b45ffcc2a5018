using Captum.Forward;
using Captum.Layers;
using Captum.Runtime;
using System.Runtime.CompilerServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Influence;

/// <summary>
/// TracInCPFast for interactive use: every training example's final-layer gradient is computed once, when the method
/// is built, as a vector whose dot products are the influence scores (optionally shortened by random projections),
/// so each later question costs one pass over the test examples and one matrix product, or, for the top k, a
/// nearest-neighbour search (<see cref="TracInCPFastRandProjOptions.NearestNeighbors"/>).
/// </summary>
/// <remarks>
/// <para>Python: <c>captum.influence.TracInCPFastRandProj(model, final_fc_layer, train_dataset, checkpoints,
/// checkpoints_load_func, loss_fn, batch_size, test_loss_fn, vectorize, nearest_neighbors, projection_dim, seed)</c>.</para>
/// <para>An example's vector is, per checkpoint, √(learning rate) × (output gradient ⊗ final-layer input), flattened
/// ([outputs × inputs] per checkpoint). With <see cref="TracInCPFastRandProjOptions.ProjectionDim"/> d, when that is
/// larger than d, the output gradient and the input are first multiplied by Gaussian matrices of √d columns each
/// (entries of standard deviation 1 / √columns), which keeps dot products in expectation: the scores approach
/// TracInCPFast's as d grows. The training vectors take [training examples, vector length] floats.</para>
/// <para>Top k: as Captum, <see cref="MostInfluential"/> asks an <see cref="INearestNeighbors"/> index, set up at
/// construction with the training vectors, for the training vectors with the largest dot products with each test
/// vector (proponents) or with its negation (opponents). Captum's default index is approximate (Annoy); here it is
/// <see cref="ExactNearestNeighbors"/>, and <see cref="USearchNearestNeighbors"/> is the approximate one. As Captum,
/// the training vectors use the test loss.</para>
/// <para>Threads: the index is built in the constructor, so no call sets anything up later; calls must not overlap,
/// as each loads checkpoints into the model.</para>
/// </remarks>
public sealed class TracInCPFastRandProj : IDisposable
{
    private readonly nn.Module model;
    private readonly ForwardFunction forward;
    private readonly nn.Module finalLayer;
    private readonly IReadOnlyList<TrainingCheckpoint> checkpoints;
    private readonly InfluenceLoss testLoss;
    private readonly (Tensor Gradient, Tensor Input)? projections;
    private readonly Tensor trainingVectors;
    private readonly INearestNeighbors nearestNeighbors;

    // The indices taken over by a method, so that one cannot serve two (the second Setup would replace the first's vectors).
    private static readonly ConditionalWeakTable<INearestNeighbors, object> TakenIndices = new();

    /// <summary>Creates the method and computes the training vectors (one pass over the training data per checkpoint).</summary>
    /// <param name="model">As <see cref="TracInCPFast"/>.</param>
    /// <param name="finalFcLayer">As <see cref="TracInCPFast"/>.</param>
    /// <param name="trainingData">As <see cref="TracInCPFast"/>; enumerated only here.</param>
    /// <param name="checkpoints">As <see cref="TracInCPFast"/>.</param>
    /// <param name="options">
    /// Losses, projection, seed and nearest-neighbour index; exact vectors with per-example cross entropy and an
    /// <see cref="ExactNearestNeighbors"/> when null. A given <see cref="TracInCPFastRandProjOptions.NearestNeighbors"/>
    /// is set up here with the training vectors and belongs to the method from then on (it disposes it); if this
    /// constructor throws, it stays the caller's.
    /// </param>
    /// <param name="progress">Reports training batches done over all checkpoints.</param>
    /// <param name="cancellationToken">Checked between batches.</param>
    /// <exception cref="ArgumentException">
    /// An argument does not fit, or the options' NearestNeighbors already serves another method; the message names it.
    /// </exception>
    public TracInCPFastRandProj(
        nn.Module model,
        LayerReference finalFcLayer,
        IEnumerable<InfluenceBatch> trainingData,
        IReadOnlyList<TrainingCheckpoint> checkpoints,
        TracInCPFastRandProjOptions? options = null,
        IProgress<AttributionProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(trainingData);
        ArgumentNullException.ThrowIfNull(checkpoints);
        TorchRuntime.EnsureAvailable();
        options ??= new TracInCPFastRandProjOptions();
        TrainingCheckpoint.RequireSome(checkpoints);

        if (options.ProjectionDim is < 1)
        {
            throw new ArgumentOutOfRangeException("ProjectionDim", options.ProjectionDim, "ProjectionDim must be at least 1, or null for no projection.");
        }

        this.model = model;
        forward = ForwardFunction.FromModule(model);
        finalLayer = finalFcLayer.Resolve(model, nameof(finalFcLayer));
        this.checkpoints = checkpoints;
        testLoss = options.TestLoss ?? options.Loss ?? InfluenceLosses.CrossEntropy;
        if (options.NearestNeighbors is { } given && !TakenIndices.TryAdd(given, this))
        {
            throw new ArgumentException(
                "NearestNeighbors: this instance already serves another TracInCPFastRandProj (an index holds one method's training vectors); give each method its own.",
                "NearestNeighbors");
        }

        try
        {
            // The first batch is used while the enumeration is at it: a streaming source may free a batch once it moves on.
            using (var batches = trainingData.GetEnumerator())
            {
                projections = batches.MoveNext() && batches.Current is { } first
                    ? Projections(first, options)
                    : throw new ArgumentException("trainingData: no batch.", nameof(trainingData));
            }

            trainingVectors = Vectors(trainingData, progress, cancellationToken);
            trainingVectors.DetachFromDisposeScope();
            nearestNeighbors = options.NearestNeighbors ?? new ExactNearestNeighbors();
            nearestNeighbors.Setup(trainingVectors);
        }
        catch
        {
            // A given index stays the caller's; the default one holds nothing when its Setup failed.
            trainingVectors?.Dispose();
            projections?.Gradient.Dispose();
            projections?.Input.Dispose();
            if (options.NearestNeighbors is { } released)
            {
                TakenIndices.Remove(released);
            }

            throw;
        }
    }

    /// <summary>Every training example's vector, [training examples, length]; owned by the method.</summary>
    public Tensor TrainingVectors => trainingVectors;

    /// <summary>The vectors of <paramref name="examples"/>, [examples, length]; the caller disposes it. Python: <c>compute_intermediate_quantities</c>.</summary>
    public Tensor ComputeIntermediateQuantities(IEnumerable<InfluenceBatch> examples, IProgress<AttributionProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(examples);
        return Vectors(examples, progress, cancellationToken);
    }

    /// <summary>The influence of every training example on every test example: [test, training]; the caller disposes it.</summary>
    public Tensor Influence(InfluenceBatch test, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(test);
        test.Validate(nameof(test));
        using var scope = torch.NewDisposeScope();
        return torch.mm(Vectors([test], null, cancellationToken), trainingVectors.t()).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// As <see cref="TracInCPBase.MostInfluential"/>: the k training examples with the highest (proponents) or lowest
    /// (opponents) influence on each test example, found by <see cref="TracInCPFastRandProjOptions.NearestNeighbors"/>.
    /// </summary>
    /// <remarks>
    /// <para>Python: <c>_get_k_most_influential</c>. The index is queried with the test vectors for proponents and with
    /// their negation for opponents (the largest dot products with −v are the smallest with v), as Captum does.</para>
    /// <para>The scores are real influence scores whatever the index: each returned training example's exact dot
    /// product with the test vector, and every row is sorted by them (highest first for proponents, lowest first for
    /// opponents). With the default <see cref="ExactNearestNeighbors"/> they are the index's own scores (the same
    /// matrix product as <see cref="Influence"/>), so the result equals the top k of <see cref="Influence"/>; with an
    /// approximate index only the choice of the k examples is approximate. Captum returns the index's distances
    /// instead (Annoy's dot products).</para>
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> is below 1 or above the number of training examples.</exception>
    /// <exception cref="InvalidOperationException">The index returned indices of another shape or outside the training examples.</exception>
    public MostInfluentialResult MostInfluential(InfluenceBatch test, int k, bool proponents = true, CancellationToken cancellationToken = default)
    {
        if (k < 1 || k > trainingVectors.shape[0])
        {
            throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be from 1 to the number of training examples ({trainingVectors.shape[0]}).");
        }

        ArgumentNullException.ThrowIfNull(test);
        test.Validate(nameof(test));
        using var scope = torch.NewDisposeScope();
        var vectors = Vectors([test], null, cancellationToken);
        var (found, indexScores) = nearestNeighbors.GetNearestNeighbors(proponents ? vectors : -vectors, k);
        var indices = RequireNeighbors(found, vectors.shape[0], k).to(trainingVectors.device);
        if (nearestNeighbors is ExactNearestNeighbors)
        {
            return new MostInfluentialResult(indices.MoveToOuterDisposeScope(), (proponents ? indexScores : -indexScores).MoveToOuterDisposeScope());
        }

        // [test, k, length] x [test, length, 1]: each returned example's exact dot product with its test vector.
        var picked = trainingVectors.index_select(0, indices.flatten()).view(indices.shape[0], k, -1);
        var scores = torch.bmm(picked, vectors.unsqueeze(2)).squeeze(2);
        var (sorted, order) = torch.sort(scores, dim: 1, descending: proponents);
        return new MostInfluentialResult(indices.gather(1, order).MoveToOuterDisposeScope(), sorted.MoveToOuterDisposeScope());
    }

    /// <summary>The training examples' self influence (their vectors' squared lengths), [training examples]; the caller disposes it.</summary>
    /// <remarks>
    /// Beyond Captum, whose <c>TracInCPFastRandProj.self_influence</c> raises <c>NotImplementedError</c> (it points to
    /// <see cref="TracInCPFast"/>). With <see cref="TracInCPFastRandProjOptions.ProjectionDim"/> set, this is the
    /// squared length of the projected vector: an approximation of <see cref="TracInCPBase.SelfInfluence"/> of <see cref="TracInCPFast"/>, exact
    /// without projection. Use TracInCPFast for exact self influence; it stores nothing per training example.
    /// </remarks>
    public Tensor SelfInfluence() => trainingVectors.pow(2).sum(1);

    /// <summary>Frees the training vectors, the projections and the nearest-neighbour index (the default one or the options' one).</summary>
    public void Dispose()
    {
        nearestNeighbors.Dispose();
        trainingVectors.Dispose();
        projections?.Gradient.Dispose();
        projections?.Input.Dispose();
    }

    // The index's indices, checked: [queries, k] integers within the training examples.
    private Tensor RequireNeighbors(Tensor indices, long queries, int k)
    {
        var name = nearestNeighbors.GetType().Name;
        if (!indices.shape.SequenceEqual([queries, k]) || !indices.is_integral())
        {
            throw new InvalidOperationException($"{name}.GetNearestNeighbors returned indices {indices.dtype} [{string.Join(", ", indices.shape)}]; expected integers [{queries}, {k}].");
        }

        var count = trainingVectors.shape[0];
        var longs = indices.to_type(ScalarType.Int64);
        if (longs.numel() > 0 && (longs.min().item<long>() < 0 || longs.max().item<long>() >= count))
        {
            throw new InvalidOperationException($"{name}.GetNearestNeighbors returned an index outside the {count} training examples.");
        }

        return longs;
    }

    private (Tensor Gradient, Tensor Input)? Projections(InfluenceBatch batch, TracInCPFastRandProjOptions options)
    {
        if (options.ProjectionDim is not { } d)
        {
            return null;
        }

        batch.Validate("trainingData");
        using var scope = torch.NewDisposeScope();
        long outputs, inputs;
        using (var snapshot = new ModelSnapshot(model, []))
        {
            checkpoints[0].Load(model);
            var (g, a) = FinalLayerGradients.Compute(forward, finalLayer, batch, testLoss);
            (outputs, inputs) = (g.shape[1], a.shape[1]);
        }

        if (outputs * inputs <= d)
        {
            return null;
        }

        var side = (long)Math.Sqrt(d);
        using var generator = options.Seed is { } seed ? new torch.Generator((ulong)seed) : null;
        Tensor Draw(long rows, long columns)
        {
            // Owned by the method, not by the caller's dispose scope.
            var drawn = torch.randn([rows, columns], generator: generator) / Math.Sqrt(columns);
            drawn.DetachFromDisposeScope();
            return drawn;
        }

        return (Draw(outputs, Math.Min(side, outputs)), Draw(inputs, Math.Min(side, inputs)));
    }

    private Tensor Vectors(IEnumerable<InfluenceBatch> data, IProgress<AttributionProgress>? progress, CancellationToken cancellationToken)
    {
        using var scope = torch.NewDisposeScope();
        using var snapshot = new ModelSnapshot(model, []);
        var perCheckpoint = new List<Tensor>();
        var done = 0;
        var total = (data as IReadOnlyCollection<InfluenceBatch>)?.Count * checkpoints.Count;
        foreach (var checkpoint in checkpoints)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var root = Math.Sqrt(checkpoint.Load(model));
            var rows = new List<Tensor>();
            var index = 0;
            foreach (var batch in data)
            {
                cancellationToken.ThrowIfCancellationRequested();
                (batch ?? throw new ArgumentException($"data: batch {index} is null.", nameof(data))).Validate($"batch {index} of the data");
                using var batchScope = torch.NewDisposeScope();
                var (g, a) = FinalLayerGradients.Compute(forward, finalLayer, batch, testLoss);
                if (projections is { } p)
                {
                    (g, a) = (torch.mm(g, p.Gradient), torch.mm(a, p.Input));
                }

                rows.Add((torch.bmm(g.unsqueeze(2), a.unsqueeze(1)).flatten(1) * root).MoveToOuterDisposeScope());
                index++;
                progress?.Report(new AttributionProgress(++done, Math.Max(total ?? done, done)));
            }

            perCheckpoint.Add(torch.cat(rows));
        }

        return torch.cat(perCheckpoint, 1).MoveToOuterDisposeScope();
    }
}

/// <summary>The settings of <see cref="TracInCPFastRandProj"/>, with Captum's defaults.</summary>
/// <remarks>Python: the keyword arguments of <c>TracInCPFastRandProj.__init__</c>.</remarks>
public sealed record TracInCPFastRandProjOptions
{
    /// <inheritdoc cref="TracInCPOptions.Loss"/>
    public InfluenceLoss? Loss { get; init; }

    /// <summary>The loss of every example's vector (training ones too, as Captum); <see cref="Loss"/> when null. Python: <c>test_loss_fn</c>.</summary>
    public InfluenceLoss? TestLoss { get; init; }

    /// <summary>
    /// The largest vector length per checkpoint before random projection is used; null (default) never projects.
    /// Python: <c>projection_dim</c>.
    /// </summary>
    public int? ProjectionDim { get; init; }

    /// <summary>Seeds a private generator for the projections; TorchSharp's global generator when null. Python: <c>seed</c>.</summary>
    public long? Seed { get; init; }

    /// <summary>
    /// The index that finds the top k of <see cref="TracInCPFastRandProj.MostInfluential"/>; a new
    /// <see cref="ExactNearestNeighbors"/> when null (default). Python: <c>nearest_neighbors</c>, whose default is
    /// <c>AnnoyNearestNeighbors(num_trees=10)</c>; <see cref="USearchNearestNeighbors"/> is the approximate one here.
    /// </summary>
    /// <remarks>
    /// Ownership: the method sets the instance up with its training vectors and disposes it in
    /// <see cref="TracInCPFastRandProj.Dispose"/>, unlike the model and the data, which stay the caller's: an index
    /// is part of the method's state (it holds the method's training vectors). So one instance serves one method: a
    /// second method given the same instance (through these options or a copy made with <c>with</c>) throws an
    /// <see cref="ArgumentException"/> naming NearestNeighbors. If the constructor throws, the instance stays the caller's.
    /// </remarks>
    public INearestNeighbors? NearestNeighbors { get; init; }
}
