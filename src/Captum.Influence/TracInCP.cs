using Captum.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Captum.Influence;

/// <summary>
/// TracInCP (Pruthi et al., 2020): the influence of a training example on a test example is the sum over training
/// checkpoints of the learning rate times the dot product of the two examples' loss gradients with respect to the
/// model's parameters (all of them, or those of chosen layers).
/// </summary>
/// <remarks>
/// <para>Python: <c>captum.influence.TracInCP(model, train_dataset, checkpoints, checkpoints_load_func, layers,
/// loss_fn, batch_size, test_loss_fn)</c>; see <see cref="TracInCPBase"/> for the calls, their cost and the model's state.</para>
/// <para>Per checkpoint, each batch takes one forward and one backward pass when every differentiated parameter is the
/// weight or bias of an <c>nn.Linear</c> called once per forward pass (through <c>call</c>, which runs hooks) and used
/// nowhere else, as a tied weight is (Captum's <c>sample_wise_grads_per_batch</c> trick, chosen automatically and
/// checked against the batch's gradient), and otherwise one forward pass and one backward pass per example (Captum's default
/// <c>sample_wise_grads_per_batch=False</c> path); both give the same numbers. The gradients take [batch, P] for P
/// differentiated parameters.</para>
/// </remarks>
public sealed class TracInCP : TracInCPBase
{
    /// <summary>Creates the method.</summary>
    /// <param name="model">The trained model's architecture; its weights are replaced by each checkpoint's while a call runs.</param>
    /// <param name="trainingData">The training examples in batches, in a fixed order (enumerated once per checkpoint per call); training example j is the j-th example it yields.</param>
    /// <param name="checkpoints">The checkpoints, at least one.</param>
    /// <param name="options">Layers and losses; all parameters and per-example cross entropy when null.</param>
    /// <exception cref="ArgumentException">No checkpoint, or a layer that is not in the model; the message names the argument.</exception>
    public TracInCP(nn.Module model, IEnumerable<InfluenceBatch> trainingData, IReadOnlyList<TrainingCheckpoint> checkpoints, TracInCPOptions? options = null)
        : base(model, trainingData, checkpoints, m => InfluenceParameters.Of(m, options?.Layers), options?.Loss, options?.TestLoss)
    {
    }

    /// <summary>The differentiated parameters, in the order their gradients are concatenated.</summary>
    public IReadOnlyList<Parameter> Parameters => DifferentiatedParameters;

    private protected override Tensor InfluenceTerm(InfluenceBatch test, BatchMap trainingBatches, CancellationToken cancellationToken)
    {
        var testGradients = PerExampleGradients.Compute(Forward, DifferentiatedParameters, test, TestLoss, cancellationToken);
        return torch.cat(trainingBatches(batch => torch.mm(testGradients, PerExampleGradients.Compute(Forward, DifferentiatedParameters, batch, Loss, cancellationToken).t())), 1);
    }

    private protected override Tensor SelfInfluenceOf(InfluenceBatch batch, CancellationToken cancellationToken) =>
        PerExampleGradients.Compute(Forward, DifferentiatedParameters, batch, Loss, cancellationToken).pow(2).sum(1);
}

/// <summary>The settings of <see cref="TracInCP"/>, with Captum's defaults.</summary>
/// <remarks>Python: the keyword arguments of <c>TracInCP.__init__</c>.</remarks>
public sealed record TracInCPOptions
{
    /// <summary>
    /// The layers whose parameters are differentiated (modules or dotted paths); every parameter of the model when
    /// null. Python: <c>layers</c>.
    /// </summary>
    public IReadOnlyList<LayerReference>? Layers { get; init; }

    /// <summary>The per-example loss of training examples; <see cref="InfluenceLosses.CrossEntropy"/> when null. Python: <c>loss_fn</c>.</summary>
    /// <remarks>
    /// Captum's <c>TracInCP</c> given no loss differentiates each example's summed output instead (its
    /// <c>TracInCPFast</c> and influence functions require a loss): pass <see cref="InfluenceLosses.Output"/> for that.
    /// Cross entropy is the default here so that every influence method has the same one, the loss a classifier was
    /// trained with.
    /// </remarks>
    public InfluenceLoss? Loss { get; init; }

    /// <summary>The per-example loss of test examples; <see cref="Loss"/> when null. Python: <c>test_loss_fn</c>.</summary>
    public InfluenceLoss? TestLoss { get; init; }
}
