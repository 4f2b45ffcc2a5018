using Captum.Forward;
using Captum.Layers;
using Captum.Runtime;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// Layer Conductance (Dhamdhere et al., 2018): the flow of the explained output through each neuron of a layer as
/// the input moves from the baseline to the input. Along the path the layer's change between consecutive points is
/// weighted by the output's gradient with respect to the layer, and summed, so a neuron's conductance is its share
/// of F(input) - F(baseline): the attributions of all neurons add up to that difference, up to the error the
/// convergence delta reports.
/// </summary>
/// <remarks>
/// Python: <c>captum.attr.LayerConductance(forward_func, layer)</c>. The path is evaluated at <c>Steps + 1</c>
/// points placed by the integration rule (Captum's finite differences). Inputs must be floating point. The layer
/// must be called exactly once per forward pass, through <c>call</c>, and its tensors must be batch first.
/// Cost: <c>Steps + 1</c> forward and backward passes over the batch (plus one shared point per extra internal
/// batch), and two forward passes for the delta.
/// </remarks>
public sealed class LayerConductance : ILayerAttributionMethod<LayerConductanceOptions>
{
    private readonly ForwardFunction forward;
    private readonly LayerEvaluation evaluation;

    /// <summary>Creates the method.</summary>
    /// <param name="forwardFunc">The model or function to explain.</param>
    /// <param name="layer">The layer (instance or dotted path).</param>
    public LayerConductance(ForwardFunction forwardFunc, LayerReference layer)
    {
        ArgumentNullException.ThrowIfNull(forwardFunc);
        TorchRuntime.EnsureAvailable();
        forward = forwardFunc;
        evaluation = LayerEvaluation.Create(forwardFunc, [layer], false);
    }

    /// <summary>The resolved layer.</summary>
    public nn.Module Layer => evaluation.Layers[0];

    IReadOnlyList<nn.Module> ILayerAttributionMethod<LayerConductanceOptions>.Layers => [Layer];

    /// <summary>Whether attributions account for the layer's change (always true for conductance). Python: <c>multiplies_by_inputs</c>.</summary>
    public bool MultipliesByInputs => true;

    /// <summary>Whether the method can return a convergence delta (<c>ReturnConvergenceDelta</c>). Python: <c>has_convergence_delta()</c>.</summary>
    public bool HasConvergenceDelta => true;

    /// <summary>Attributes the explained output to every neuron of the layer's output (or input).</summary>
    /// <param name="inputs">The model's inputs, batch first, floating point. Not modified.</param>
    /// <param name="options">Baselines, target, steps and the rest; Captum's defaults when null.</param>
    /// <param name="cancellationToken">Checked between internal batches.</param>
    /// <returns>One tensor per layer tensor, of its shape (and the delta, [n], when asked); the caller disposes it.</returns>
    /// <exception cref="ArgumentException">An argument does not fit, or the layer is not called exactly once.</exception>
    public LayerAttributionResult Attribute(Inputs inputs, LayerConductanceOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new LayerConductanceOptions();
        var tensors = inputs.Tensors;
        using var scope = torch.NewDisposeScope();
        var n = ArgumentPreparation.BatchSize(tensors);
        InputChecks.RequireFloatingPoint(tensors, nameof(LayerConductance), InputUse.Interpolated);
        ArgumentPreparation.Steps(options.Steps, options.InternalBatchSize);
        options.Target.ValidateCount(n);
        var baselines = ArgumentPreparation.Baselines(tensors, options.Baselines);
        var additional = options.AdditionalForwardArgs ?? [];
        var onInput = options.AttributeToLayerInput;

        // Captum evaluates n_steps + 1 points; an internal batch holds at least two, and the next one starts at
        // the last point of the previous one, so that every consecutive difference is taken exactly once.
        var points = options.Steps + 1;
        var (_, alphas) = Approximation.Parameters(options.Method, points);
        var differences = tensors.Select((t, i) => PathIntegral.Difference(t, baselines[i])).ToArray();
        MemoryBudgetOverrun? overrun = null;
        if (options.InternalBatchSize is null && MemoryProbe.Budget(options.MaxMemoryBytes, points, n, tensors[0].device, tensors) is { } budget)
        {
            var probeArgs = ArgumentPreparation.Concat(PathIntegral.Points(baselines, differences, [0.5]), ArgumentPreparation.Expand(additional, 1));
            (var rows, overrun) = MemoryProbe.InternalBatchSize(budget, n, points, tensors[0].device, tensors, () => LayerGradients.Compute(evaluation, probeArgs, onInput, options.Target), fewestSteps: 2);
            options = options with { InternalBatchSize = rows };
        }

        var perChunk = options.InternalBatchSize is { } ibs ? (int)Math.Min(points, Math.Max(2, ibs / n)) : points;
        var expanded = new Dictionary<int, object?[]>();

        Tensor[]? totals = null;
        for (var start = 0; ;)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var end = Math.Min(start + perChunk, points);
            var count = end - start;
            if (!expanded.TryGetValue(count, out var extra))
            {
                // Expanded once per chunk size, outside the chunks' dispose scopes, and reused by every chunk.
                extra = ArgumentPreparation.Expand(additional, count);
                expanded[count] = extra;
            }

            using (var chunk = torch.NewDisposeScope())
            {
                var scaled = PathIntegral.Points(baselines, differences, alphas.AsSpan(start, count));
                var (grads, values, _) = LayerGradients.Compute(
                    evaluation, ArgumentPreparation.Concat(scaled, extra), onInput, options.Target.Repeat(count));
                totals ??= new Tensor[values[0].Length];
                for (var j = 0; j < totals.Length; j++)
                {
                    var contribution = StepSum(grads[0][j], values[0][j].detach(), count, n, j);
                    if (totals[j] is null)
                    {
                        totals[j] = contribution.MoveToOuterDisposeScope();
                    }
                    else
                    {
                        totals[j].add_(contribution);
                    }
                }
            }

            options.Progress?.Report(new AttributionProgress(end, points));
            if (end >= points)
            {
                break;
            }

            start = end - 1;
        }

