using Captum.Forward;
using Captum.Layers;
using Captum.Runtime;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// Layer Integrated Gradients: Integrated Gradients over the outputs (or inputs) of one or several
/// layers. The model runs on the real inputs; the chosen layers' outputs are replaced by points on the
/// straight path from their values on the baselines to their values on the inputs, so a layer fed integer
/// token ids (an embedding) is attributed in embedding space while the baselines stay token ids.
/// </summary>
/// <remarks>
/// Python: <c>captum.attr.LayerIntegratedGradients(forward_func, layer, multiply_by_inputs=True)</c>,
/// where <c>layer</c> may be a list (all layers are interpolated together, in one forward pass).
/// Each layer must be called exactly once per forward pass, through <c>call</c> (TorchSharp's hooks do
/// not fire on <c>forward</c>). Layers may be given by instance or by dotted path from the model
/// (<c>"text.embedding"</c>, <c>"input_maps.v"</c>). The model is left exactly as it was: every hook is
/// removed, also when an exception is thrown. Cost: <c>Steps</c> forward and backward passes plus two
/// forward passes to read the layers on the inputs and baselines. Those stop as soon as every layer has
/// produced its values (the rest of the model is skipped), unless the delta or adaptive integration needs the
/// outputs there, which they then also give (Captum runs two more passes for the delta). The rest of the model
/// is skipped by an exception thrown from the last layer's hook and caught here, also when the forward function
/// wraps it in its own: code of the forward function after the layers does not run in those two passes (forward
/// hooks of enclosing modules included), so it must not rely on finishing for its state.
/// Beyond Captum: each internal batch of k steps first tries a pass on the n inputs as given (not k copies of them),
/// the part of the model before the layers without gradients, with the layers' values replaced by the k x n points, so
/// only the rest of the model runs on the steps. It applies when the rest of the model reads nothing of batch n from
/// before the layers (or n is 1 and it reads it row by row, where broadcasting equals copying), and is detected per
/// call: once, the pass on the n inputs and the expanded pass on two points of the path (halfway, and the inputs) run
/// without gradients and must give the same output (a sum or softmax over the batch of a tensor from before the
/// layers breaks no shape but changes it); when they differ, or the model throws on that pass or its output does not
/// have k x n rows, that batch and the later ones run on expanded inputs as in Captum, with the same result. The
/// forward function may therefore be called with inputs of n rows while the layers produce k x n, and is called twice
/// more per call (the check). See docs/performance.md.
/// </remarks>
public sealed class LayerIntegratedGradients : ILayerAttributionMethod<LayerIntegratedGradientsOptions>
{
    private readonly LayerReference[] layerReferences;
    private readonly LayerEvaluation evaluation;

    /// <summary>Creates the method for one layer.</summary>
    /// <param name="forwardFunc">The model or function to explain.</param>
    /// <param name="layer">The layer (instance or dotted path).</param>
    /// <param name="multiplyByInputs">Multiply by (layer value on input - on baseline); Python: <c>multiply_by_inputs</c>.</param>
    public LayerIntegratedGradients(ForwardFunction forwardFunc, LayerReference layer, bool multiplyByInputs = true)
        : this(forwardFunc, [layer], multiplyByInputs, false)
    {
    }

    /// <summary>Creates the method for several layers attributed together.</summary>
    /// <param name="forwardFunc">The model or function to explain.</param>
    /// <param name="layers">The layers (instances or dotted paths), at least one, all distinct.</param>
    /// <param name="multiplyByInputs">Multiply by (layer value on input - on baseline); Python: <c>multiply_by_inputs</c>.</param>
    public LayerIntegratedGradients(ForwardFunction forwardFunc, IReadOnlyList<LayerReference> layers, bool multiplyByInputs = true)
        : this(forwardFunc, layers?.ToArray() ?? throw new ArgumentNullException(nameof(layers)), multiplyByInputs, true)
    {
    }

    private LayerIntegratedGradients(ForwardFunction forwardFunc, LayerReference[] layers, bool multiplyByInputs, bool isList)
    {
        ArgumentNullException.ThrowIfNull(forwardFunc);
        TorchRuntime.EnsureAvailable();
        if (layers.Length == 0)
        {
            throw new ArgumentException("layers must name at least one layer.", nameof(layers));
        }

        layerReferences = layers;
        MultipliesByInputs = multiplyByInputs;
        evaluation = LayerEvaluation.Create(forwardFunc, layers, isList);
    }

