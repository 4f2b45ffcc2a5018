using Captum.Forward;
using Captum.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Captum.Influence;

/// <summary>
/// What the TracIn methods share: the training data, the checkpoints and the losses, and the three questions asked
/// of them (influence scores, the most influential examples, self influence), each a sum over checkpoints of the
/// learning rate times a term the method computes.
/// </summary>
/// <remarks>
/// <para>Python: <c>captum.influence._core.tracincp.TracInCPBase</c>.</para>
/// <para>Cost: every checkpoint is loaded once per call and the data streamed through it batch by batch; time grows
/// linearly with the training set and with the number of checkpoints. Memory holds one training batch's
/// intermediates, the test batch's, and the scores ([test examples, training examples]); the training data is never
/// held.</para>
/// <para>The model's weights and its parameters' <c>requires_grad</c> are restored when a call returns or throws
/// (Captum leaves the last checkpoint loaded). Calls on one instance, or on instances sharing a model, must not
/// overlap: they load checkpoints into the one model.</para>
/// </remarks>
public abstract class TracInCPBase
{
    private readonly IEnumerable<InfluenceBatch> trainingData;
    private readonly CheckpointSweep sweep;

    private protected TracInCPBase(
        nn.Module model,
        IEnumerable<InfluenceBatch> trainingData,
        IReadOnlyList<TrainingCheckpoint> checkpoints,
        Func<nn.Module, IReadOnlyList<Parameter>> differentiated,
        InfluenceLoss? loss,
        InfluenceLoss? testLoss)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(trainingData);
        ArgumentNullException.ThrowIfNull(checkpoints);
        TorchRuntime.EnsureAvailable();
        TrainingCheckpoint.RequireSome(checkpoints);

        Model = model;
        Forward = ForwardFunction.FromModule(model);
        this.trainingData = trainingData;
        Loss = loss ?? InfluenceLosses.CrossEntropy;
        TestLoss = testLoss ?? Loss;
        DifferentiatedParameters = differentiated(model);
        sweep = new CheckpointSweep(model, checkpoints, DifferentiatedParameters);
    }

    /// <summary>The parameters the method differentiates (their <c>requires_grad</c> is set for a call and restored after).</summary>
    private protected IReadOnlyList<Parameter> DifferentiatedParameters { get; }

    /// <summary>The model the checkpoints are loaded into.</summary>
    private protected nn.Module Model { get; }

    /// <summary>The model as a forward function.</summary>
    private protected ForwardFunction Forward { get; }

    /// <summary>The training examples' loss.</summary>
    private protected InfluenceLoss Loss { get; }

    /// <summary>The test examples' loss.</summary>
    private protected InfluenceLoss TestLoss { get; }

    /// <summary>The influence of every training example on every test example.</summary>
    /// <param name="test">The test examples.</param>
    /// <param name="progress">Reports (batches done, total) over all checkpoints; the total is known when the training data is a collection.</param>
    /// <param name="cancellationToken">Checked between examples.</param>
    /// <returns>[test examples, training examples]; the caller disposes it.</returns>
    /// <exception cref="ArgumentException">The test batch or a training batch does not fit, or the loss is not per example; the message names it.</exception>
    /// <remarks>Python: <c>influence(inputs)</c> (k None).</remarks>
    public Tensor Influence(InfluenceBatch test, IProgress<AttributionProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(test);
        test.Validate(nameof(test));
        return sweep.Sum(trainingData, progress, cancellationToken, (rate, batches) => InfluenceTerm(test, batches, cancellationToken) * rate);
    }

    /// <summary>
    /// The k training examples of highest (proponents) or lowest (opponents) influence on each test example, highest
    /// first (lowest first for opponents).
    /// </summary>
    /// <param name="test">The test examples.</param>
    /// <param name="k">How many, from 1 to the number of training examples.</param>
    /// <param name="proponents">True for the most positive influences, false for the most negative.</param>
    /// <param name="progress">As <see cref="Influence"/>.</param>
    /// <param name="cancellationToken">As <see cref="Influence"/>.</param>
    /// <returns>Indices and scores, [test examples, k] each; the caller disposes them.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> is below 1 or above the training set's size (checked first when the training data is a collection).</exception>
    /// <remarks>Python: <c>influence(inputs, k, proponents)</c>.</remarks>
    public MostInfluentialResult MostInfluential(InfluenceBatch test, int k, bool proponents = true, IProgress<AttributionProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        MostInfluentialResult.RequireK(k, trainingData);
        using var scores = Influence(test, progress, cancellationToken);
        return MostInfluentialResult.From(scores, k, proponents);
    }

    /// <summary>
    /// Each example's influence on itself: high for examples the model found hard or that are mislabelled. Of the
    /// training examples unless <paramref name="examples"/> are given.
    /// </summary>
    /// <returns>[examples]; the caller disposes it.</returns>
    /// <remarks>Python: <c>self_influence(inputs)</c>.</remarks>
    public Tensor SelfInfluence(IEnumerable<InfluenceBatch>? examples = null, IProgress<AttributionProgress>? progress = null, CancellationToken cancellationToken = default) =>
        sweep.Sum(examples ?? trainingData, progress, cancellationToken, (rate, batches) =>
            torch.cat(batches(batch => SelfInfluenceOf(batch, cancellationToken))) * rate);

    /// <summary>One checkpoint's influence of the training batches on <paramref name="test"/>, before the learning rate: [test, training].</summary>
    private protected abstract Tensor InfluenceTerm(InfluenceBatch test, BatchMap trainingBatches, CancellationToken cancellationToken);

    /// <summary>One checkpoint's self influence of a batch's examples, before the learning rate: [batch].</summary>
    private protected abstract Tensor SelfInfluenceOf(InfluenceBatch batch, CancellationToken cancellationToken);
}