        Tensor? delta = null;
        if (options.ReturnConvergenceDelta)
        {
            cancellationToken.ThrowIfCancellationRequested();
            delta = ConvergenceDelta.Compute(forward, totals!, baselines, tensors, additional, options.Target).MoveToOuterDisposeScope();
        }

        return new LayerAttributionResult(LayerAttribution.MoveOut([totals!]), delta) { InternalBatchSize = options.InternalBatchSize, MemoryBudgetOverrun = overrun };
    }

    /// <summary>
    /// Sum over k of gradient(point k) * (value(point k + 1) - value(point k)) for the <paramref name="count"/>
    /// consecutive points of a chunk (step-major [count * n, ...]).
    /// </summary>
    private Tensor StepSum(Tensor gradient, Tensor value, int count, long n, int index)
    {
        if (value.dim() == 0 || value.shape[0] != count * n)
        {
            throw new ArgumentException(
                $"layer {evaluation.Layers[0].GetType().Name}: tensor {index} has shape {Shapes.Format(value.shape)}, but {count} points of {n} examples need it batch first with {count * n} rows.",
                "layer");
        }

        var shape = new long[value.dim() + 1];
        shape[0] = count;
        shape[1] = n;
        Array.Copy(value.shape, 1, shape, 2, value.dim() - 1);
        var v = value.reshape(shape);
        var g = gradient.reshape(shape);
        var head = TensorIndex.Slice(0, count - 1);
        var change = v[TensorIndex.Slice(1, count)] - v[head];
        return (g[head] * change).sum(dim: 0);
    }
}

/// <summary>The arguments of <see cref="LayerConductance.Attribute"/>, with Captum's defaults.</summary>
/// <remarks>Python: the keyword arguments of <c>LayerConductance.attribute</c>. <c>Progress</c> counts the path points done, out of <c>Steps + 1</c>.</remarks>
public sealed record LayerConductanceOptions : BaselineAttributionOptions, ILayerAttributionOptions
{
    /// <summary>
    /// The number of steps; the path is evaluated at <c>Steps + 1</c> points of the rule, and the layer's change
    /// between consecutive points is weighted by the gradient at the first of them. 50 by default. Python: <c>n_steps</c>.
    /// </summary>
    public int Steps { get; init; } = 50;

    /// <summary>
    /// The rule that places the <c>Steps + 1</c> points; Gauss-Legendre by default. Only the rules whose points
    /// include both ends (<see cref="IntegrationMethod.RiemannTrapezoid"/>) make the attributions sum exactly to
    /// F(input) - F(baseline) as the steps grow. Python: <c>method</c>.
    /// </summary>
    public IntegrationMethod Method { get; init; } = IntegrationMethod.GaussLegendre;

    /// <summary>
    /// At most this many expanded examples (points times batch) per forward and backward pass; null runs every
    /// point in one pass. Each pass takes at least two points, and consecutive passes share their boundary point,
    /// so the result does not depend on it. Python: <c>internal_batch_size</c>.
    /// </summary>
    public int? InternalBatchSize { get; init; }

    /// <summary>
    /// When <see cref="InternalBatchSize"/> is null, the memory one pass may use: a probe runs one point's forward and
    /// backward pass and as many points per pass as fit are taken (at least two); the result's <c>InternalBatchSize</c>
    /// says how many rows. Null (the default) means <see cref="MemoryBudget.DefaultBytes"/> on CPU tensors where the
    /// memory can be measured, and the probe runs only when the pass is not evidently small, as for
    /// <see cref="IntegratedGradientsOptions.MaxMemoryBytes"/>; <see cref="MemoryBudget.Unlimited"/> runs every point in
    /// one pass, as Captum does. Beyond Captum.
    /// </summary>
    public long? MaxMemoryBytes { get; init; }

    /// <summary>Also compute the convergence delta per example. Python: <c>return_convergence_delta</c>.</summary>
    public bool ReturnConvergenceDelta { get; init; }

    /// <summary>Attribute to the layer's input instead of its output. Python: <c>attribute_to_layer_input</c>.</summary>
    public bool AttributeToLayerInput { get; init; }
}
