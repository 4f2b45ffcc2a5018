using Captum.Forward;
using Captum.Runtime;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// Integrated Gradients (Sundararajan et al., 2017): the integral of the gradient of the explained
/// output along the straight path from a baseline to the input, multiplied by (input - baseline).
/// Attributions of all features sum to F(input) - F(baseline), up to the integration error that the
/// convergence delta reports.
/// </summary>
/// <remarks>
/// Python: <c>captum.attr.IntegratedGradients(forward_func, multiply_by_inputs=True)</c>.
/// Inputs must be floating point; for token ids use <see cref="LayerIntegratedGradients"/> on the
/// embedding layer, or an interpretable embedding layer. Every computation runs on the inputs' device.
/// Cost: <c>Steps</c> forward and backward passes over the batch, in chunks of <c>InternalBatchSize</c>.
/// </remarks>
public sealed class IntegratedGradients : IAttributionMethod<IntegratedGradientsOptions>
{
    private readonly ForwardFunction forward;

    /// <summary>Creates the method for <paramref name="forwardFunc"/>.</summary>
    /// <param name="forwardFunc">The model or function to explain.</param>
    /// <param name="multiplyByInputs">
    /// True (default) for Captum's local attributions, multiplied by (input - baseline); false for the
    /// global ones, the integrated gradients alone. Python: <c>multiply_by_inputs</c>.
    /// </param>
    public IntegratedGradients(ForwardFunction forwardFunc, bool multiplyByInputs = true)
    {
        ArgumentNullException.ThrowIfNull(forwardFunc);
        TorchRuntime.EnsureAvailable();
        forward = forwardFunc;
        MultipliesByInputs = multiplyByInputs;
    }

    /// <summary>Whether attributions are multiplied by (input - baseline). Python: <c>multiplies_by_inputs</c>.</summary>
    public bool MultipliesByInputs { get; }

    /// <summary>True: Integrated Gradients reports its completeness error. Python: <c>has_convergence_delta()</c>.</summary>
    public bool HasConvergenceDelta => true;

    /// <summary>
    /// Attributes the explained output to every element of every input.
    /// </summary>
    /// <param name="inputs">One tensor or several, batch first, floating point. They are not modified.</param>
    /// <param name="options">Baselines, target, steps and the rest; Captum's defaults when null.</param>
    /// <param name="cancellationToken">Checked between internal batches.</param>
    /// <returns>One attribution per input, of its shape (and the delta, [n], when asked); the caller disposes it.</returns>
    /// <exception cref="ArgumentException">An argument does not fit; the message names it and what was expected.</exception>
    public AttributionResult Attribute(Inputs inputs, IntegratedGradientsOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new IntegratedGradientsOptions();
        var tensors = inputs.Tensors;
        using var scope = torch.NewDisposeScope();
        var n = ArgumentPreparation.BatchSize(tensors);
        InputChecks.RequireFloatingPoint(tensors, "Integrated Gradients", InputUse.Interpolated);

        ArgumentPreparation.Steps(options.Steps, options.InternalBatchSize);
        options.Target.ValidateCount(n);
        var baselines = ArgumentPreparation.Baselines(tensors, options.Baselines);
        var additional = options.AdditionalForwardArgs ?? [];
        cancellationToken.ThrowIfCancellationRequested();
        MemoryBudgetOverrun? overrun = null;
        if (options.InternalBatchSize is null && MemoryProbe.Budget(options.MaxMemoryBytes, options.Steps, n, tensors[0].device, tensors) is { } budget)
        {
            var args1 = ArgumentPreparation.Expand(additional, 1);
            var probeInputs = tensors.Select((t, i) => (PathIntegral.Difference(t.detach(), baselines[i].detach()) * 0.5 + baselines[i].detach()).requires_grad_(true)).ToArray();
            (var rows, overrun) = MemoryProbe.InternalBatchSize(budget, n, options.Steps, tensors[0].device, tensors, () => Gradients.Compute(forward, probeInputs, args1, options.Target));
            options = options with { InternalBatchSize = rows };
        }

        Tensor[] totals;
        int[]? stepsUsed = null;
        Tensor? outputDifference = null;
        if (options.Adaptive is { } adaptive)
        {
            outputDifference = ConvergenceDelta.OutputDifference(forward, baselines, tensors, additional, options.Target);
            (IList<Tensor>, Tensor) SubsetGradient(Tensor[] scaled, int steps, long[] rows)
            {
                var selected = Gradients.SelectedOutput(
                    forward,
                    scaled,
                    ArgumentPreparation.Expand(ArgumentPreparation.SubsetRows(additional, rows, n), steps),
                    options.Target.Subset(rows).Repeat(steps));
                return (Gradients.Of(selected, scaled), ArgumentPreparation.SumRows(selected.detach()));
            }

            (totals, stepsUsed) = AdaptivePathIntegral.Integrate(
                tensors, baselines, outputDifference, SubsetGradient, adaptive, options.InternalBatchSize, options.Progress, cancellationToken);
        }
        else
        {
            // Expanded once per chunk size, outside the chunks' dispose scopes, and reused by every chunk.
            var expanded = PathIntegral.ChunkSizes(options.Steps, options.InternalBatchSize, n)
                .ToDictionary(k => k, k => ArgumentPreparation.Expand(additional, k));
            IList<Tensor> Gradient(Tensor[] scaled, int steps) =>
                Gradients.Compute(forward, scaled, expanded[steps], options.Target.Repeat(steps));
            totals = PathIntegral.Integrate(
                tensors, baselines, n, Gradient, options.Steps, options.Method, options.InternalBatchSize, options.Progress, cancellationToken);
        }

        var attributions = MultipliesByInputs
            ? totals.Select((t, i) => t * PathIntegral.Difference(tensors[i], baselines[i])).ToArray()
            : totals;

        Tensor? delta = null;
        if (options.ReturnConvergenceDelta)
        {
            cancellationToken.ThrowIfCancellationRequested();
            delta = outputDifference is null
                ? ConvergenceDelta.Compute(forward, attributions, baselines, tensors, additional, options.Target)
                : ConvergenceDelta.FromOutputDifference(attributions, outputDifference);
        }

        foreach (var a in attributions)
        {
            a.MoveToOuterDisposeScope();
        }

        return new AttributionResult(attributions, delta?.MoveToOuterDisposeScope()) { StepsPerExample = stepsUsed, InternalBatchSize = options.InternalBatchSize, MemoryBudgetOverrun = overrun };
    }
}

