using Captum.Layers;
using TorchSharp;
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
/// model's output, returned as it is (no activation or further layer after it), and its bias is left out; where Captum
/// assumes it, every call checks it at its first forward pass and throws an <see cref="ArgumentException"/> naming
/// <c>finalFcLayer</c> otherwise. One forward and one backward pass per batch; the rest as <see cref="TracInCP"/>.
/// </remarks>
public sealed class TracInCPFast : TracInCPBase
{
    private readonly nn.Module finalLayer;

    /// <summary>Creates the method.</summary>
    /// <param name="model">As <see cref="TracInCP"/>.</param>
    /// <param name="finalFcLayer">The final fully-connected layer (a module or its dotted path). Python: <c>final_fc_layer</c>.</param>
    /// <param name="trainingData">As <see cref="TracInCP"/>.</param>
    /// <param name="checkpoints">As <see cref="TracInCP"/>.</param>
    /// <param name="options">The losses; per-example cross entropy when null.</param>
    /// <exception cref="ArgumentException">No checkpoint, or a layer that is not in the model; the message names the argument. (A layer whose output is not the model's output is refused by the calls, at their first forward pass.)</exception>
    public TracInCPFast(nn.Module model, LayerReference finalFcLayer, IEnumerable<InfluenceBatch> trainingData, IReadOnlyList<TrainingCheckpoint> checkpoints, TracInCPFastOptions? options = null)
        : base(model, trainingData, checkpoints, _ => [], options?.Loss, options?.TestLoss)
    {
        finalLayer = finalFcLayer.Resolve(model, nameof(finalFcLayer));
    }

    private protected override Tensor InfluenceTerm(InfluenceBatch test, BatchMap trainingBatches, CancellationToken cancellationToken)
    {
        var (testGradients, testInputs) = FinalLayerGradients.Compute(Forward, finalLayer, test, TestLoss);
        return torch.cat(trainingBatches(batch =>
        {
            var (gradients, inputs) = FinalLayerGradients.Compute(Forward, finalLayer, batch, Loss);
            return torch.mm(testGradients, gradients.t()) * torch.mm(testInputs, inputs.t());
        }), 1);
    }

    private protected override Tensor SelfInfluenceOf(InfluenceBatch batch, CancellationToken cancellationToken)
    {
        var (gradients, inputs) = FinalLayerGradients.Compute(Forward, finalLayer, batch, Loss);
        return gradients.pow(2).sum(1) * inputs.pow(2).sum(1);
    }
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
