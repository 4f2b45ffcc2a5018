using Captum.Forward;
using Captum.Layers;
using Captum.Runtime;
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
/// loss_fn, batch_size, test_loss_fn)</c>, with <see cref="Influence"/>, <see cref="MostInfluential"/> and
/// <see cref="SelfInfluence"/> for its <c>influence(k=None)</c>, <c>influence(k, proponents)</c> and
/// <c>self_influence</c>.</para>
/// <para>Cost: every checkpoint is loaded once per call; per checkpoint, the test batch and every training batch go
/// through one forward pass and one backward pass per example. Time grows linearly with the training set and with the
/// number of checkpoints; memory holds one training batch's gradients ([batch, P] for P parameters), the test batch's,
/// and the scores ([test examples, training examples]). The training data is streamed, never held.</para>
/// <para>The model's weights and its parameters' <c>requires_grad</c> are restored when a call returns (Captum
/// leaves the last checkpoint loaded). Calls on one instance must not overlap: they load checkpoints into the one model.</para>
/// </remarks>
public sealed class TracInCP
{
    private readonly nn.Module model;
    private readonly ForwardFunction forward;
    private readonly IEnumerable<InfluenceBatch> trainingData;
    private readonly IReadOnlyList<TrainingCheckpoint> checkpoints;
    private readonly IReadOnlyList<Parameter> parameters;
    private readonly InfluenceLoss loss;
    private readonly InfluenceLoss testLoss;
    private readonly CheckpointSweep sweep;

    /// <summary>Creates the method.</summary>
    /// <param name="model">The trained model's architecture; its weights are replaced by each checkpoint's while a call runs.</param>
    /// <param name="trainingData">The training examples in batches, in a fixed order (enumerated once per checkpoint per call); training example j is the j-th example it yields.</param>
    /// <param name="checkpoints">The checkpoints, at least one.</param>
    /// <param name="options">Layers and losses; all parameters and per-example cross entropy when null.</param>
    /// <exception cref="ArgumentException">No checkpoint, or a layer that is not in the model; the message names the argument.</exception>
    public TracInCP(nn.Module model, IEnumerable<InfluenceBatch> trainingData, IReadOnlyList<TrainingCheckpoint> checkpoints, TracInCPOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(trainingData);
        ArgumentNullException.ThrowIfNull(checkpoints);
        TorchRuntime.EnsureAvailable();
        options ??= new TracInCPOptions();
        if (checkpoints.Count == 0 || checkpoints.Any(c => c is null))
        {
            throw new ArgumentException("checkpoints: give at least one checkpoint (and no null).", nameof(checkpoints));
        }

        this.model = model;
        forward = ForwardFunction.FromModule(model);
        this.trainingData = trainingData;
        this.checkpoints = checkpoints;
        parameters = InfluenceParameters.Of(model, options.Layers);
        loss = options.Loss ?? InfluenceLosses.CrossEntropy;
        testLoss = options.TestLoss ?? loss;
        sweep = new CheckpointSweep(model, checkpoints, parameters);
    }

    /// <summary>The differentiated parameters, in the order their gradients are concatenated.</summary>
    public IReadOnlyList<Parameter> Parameters => parameters;

    /// <summary>The influence of every training example on every test example.</summary>
    /// <param name="test">The test examples.</param>
    /// <param name="progress">Reports (batches done, total) over all checkpoints.</param>
    /// <param name="cancellationToken">Checked between examples.</param>
    /// <returns>[test examples, training examples]; the caller disposes it.</returns>
    /// <exception cref="ArgumentException">The test batch or a training batch does not fit, or the loss is not per example.</exception>
    public Tensor Influence(InfluenceBatch test, IProgress<AttributionProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(test);
        test.Validate(nameof(test));
        return sweep.Sum(trainingData, progress, cancellationToken, (rate, batches) =>
        {
            var testGradients = PerExampleGradients.Compute(forward, parameters, test, testLoss, cancellationToken);
            return torch.cat(batches(batch => torch.mm(testGradients, PerExampleGradients.Compute(forward, parameters, batch, loss, cancellationToken).t())), 1) * rate;
        });
    }

    /// <summary>
    /// The k training examples of highest (proponents) or lowest (opponents) influence on each test example, highest
    /// first (lowest first for opponents), as Captum's <c>influence(inputs, k, proponents)</c>.
    /// </summary>
    /// <param name="test">The test examples.</param>
    /// <param name="k">How many, at most the number of training examples.</param>
    /// <param name="proponents">True for the most positive influences, false for the most negative.</param>
    /// <param name="progress">As <see cref="Influence"/>.</param>
    /// <param name="cancellationToken">As <see cref="Influence"/>.</param>
    /// <returns>Indices and scores, [test examples, k] each; the caller disposes them.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> is below 1 or above the training set's size.</exception>
    public MostInfluentialResult MostInfluential(InfluenceBatch test, int k, bool proponents = true, IProgress<AttributionProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        if (k < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(k), k, "k must be at least 1.");
        }

        using var scores = Influence(test, progress, cancellationToken);
        return MostInfluentialResult.From(scores, k, proponents);
    }

    /// <summary>
    /// Each example's influence on itself, Σ learning rate × |gradient|²: high for examples the model found hard or
    /// that are mislabelled. Of the training examples unless <paramref name="examples"/> are given.
    /// </summary>
    /// <returns>[examples]; the caller disposes it.</returns>
    public Tensor SelfInfluence(IEnumerable<InfluenceBatch>? examples = null, IProgress<AttributionProgress>? progress = null, CancellationToken cancellationToken = default) =>
        sweep.Sum(examples ?? trainingData, progress, cancellationToken, (rate, batches) =>
            torch.cat(batches(batch => PerExampleGradients.Compute(forward, parameters, batch, loss, cancellationToken).pow(2).sum(1))) * rate);

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

    /// <summary>The per-example loss of training examples; cross entropy when null. Python: <c>loss_fn</c>.</summary>
    public InfluenceLoss? Loss { get; init; }

    /// <summary>The per-example loss of test examples; <see cref="Loss"/> when null. Python: <c>test_loss_fn</c>.</summary>
    public InfluenceLoss? TestLoss { get; init; }
}