    /// <summary>The resolved layers, in the order given.</summary>
    public IReadOnlyList<nn.Module> Layers => evaluation.Layers;

    /// <summary>Whether attributions are multiplied by the layer difference. Python: <c>multiplies_by_inputs</c>.</summary>
    public bool MultipliesByInputs { get; }

    /// <summary>Whether the method can return a convergence delta (<c>ReturnConvergenceDelta</c>). Python: <c>has_convergence_delta()</c>.</summary>
    public bool HasConvergenceDelta => true;

    /// <summary>
    /// Attributes the explained output to the layers' outputs (or inputs).
    /// </summary>
    /// <param name="inputs">The model's inputs, batch first; integer token ids are allowed. Not modified.</param>
    /// <param name="options">Baselines (in input space: token ids for token inputs), target, steps and the rest.</param>
    /// <param name="cancellationToken">Checked between internal batches.</param>
    /// <returns>Per layer, attribution tensors of the layer value's shapes; the caller disposes it.</returns>
    /// <exception cref="ArgumentException">An argument does not fit, or a layer is not called exactly once.</exception>
    public LayerAttributionResult Attribute(Inputs inputs, LayerIntegratedGradientsOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new LayerIntegratedGradientsOptions();
        var tensors = inputs.Tensors;
        using var scope = torch.NewDisposeScope();
        var n = ArgumentPreparation.BatchSize(tensors);
        ArgumentPreparation.Steps(options.Steps, options.InternalBatchSize);
        options.Target.ValidateCount(n);
        var baselines = ArgumentPreparation.Baselines(tensors, options.Baselines);
        var additional = options.AdditionalForwardArgs ?? [];
        var onInput = options.AttributeToLayerInput;
        cancellationToken.ThrowIfCancellationRequested();

        // The layer values at the inputs and baselines cost two forward passes. When the outputs there are needed
        // too (for the delta), the same passes give them; otherwise each pass stops once every layer has its values.
        Tensor[][] inputLayers, baselineLayers;
        Tensor? outputDifference = null;
        if (options.ReturnConvergenceDelta || options.Adaptive is not null)
        {
            (var inputOutput, inputLayers) = evaluation.CaptureWithOutput(ArgumentPreparation.Concat(tensors, additional), onInput);
            (var baselineOutput, baselineLayers) = evaluation.CaptureWithOutput(ArgumentPreparation.Concat(baselines, additional), onInput);
            outputDifference = ConvergenceDelta.OutputDifference(baselineOutput, inputOutput, options.Target);
        }
        else
        {
            inputLayers = evaluation.CaptureUntilComplete(ArgumentPreparation.Concat(tensors, additional), onInput);
            baselineLayers = evaluation.CaptureUntilComplete(ArgumentPreparation.Concat(baselines, additional), onInput);
        }

        var counts = inputLayers.Select(l => l.Length).ToArray();
        for (var l = 0; l < counts.Length; l++)
        {
            if (inputLayers[l].FirstOrDefault(t => t.dim() == 0 || t.shape[0] != n) is { } unbatched)
            {
                throw new ArgumentException(
                    $"layer {layerReferences[l]}: a tensor of its {(onInput ? "input" : "output")} has shape {Shapes.Format(unbatched.shape)}, whose first dimension is not the batch ({n}); layer methods need batch-first layer values (an LSTM's h and c are not).",
                    evaluation.ArgumentName);
            }

            foreach (var value in inputLayers[l])
            {
                InputChecks.RequireDifferentiable(value, layerReferences[l].ToString(), onInput, evaluation.ArgumentName, InputUse.Interpolated);
            }
        }

        for (var l = 0; l < counts.Length; l++)
        {
            if (baselineLayers[l].Length != counts[l])
            {
                throw new ArgumentException($"layer {layerReferences[l]} produced {counts[l]} tensors on the inputs but {baselineLayers[l].Length} on the baselines.", "baselines");
            }

            for (var j = 0; j < counts[l]; j++)
            {
                if (!inputLayers[l][j].shape.SequenceEqual(baselineLayers[l][j].shape))
                {
                    throw new ArgumentException(
                        $"layer {layerReferences[l]} gives shape {Shapes.Format(inputLayers[l][j].shape)} on the inputs but {Shapes.Format(baselineLayers[l][j].shape)} on the baselines.",
                        "baselines");
                }
            }
        }

        var flatInputs = inputLayers.SelectMany(x => x).ToArray();
        var flatBaselines = baselineLayers.SelectMany(x => x).ToArray();
        Tensor[][] Replacements(Tensor[] scaled)
        {
            var replacements = new Tensor[Layers.Count][];
            var offset = 0;
            for (var l = 0; l < Layers.Count; l++)
            {
                replacements[l] = scaled.AsSpan(offset, counts[l]).ToArray();
                offset += counts[l];
            }

            return replacements;
        }

        MemoryBudgetOverrun? overrun = null;
        if (options.InternalBatchSize is null
            && MemoryProbe.Budget(options.MaxMemoryBytes, options.Steps, n, tensors[0].device, [.. tensors, .. flatInputs]) is { } budget)
        {
            var probeArgs = ArgumentPreparation.Concat(tensors, additional);
            var probeValues = flatInputs.Select((t, i) => (PathIntegral.Difference(t, flatBaselines[i]) * 0.5 + flatBaselines[i]).requires_grad_(true)).ToArray();
            (var rows, overrun) = MemoryProbe.InternalBatchSize(budget, n, options.Steps, tensors[0].device, [.. tensors, .. flatInputs], () =>
            {
                using var grad = torch.enable_grad();
                Gradients.Of(options.Target.Select(evaluation.ForwardReplacing(probeArgs, onInput, Replacements(probeValues))), probeValues);
            });
            options = options with { InternalBatchSize = rows };
        }

        Tensor[] totals;
        int[]? stepsUsed = null;
        if (options.Adaptive is { } adaptive)
        {
            (IList<Tensor>, Tensor) SubsetGradient(Tensor[] scaled, int steps, long[] rows)
            {
                var subset = ArgumentPreparation.SubsetRows([.. tensors], rows, n).Select(t => ArgumentPreparation.RepeatBatch((Tensor)t!, steps)).ToArray();
                var args = ArgumentPreparation.Concat(subset, ArgumentPreparation.Expand(ArgumentPreparation.SubsetRows(additional, rows, n), steps));
                var selected = options.Target.Subset(rows).Repeat(steps).Select(evaluation.ForwardReplacing(args, onInput, Replacements(scaled)));
                return (Gradients.Of(selected, scaled), ArgumentPreparation.SumRows(selected.detach()));
            }

            (totals, stepsUsed) = AdaptivePathIntegral.Integrate(
                flatInputs, flatBaselines, outputDifference!, SubsetGradient, adaptive, options.InternalBatchSize, options.Progress, cancellationToken);
        }
        else
        {
            // The part of the model before the layers depends on the inputs only, not on the step: when the model lets a
            // chunk's layer values (steps x n rows) replace the layers' values of a pass on the n inputs, that part runs
            // once per chunk on n rows instead of steps x n (docs/performance.md, "Beyond Captum: LayerIntegratedGradients
            // runs the model's prefix once per input"). Tried on the first chunk of several steps; a chunk the model refuses falls back to the
            // pass on expanded inputs, and so does every later one.
            var reusePrefix = options.ReuseLayerPrefix;
            var unexpanded = ArgumentPreparation.Concat(tensors, additional);
            var expanded = new Dictionary<int, object?[]>();

            bool? prefixAgrees = null;

            IList<Tensor> Gradient(Tensor[] scaled, int steps)
            {
                if (reusePrefix && steps > 1)
                {
                    // Once per call, before the first chunk relies on it: the shortcut must give the expanded pass's
                    // output (a batch dependence through a tensor from before the layers does not always break a shape),
                    // checked on two points of the path, halfway and at the inputs: the steps next to the baseline may
                    // not show it (a gate shut there, a product with a zero layer value).
                    prefixAgrees ??= evaluation.ReplacingOnceMatchesExpanded(
                        unexpanded, Expanded(2), onInput, Replacements(CheckPoints()), 2 * n);
                    if (prefixAgrees.Value && evaluation.TryForwardReplacingOnce(unexpanded, onInput, Replacements(scaled), steps * n) is { } once)
                    {
                        return Gradients.Of(options.Target.Repeat(steps).Select(once), scaled);
                    }

                    reusePrefix = false;
                }

                var output = evaluation.ForwardReplacing(Expanded(steps), onInput, Replacements(scaled));
                return Gradients.Of(options.Target.Repeat(steps).Select(output), scaled);
            }

            // The layer values halfway along the path and at the inputs, as the rows of two steps.
            Tensor[] CheckPoints() => flatInputs.Select((t, i) =>
            {
                var difference = PathIntegral.Difference(t, flatBaselines[i]);
                return torch.cat([(difference * 0.5) + flatBaselines[i], difference + flatBaselines[i]], 0);
            }).ToArray();

            // The inputs repeated once per step, built once per chunk size when first needed and kept (out of the
            // chunk's dispose scope) for the later chunks of that size.
            object?[] Expanded(int steps)
            {
                if (!expanded.TryGetValue(steps, out var args))
                {
                    args = ArgumentPreparation.Concat(
                        tensors.Select(t => ArgumentPreparation.RepeatBatch(t, steps)).ToArray(),
                        ArgumentPreparation.Expand(additional, steps));
                    foreach (var arg in args)
                    {
                        if (arg is Tensor t && !unexpanded.Any(u => ReferenceEquals(u, t)))
                        {
                            t.MoveToOuterDisposeScope();
                        }
                    }

                    expanded[steps] = args;
                }

                return args;
            }

            totals = PathIntegral.Integrate(
                flatInputs, flatBaselines, n, Gradient, options.Steps, options.Method, options.InternalBatchSize, options.Progress, cancellationToken);
        }

        var attributions = MultipliesByInputs
            ? totals.Select((t, i) => t * PathIntegral.Difference(flatInputs[i], flatBaselines[i])).ToArray()
            : totals;

        Tensor? delta = null;
        if (options.ReturnConvergenceDelta)
        {
            delta = ConvergenceDelta.FromOutputDifference(attributions, outputDifference!).MoveToOuterDisposeScope();
        }

        var perLayer = new IReadOnlyList<Tensor>[Layers.Count];
        var next = 0;
        for (var l = 0; l < Layers.Count; l++)
        {
            perLayer[l] = attributions.Skip(next).Take(counts[l]).Select(t => t.MoveToOuterDisposeScope()).ToArray();
            next += counts[l];
        }

        return new LayerAttributionResult(perLayer, delta) { StepsPerExample = stepsUsed, InternalBatchSize = options.InternalBatchSize, MemoryBudgetOverrun = overrun };
    }
}

