using Captum.Forward;
using Captum.Layers;
using Captum.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Influence;

/// <summary>
/// TracInCPFast for interactive use: every training example's final-layer gradient is computed once, when the method
/// is built, as a vector whose dot products are the influence scores (optionally shortened by random projections),
/// so each later question costs one pass over the test examples and one matrix product.
/// </summary>
/// <remarks>
/// <para>Python: <c>captum.influence.TracInCPFastRandProj(model, final_fc_layer, train_dataset, checkpoints,
/// checkpoints_load_func, loss_fn, batch_size, test_loss_fn, vectorize, nearest_neighbors, projection_dim, seed)</c>.</para>
/// <para>An example's vector is, per checkpoint, √(learning rate) × (output gradient ⊗ final-layer input), flattened
/// ([outputs × inputs] per checkpoint). With <see cref="TracInCPFastRandProjOptions.ProjectionDim"/> d, when that is
/// larger than d, the output gradient and the input are first multiplied by Gaussian matrices of √d columns each
/// (entries of standard deviation 1 / √columns), which keeps dot products in expectation: the scores approach
/// TracInCPFast's as d grows. The training vectors take [training examples, vector length] floats.</para>
/// <para>Captum finds proponents with an approximate nearest-neighbour index; here the top k comes from the exact
/// scores. As Captum, the training vectors use the test loss.</para>
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

    /// <summary>Creates the method and computes the training vectors (one pass over the training data per checkpoint).</summary>
    /// <param name="model">As <see cref="TracInCPFast"/>.</param>
    /// <param name="finalFcLayer">As <see cref="TracInCPFast"/>.</param>
    /// <param name="trainingData">As <see cref="TracInCPFast"/>; enumerated only here.</param>
    /// <param name="checkpoints">As <see cref="TracInCPFast"/>.</param>
    /// <param name="options">Losses, projection and seed; exact vectors with per-example cross entropy when null.</param>
    /// <param name="progress">Reports training batches done over all checkpoints.</param>
    /// <param name="cancellationToken">Checked between batches.</param>
    /// <exception cref="ArgumentException">An argument does not fit; the message names it.</exception>
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
        // The first batch is used while the enumeration is at it: a streaming source may free a batch once it moves on.
        using (var batches = trainingData.GetEnumerator())
        {
            projections = batches.MoveNext() && batches.Current is { } first
                ? Projections(first, options)
                : throw new ArgumentException("trainingData: no batch.", nameof(trainingData));
        }

        trainingVectors = Vectors(trainingData, progress, cancellationToken);
        trainingVectors.DetachFromDisposeScope();
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

    /// <summary>As <see cref="TracInCPBase.MostInfluential"/>, from the vectors' dot products.</summary>
    public MostInfluentialResult MostInfluential(InfluenceBatch test, int k, bool proponents = true, CancellationToken cancellationToken = default)
    {
        if (k < 1 || k > trainingVectors.shape[0])
        {
            throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be from 1 to the number of training examples ({trainingVectors.shape[0]}).");
        }

        using var scores = Influence(test, cancellationToken);
        return MostInfluentialResult.From(scores, k, proponents);
    }

    /// <summary>The training examples' self influence (their vectors' squared lengths), [training examples]; the caller disposes it.</summary>
    /// <remarks>
    /// Beyond Captum, whose <c>TracInCPFastRandProj.self_influence</c> raises <c>NotImplementedError</c> (it points to
    /// <see cref="TracInCPFast"/>). With <see cref="TracInCPFastRandProjOptions.ProjectionDim"/> set, this is the
    /// squared length of the projected vector: an approximation of <see cref="TracInCPBase.SelfInfluence"/> of <see cref="TracInCPFast"/>, exact
    /// without projection. Use TracInCPFast for exact self influence; it stores nothing per training example.
    /// </remarks>
    public Tensor SelfInfluence() => trainingVectors.pow(2).sum(1);

    /// <summary>Frees the training vectors and projections.</summary>
    public void Dispose()
    {
        trainingVectors.Dispose();
        projections?.Gradient.Dispose();
        projections?.Input.Dispose();
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
}
