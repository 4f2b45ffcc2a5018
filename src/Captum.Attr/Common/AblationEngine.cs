using Captum.Forward;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// The features an ablation replaces with the baseline, one at a time: FeatureAblation's mask groups, or
/// Occlusion's window positions. Feature indices run from 0 to <see cref="Count"/> - 1.
/// </summary>
internal abstract class AblationFeatures
{
    /// <summary>The number of features.</summary>
    public abstract int Count { get; }

    /// <summary>True when some mask gives one row per example, which needs one output value per example.</summary>
    public abstract bool PerExample { get; }

    /// <summary>True when feature <paramref name="feature"/> replaces elements of input <paramref name="input"/>.</summary>
    public abstract bool Touches(int feature, int input);

    /// <summary>
    /// The elements of input <paramref name="input"/> that feature <paramref name="feature"/> replaces: a bool
    /// tensor with the input's number of dimensions, first dimension 1 or n, broadcastable to the input.
    /// </summary>
    public abstract Tensor Mask(int feature, int input);

    /// <summary>
    /// True when the features build their perturbed inputs themselves (<see cref="Perturb"/>), as FeaturePermutation's
    /// do, instead of replacing their elements with the baselines.
    /// </summary>
    public virtual bool PerturbsItself => false;

    /// <summary>
    /// For features that <see cref="PerturbsItself"/>: input <paramref name="input"/>'s batch <paramref name="values"/>
    /// ([n, ...]) with feature <paramref name="feature"/> perturbed, of the same shape; <paramref name="mask"/> is
    /// <see cref="Mask"/>'s value expanded to [1 or n, ...]. Called feature by feature in order, and for each feature
    /// input by input.
    /// </summary>
    public virtual Tensor Perturb(int feature, int input, Tensor values, Tensor mask) =>
        throw new NotSupportedException("These features are replaced with the baselines.");
}

/// <summary>
/// Captum's ablation loop, shared by FeatureAblation, Occlusion and FeaturePermutation: evaluate the inputs once, then for each
/// feature (several per forward pass) replace its elements with the baseline and credit the drop of the output
/// to every element replaced. With weights (Occlusion) every element's total is divided by the number of
/// ablations that covered it.
/// </summary>
internal static class AblationEngine
{
    /// <summary>Runs the ablations; call it with gradients off. Results live in the current dispose scope.</summary>
    public static Tensor[] Run(
        ForwardFunction forward,
        IReadOnlyList<Tensor> inputs,
        IReadOnlyList<Tensor> baselines,
        IReadOnlyList<object?> additional,
        Target target,
        AblationFeatures features,
        int perEval,
        bool useWeights,
        IProgress<AttributionProgress>? progress,
        CancellationToken cancellationToken)
    {
        var n = inputs[0].shape[0];
        var featureCount = features.Count;
        var perPass = Math.Max(1, Math.Min(perEval, featureCount));
        var totalEvaluations = 1 + ((featureCount + perPass - 1) / perPass);

        cancellationToken.ThrowIfCancellationRequested();
        var initial = PerturbationEvaluation.Evaluate(forward, inputs, additional, target);
        var outputs = initial.numel();

        // One output per example, or a fixed number for the whole batch (Captum's aggregate mode).
        var aggregate = outputs != n;
        if (aggregate)
        {
            if (perEval != 1)
            {
                throw new ArgumentException(
                    $"PerturbationsPerEval (perturbations_per_eval) is {perEval}, but the forward function returns {outputs} value(s) for the whole batch of {n} example(s) rather than one per example, so perturbations cannot share a forward pass: use 1.",
                    "PerturbationsPerEval");
            }

            if (features.PerExample)
            {
                throw new ArgumentException(
                    $"FeatureMask (feature_mask) gives one mask per example, but the forward function returns {outputs} value(s) for the whole batch of {n}: attributions are then batch-wise, so every mask's first dimension must be 1.",
                    "FeatureMask");
            }
        }

        var dtype = PerturbationEvaluation.AttributionType(initial);
        var initialRow = initial.to_type(dtype).reshape(1, outputs);
        var totals = new Tensor[inputs.Count];
        var weights = new Tensor?[inputs.Count];
        for (var i = 0; i < inputs.Count; i++)
        {
            var shape = (long[])inputs[i].shape.Clone();
            shape[0] = outputs;
            totals[i] = torch.zeros(shape, dtype, inputs[i].device);
            weights[i] = useWeights ? torch.zeros(shape, dtype, inputs[i].device) : null;
        }

        var expanded = PerturbationEvaluation.Expanded(additional, target, PerturbationEvaluation.ChunkSizes(featureCount, perPass));
        var done = 1;
        progress?.Report(new AttributionProgress(done, totalEvaluations));
        for (var start = 0; start < featureCount; start += perPass)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var count = Math.Min(perPass, featureCount - start);
            using (torch.NewDisposeScope())
            {
                var masks = new Tensor?[inputs.Count];
                for (var i = 0; i < inputs.Count; i++)
                {
                    masks[i] = StackedMasks(features, start, count, i, inputs[i]);
                }

                var perturbed = features.PerturbsItself
                    ? SelfPerturbed(features, start, count, inputs, masks)
                    : inputs.Select((t, i) => masks[i] is { } m
                        ? PerturbationEvaluation.FlattenFirst(torch.where(m, baselines[i].unsqueeze(0), t.unsqueeze(0)))
                        : ArgumentPreparation.RepeatBatch(t, count)).ToArray();

                var (args, chunkTarget) = expanded[count];
                var modified = PerturbationEvaluation.Evaluate(forward, perturbed, args, chunkTarget);
                var expected = aggregate ? outputs : count * outputs;
                if (modified.numel() != expected)
                {
                    throw new ArgumentException(
                        $"The forward function returned {modified.numel()} value(s) for {count} perturbation(s) of the batch of {n}, but {expected} were expected: with PerturbationsPerEval (perturbations_per_eval) above 1 its output must grow with the batch (one value per example).",
                        "PerturbationsPerEval");
                }

                var difference = initialRow - modified.to_type(dtype).reshape(count, outputs);
                for (var i = 0; i < inputs.Count; i++)
                {
                    if (masks[i] is not { } m)
                    {
                        continue;
                    }

                    var weight = m.to_type(dtype);
                    var diff = difference.reshape(PerturbationEvaluation.RowShape(count, outputs, inputs[i].dim() - 1));
                    totals[i].add_((diff * weight).sum(dim: 0));
                    weights[i]?.add_(weight.sum(dim: 0));
                }
            }

            done++;
            progress?.Report(new AttributionProgress(done, totalEvaluations));
        }

