using Captum.Forward;
using Captum.Layers;
using Captum.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Captum.Influence;

/// <summary>
/// TracInCP restricted to the weight of the final fully-connected layer, computed without per-example parameter
/// gradients: the weight gradient of an example is the outer product of its loss's gradient at the output and the
/// layer's input, so two examples' dot product is (output gradients · output gradients) × (inputs · inputs).
/// </summary>
/// <remarks>
/// Python: <c>captum.influence.TracInCPFast(model, final_fc_layer, train_dataset, checkpoints,
/// checkpoints_load_func, loss_fn, batch_size, test_loss_fn)</c>. As in Captum, the layer's output must be the
/// model's output and its bias is left out. One forward and one backward pass per batch; the rest as <see cref="TracInCP"/>.
/// </remarks>
public sealed class TracInCPFast
{
    private readonly nn.Module model;
    private readonly ForwardFunction forward;
    private readonly nn.Module finalLayer;
    private readonly IEnumerable<InfluenceBatch> trainingData;
    private readonly InfluenceLoss loss;
    private readonly InfluenceLoss testLoss;
    private readonly CheckpointSweep sweep;

    /// <summary>Creates the method.</summary>
    /// <param name="model">As <see cref="TracInCP"/>.</param>
    /// <param name="finalFcLayer">The final fully-connected layer (a module or its dotted path). Python: <c>final_fc_layer</c>.</param>
    /// <param name="trainingData">As <see cref="TracInCP"/>.</param>
    /// <param name="checkpoints">As <see cref="TracInCP"/>.</param>
    /// <param name="options">The losses; per-example cross entropy when null.</param>
    /// <exception cref="ArgumentException">No checkpoint, or a layer that is not in the model; the message names the argument.</exception>
    public TracInCPFast(nn.Module model, LayerReference finalFcLayer, IEnumerable<InfluenceBatch> trainingData, IReadOnlyList<TrainingCheckpoint> checkpoints, TracInCPFastOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(trainingData);
        ArgumentNullException.ThrowIfNull(checkpoints);
        TorchRuntime.EnsureAvailable();
        options ??= new TracInCPFastOptions();
        if (checkpoints.Count == 0 || checkpoints.Any(c => c is null))
        {
            throw new ArgumentException("checkpoints: give at least one checkpoint (and no null).", nameof(checkpoints));
        }

        this.model = model;
        forward = ForwardFunction.FromModule(model);
        finalLayer = finalFcLayer.Resolve(model, nameof(finalFcLayer));
        this.trainingData = trainingData;
        loss = options.Loss ?? InfluenceLosses.CrossEntropy;
        testLoss = options.TestLoss ?? loss;
        sweep = new CheckpointSweep(model, checkpoints, []);
    }

    /// <summary>The influence of every training example on every test example (final layer's weight only).</summary>
    /// <returns>[test examples, training examples]; the caller disposes it.</returns>
    /// <inheritdoc cref="TracInCP.Influence" path="/param"/>
    public Tensor Influence(InfluenceBatch test, IProgress<AttributionProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(test);
        test.Validate(nameof(test));
        return sweep.Sum(trainingData, progress, cancellationToken, (rate, batches) =>
        {
            var (testGradients, testInputs) = FinalLayerGradients.Compute(forward, finalLayer, test, testLoss);
            return torch.cat(batches(batch =>
            {
                var (gradients, inputs) = FinalLayerGradients.Compute(forward, finalLayer, batch, loss);
                return torch.mm(testGradients, gradients.t()) * torch.mm(testInputs, inputs.t());
            }), 1) * rate;
        });
    }

    /// <summary>As <see cref="TracInCP.MostInfluential"/>, over the final layer's weight.</summary>
    public MostInfluentialResult MostInfluential(InfluenceBatch test, int k, bool proponents = true, IProgress<AttributionProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        if (k < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(k), k, "k must be at least 1.");
        }

        using var scores = Influence(test, progress, cancellationToken);
        return MostInfluentialResult.From(scores, k, proponents);
    }

    /// <summary>As <see cref="TracInCP.SelfInfluence"/>: Σ learning rate × |output gradient|² × |layer input|².</summary>
    public Tensor SelfInfluence(IEnumerable<InfluenceBatch>? examples = null, IProgress<AttributionProgress>? progress = null, CancellationToken cancellationToken = default) =>
        sweep.Sum(examples ?? trainingData, progress, cancellationToken, (rate, batches) =>
            torch.cat(batches(batch =>
            {
                var (gradients, inputs) = FinalLayerGradients.Compute(forward, finalLayer, batch, loss);
                return gradients.pow(2).sum(1) * inputs.pow(2).sum(1);
            })) * rate);
}

/// <summary>The settings of <see cref="TracInCPFast"/>.</summary>
/// <remarks>Python: the keyword arguments of <c>TracInCPFast.__init__</c>.</remarks>
public sealed record TracInCPFastOptions
{
    /// <inheritdoc cref="TracInCPOptions.Loss"/>
    public InfluenceLoss? Loss { get; init; }

    /// <inheritdoc cref="TracInCPOptions.TestLoss"/>
    public InfluenceLoss? TestLoss { get; init; }
}