/// <summary>The arguments of <see cref="IntegratedGradients.Attribute"/>, with Captum's defaults.</summary>
/// <remarks>
/// Python: the keyword arguments of <c>IntegratedGradients.attribute</c>. <c>Baselines</c>, <c>Target</c> and
/// <c>AdditionalForwardArgs</c> come from <see cref="BaselineAttributionOptions"/>; tensors of the additional
/// arguments with a batch dimension are repeated along it for every integration step.
/// </remarks>
public sealed record IntegratedGradientsOptions : BaselineAttributionOptions
{
    /// <summary>
    /// The most integration points any path method takes (<see cref="Steps"/>, and the steps of every method built on
    /// a path integral): a million. Each point is a forward and backward pass of the model, so more would run for days,
    /// and the rule's own tables (two arrays of doubles per point) would no longer fit an array at int.MaxValue.
    /// Captum has no limit.
    /// </summary>
    public const int MaxSteps = 1_000_000;

    /// <summary>The number of integration points, 1 to <see cref="MaxSteps"/>; 50 by default. Python: <c>n_steps</c>.</summary>
    public int Steps { get; init; } = 50;

    /// <summary>The integration rule; Gauss-Legendre by default. Python: <c>method</c>.</summary>
    public IntegrationMethod Method { get; init; } = IntegrationMethod.GaussLegendre;

    /// <summary>
    /// At most this many expanded examples (steps times batch) per forward and backward pass; null runs
    /// every step in one pass. At least one step is always taken per pass. It does not change the result.
    /// Python: <c>internal_batch_size</c>.
    /// </summary>
    public int? InternalBatchSize { get; init; }

    /// <summary>
    /// A memory budget in bytes for one forward and backward pass (beyond Captum), used when
    /// <see cref="InternalBatchSize"/> is null: one probing step measures the memory a step needs and the largest
    /// internal batch that fits is used; the result's <c>InternalBatchSize</c> says which. On a GPU, or where the
    /// process's memory cannot be read, an explicit budget takes one step per pass.
    /// </summary>
    /// <remarks>
    /// Null (the default) means <see cref="MemoryBudget.DefaultBytes"/> (a quarter of the memory available to the
    /// process) on CPU tensors where the memory can be measured, and no budget elsewhere; the probe then runs only
    /// when the steps times the batch times the per-example input bytes, times 1024, exceed that budget, so small
    /// calls cost nothing extra and every step still runs in one pass when it fits. <see cref="MemoryBudget.Unlimited"/>
    /// runs every step in one pass whatever it costs, as Captum does.
    /// <para>
    /// A budget given here that one step of the batch exceeds is refused with an <see cref="ArgumentException"/> naming
    /// MaxMemoryBytes: from the inputs' own bytes before any pass, or after the probe (measured twice), before the steps.
    /// One step over the default budget runs one step per pass anyway, and the result's
    /// <see cref="AttributionResult.MemoryBudgetOverrun"/> says so.
    /// </para>
    /// </remarks>
    public long? MaxMemoryBytes { get; init; }

    /// <summary>Also compute the convergence delta per example. Python: <c>return_convergence_delta</c>.</summary>
    public bool ReturnConvergenceDelta { get; init; }

    /// <summary>
    /// Refine each example until its convergence delta is within tolerance instead of using <see cref="Steps"/>
    /// and <see cref="Method"/> (which are then ignored); null (default) for Captum's fixed rule. Beyond Captum.
    /// </summary>
    public AdaptiveIntegration? Adaptive { get; init; }
}