        return useWeights ? totals.Select((t, i) => t / weights[i]!).ToArray() : totals;
    }

    /// <summary>
    /// The perturbed batches of features [start, start + count) built by the features themselves, per input
    /// [count * n, ...]: feature by feature, each input the feature touches is perturbed and the others kept.
    /// </summary>
    private static Tensor[] SelfPerturbed(AblationFeatures features, int start, int count, IReadOnlyList<Tensor> inputs, Tensor?[] masks)
    {
        var parts = inputs.Select(_ => new Tensor[count]).ToArray();
        for (var j = 0; j < count; j++)
        {
            for (var i = 0; i < inputs.Count; i++)
            {
                if (masks[i] is { } m)
                {
                    parts[i][j] = features.Touches(start + j, i) ? features.Perturb(start + j, i, inputs[i], m[j]) : inputs[i];
                }
            }
        }

        return inputs.Select((t, i) => masks[i] is null ? ArgumentPreparation.RepeatBatch(t, count) : torch.cat(parts[i], 0)).ToArray();
    }

    /// <summary>
    /// The masks of features [start, start + count) in input <paramref name="input"/>, stacked to
    /// [count, 1 or n, ...]; null when none of them touches the input.
    /// </summary>
    private static Tensor? StackedMasks(AblationFeatures features, int start, int count, int input, Tensor tensor)
    {
        var touched = false;
        for (var j = start; j < start + count && !touched; j++)
        {
            touched = features.Touches(j, input);
        }

        if (!touched)
        {
            return null;
        }

        var masks = new Tensor?[count];
        long rows = 1;
        for (var j = 0; j < count; j++)
        {
            if (features.Touches(start + j, input))
            {
                masks[j] = features.Mask(start + j, input);
                rows = Math.Max(rows, masks[j]!.shape[0]);
            }
        }

        var shape = (long[])tensor.shape.Clone();
        shape[0] = rows;
        var result = new Tensor[count];
        for (var j = 0; j < count; j++)
        {
            result[j] = masks[j] is { } m ? m.expand(shape) : torch.zeros(shape, ScalarType.Bool, tensor.device);
        }

        return torch.stack(result);
    }
}