/// <summary>The arguments of <see cref="LayerIntegratedGradients.Attribute"/>.</summary>
/// <remarks>Python: the keyword arguments of <c>LayerIntegratedGradients.attribute</c>.</remarks>
public sealed record LayerIntegratedGradientsOptions : BaselineAttributionOptions, ILayerAttributionOptions
{
    /// <inheritdoc cref="IntegratedGradientsOptions.Steps"/>
    public int Steps { get; init; } = 50;

    /// <inheritdoc cref="IntegratedGradientsOptions.Method"/>
    public IntegrationMethod Method { get; init; } = IntegrationMethod.GaussLegendre;

    /// <inheritdoc cref="IntegratedGradientsOptions.InternalBatchSize"/>
    public int? InternalBatchSize { get; init; }

    /// <inheritdoc cref="IntegratedGradientsOptions.MaxMemoryBytes"/>
    public long? MaxMemoryBytes { get; init; }

    /// <inheritdoc cref="IntegratedGradientsOptions.ReturnConvergenceDelta"/>
    public bool ReturnConvergenceDelta { get; init; }

    /// <inheritdoc cref="IntegratedGradientsOptions.Adaptive"/>
    public AdaptiveIntegration? Adaptive { get; init; }

    /// <summary>
    /// Attribute to the layers' inputs instead of their outputs. Python: <c>attribute_to_layer_input</c>.
    /// </summary>
    public bool AttributeToLayerInput { get; init; }

    /// <summary>
    /// Whether the layers may be integrated with the part of the model before them run once per chunk of steps on the
    /// inputs (true, the default) rather than on every step's copy of them. Internal: tests and the bench
    /// compare both paths; the method decides by itself when the model allows it.
    /// </summary>
    internal bool ReuseLayerPrefix { get; init; } = true;
}
