using Captum.Forward;
using Captum.Runtime;
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
    /// <summary>
    /// What <see cref="Run"/> computed: the attributions (in the current dispose scope), the perturbations per pass it
    /// ended with, and the overrun of a default memory budget that even one perturbation exceeded.
    /// </summary>
    public sealed record Outcome(Tensor[] Attributions, int PerturbationsPerEval, MemoryBudgetOverrun? Overrun);

    /// <summary>Runs the ablations; call it with gradients off. Results live in the current dispose scope.</summary>
    /// <exception cref="ArgumentException">
    /// An argument does not fit; or <paramref name="maxMemoryBytes"/> was given, chooses the perturbations per pass,
    /// and even one perturbation needs more (named <c>MaxMemoryBytes</c>, before any perturbation is evaluated).
    /// </exception>
    public static Outcome Run(
        ForwardFunction forward,
        IReadOnlyList<Tensor> inputs,
        IReadOnlyList<Tensor> baselines,
        IReadOnlyList<object?> additional,
        Target target,
        AblationFeatures features,
        int? perEval,
        long? maxMemoryBytes,
        bool useWeights,
        IProgress<AttributionProgress>? progress,
        CancellationToken cancellationToken)
    {
        var n = inputs[0].shape[0];
        var featureCount = features.Count;

        cancellationToken.ThrowIfCancellationRequested();
        var budget = perEval is null ? BudgetOf(maxMemoryBytes) : null;
        var inputBytes = inputs.Sum(t => t.numel() * t.ElementSize);
        if (budget is { } checkedFirst)
        {
            // A perturbation holds at least its perturbed inputs and the inputs they are made from.
            _ = MemoryProbe.Overrun(checkedFirst, 2 * inputBytes, "one perturbation");
        }

        Tensor initial = null!;
        long? growth = null;
        if (budget is { } measured && !MemoryProbe.EvidentlyFits(PerturbationOptions.AutomaticPerturbationRows, inputs, n, measured.Bytes))
        {
            growth = MemoryProbe.PeakGrowth(inputs[0].device, () => initial = PerturbationEvaluation.Evaluate(forward, inputs, additional, target));
        }
        else
        {
            initial = PerturbationEvaluation.Evaluate(forward, inputs, additional, target);
        }

        var outputs = initial.numel();

        // One output per example, or a fixed number for the whole batch (Captum's aggregate mode).
        var aggregate = outputs != n;
        MemoryBudgetOverrun? overrun = null;
        var automatic = 1;
        if (budget is { } chosen)
        {
            // One perturbation's memory: what the unperturbed pass took (at least the inputs), plus the inputs it is made from.
            var perPerturbation = Math.Max(growth ?? inputBytes, inputBytes) + inputBytes;
            overrun = MemoryProbe.Overrun(chosen, perPerturbation, "one perturbation");
            automatic = aggregate ? 1 : (int)Math.Clamp(chosen.Bytes / Math.Max(perPerturbation, 1), 1, Math.Max(1, PerturbationOptions.AutomaticPerturbationRows / Math.Max(n, 1)));
        }
        else if (perEval is null && !aggregate)
        {
            automatic = (int)Math.Max(1, PerturbationOptions.AutomaticPerturbationRows / Math.Max(n, 1));
        }

        var perPass = Math.Max(1, Math.Min(perEval ?? automatic, featureCount));
        var checkRows = perEval is null && perPass > 1;
        var totalEvaluations = 1 + ((featureCount + perPass - 1) / perPass) + (checkRows ? 1 : 0);
        if (aggregate)
        {
            if (perEval is { } given && given != 1)
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

        var sizes = PerturbationEvaluation.ChunkSizes(featureCount, perPass).ToList();
        if (checkRows)
        {
            sizes.Add(Math.Min(perPass, featureCount) + 1);
            sizes.Add(1);
        }

        var expanded = PerturbationEvaluation.Expanded(additional, target, sizes);
        var done = 1;
        progress?.Report(new AttributionProgress(done, totalEvaluations));
        for (var start = 0; start < featureCount; start += perPass)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var count = Math.Min(perPass, featureCount - start);
            var rowsIndependent = true;
            var checking = checkRows;
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

                var evaluated = count;
                if (checking)
                {
                    // The unperturbed inputs ride along in the first shared pass, to see whether the model computes
                    // each row on its own.
                    perturbed = perturbed.Select((t, i) => torch.cat([t, inputs[i]], 0)).ToArray();
                    evaluated = count + 1;
                }

                var (args, chunkTarget) = expanded[evaluated];
                var modified = PerturbationEvaluation.Evaluate(forward, perturbed, args, chunkTarget);
                var expected = aggregate ? outputs : evaluated * outputs;
                if (checking)
                {
                    checkRows = false;
                    rowsIndependent = modified.numel() == expected;
                    if (rowsIndependent)
                    {
                        // Two rows are compared with their values in passes of their own: the unperturbed inputs (with
                        // the pass that came first) and the first perturbation (evaluated alone here).
                        var flat = modified.to_type(dtype).reshape(-1);
                        var (aloneArgs, aloneTarget) = expanded[1];
                        var firstAlone = PerturbationEvaluation.Evaluate(forward, perturbed.Select(t => t.narrow(0, 0, n)).ToArray(), aloneArgs, aloneTarget);
                        rowsIndependent = firstAlone.numel() == outputs
                            && Rounding.Close(flat.narrow(0, count * outputs, outputs), initial.to_type(dtype).reshape(-1))
                            && Rounding.Close(flat.narrow(0, 0, outputs), firstAlone.to_type(dtype).reshape(-1));
                        modified = modified.reshape(-1).narrow(0, 0, count * outputs);
                    }
                }
                else if (modified.numel() != expected)
                {
                    throw new ArgumentException(
                        $"The forward function returned {modified.numel()} value(s) for {count} perturbation(s) of the batch of {n}, but {expected} were expected: with PerturbationsPerEval (perturbations_per_eval) above 1 its output must grow with the batch (one value per example).",
                        "PerturbationsPerEval");
                }

                if (rowsIndependent)
                {
                    Accumulate(initialRow - modified.to_type(dtype).reshape(count, outputs), masks, totals, weights, count, outputs, dtype);
                }
            }

            if (!rowsIndependent)
            {
                // The model's output for a row depends on the rest of its batch (or the batch does not give one value
                // per row): one perturbation per pass from here on, as Captum's default, with this chunk evaluated again.
                perPass = 1;
                done += 2;
                totalEvaluations = done + featureCount - start;
                progress?.Report(new AttributionProgress(done, totalEvaluations));
                start -= perPass;
                continue;
            }

            done += checking ? 2 : 1;
            progress?.Report(new AttributionProgress(done, totalEvaluations));
        }

        return new Outcome(useWeights ? totals.Select((t, i) => t / weights[i]!).ToArray() : totals, perPass, overrun);
    }

    /// <summary>The budget that chooses the perturbations per pass: the one given, or the default; null when unlimited.</summary>
    private static MemoryProbe.Choice? BudgetOf(long? maxMemoryBytes) => maxMemoryBytes switch
    {
        MemoryBudget.Unlimited => null,
        { } given => new MemoryProbe.Choice(given, Given: true),
        null => new MemoryProbe.Choice(MemoryBudget.DefaultBytes, Given: false),
    };

    /// <summary>Credits each perturbation's drop of the output to the elements its masks replaced.</summary>
    private static void Accumulate(Tensor difference, Tensor?[] masks, Tensor[] totals, Tensor?[] weights, int count, long outputs, ScalarType dtype)
    {
        for (var i = 0; i < totals.Length; i++)
        {
            if (masks[i] is not { } m)
            {
                continue;
            }

            var weight = m.to_type(dtype);
            var diff = difference.reshape(PerturbationEvaluation.RowShape(count, outputs, totals[i].dim() - 1));
            totals[i].add_((diff * weight).sum(dim: 0));
            weights[i]?.add_(weight.sum(dim: 0));
        }
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
