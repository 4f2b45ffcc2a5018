using Captum.Forward;
using Captum.Layers;
using Captum.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// Layer DeepLift: DeepLift's attributions to the output (or input) of one layer. The inputs and their
/// baselines run through the model together with the rescale rules in place; the attribution of every layer
/// element is its multiplier (the gradient of the explained output with respect to it, for the inputs' half)
/// times (layer value on the input - layer value on the baseline).
/// </summary>
/// <remarks>
/// <para>Python: <c>captum.attr.LayerDeepLift(model, layer, multiply_by_inputs=True)</c>.</para>
/// <para>
/// The layer must be called exactly once per forward pass, through <c>call</c>, and produce tensors batch first.
/// When attributing to its output, the layer's own rule (if it is a nonlinearity) is not applied, as in Captum.
/// The same modules are supported as by <see cref="DeepLift"/>, with the same guarantees: the model is not
/// edited and every hook is removed before returning, also when an exception is thrown. The delta compares the
/// sum of the layer attributions with F(input) - F(baseline). Cost: one forward and one backward pass over 2n
/// examples (plus two forward passes for the delta).
/// </para>
/// </remarks>
public sealed class LayerDeepLift : ILayerAttributionMethod<LayerDeepLiftOptions>
{
    private readonly ForwardFunction forward;
    private readonly nn.Module model;
    private readonly LayerEvaluation evaluation;

    /// <summary>Creates the method for one layer of <paramref name="model"/>.</summary>
    /// <param name="model">The model: a forward function built from a module, whose nonlinearity modules get the rules.</param>
    /// <param name="layer">The layer (instance or dotted path).</param>
    /// <param name="multiplyByInputs">
    /// True (default) for multipliers times the layer difference; false for the multipliers alone. Python: <c>multiply_by_inputs</c>.
    /// </param>
    /// <param name="eps">Below this |x - x_ref| a nonlinearity uses its own gradient (1e-10 by default).</param>
    /// <exception cref="ArgumentException">The forward function has no module, or the layer cannot be resolved.</exception>
    public LayerDeepLift(ForwardFunction model, LayerReference layer, bool multiplyByInputs = true, double eps = 1e-10)
    {
        ArgumentNullException.ThrowIfNull(model);
        TorchRuntime.EnsureAvailable();
        if (!double.IsFinite(eps) || eps < 0)
        {
            throw new ArgumentException($"eps must be finite and non-negative, got {eps}.", nameof(eps));
        }

        forward = model;
        this.model = DeepLiftPass.ModelOf(model, nameof(model));
        evaluation = LayerEvaluation.Create(model, [layer], isList: false);
        MultipliesByInputs = multiplyByInputs;
        Eps = eps;
    }

    /// <summary>The resolved layer.</summary>
    public nn.Module Layer => evaluation.Layers[0];

    IReadOnlyList<nn.Module> ILayerAttributionMethod<LayerDeepLiftOptions>.Layers => [Layer];

    /// <summary>Whether attributions are multiplied by the layer difference. Python: <c>multiplies_by_inputs</c>.</summary>
    public bool MultipliesByInputs { get; }

    /// <summary>The threshold below which nonlinearities use their own gradient. Python: <c>eps</c>.</summary>
    public double Eps { get; }

    /// <summary>Whether the method can return a convergence delta (<c>ReturnConvergenceDelta</c>). Python: <c>has_convergence_delta()</c>.</summary>
    public bool HasConvergenceDelta => true;

    /// <summary>Attributes F(input) - F(baseline) to the layer's output (or inputs).</summary>
    /// <param name="inputs">The model's inputs, batch first, floating point. They are not modified.</param>
    /// <param name="options">Baselines (input space), target, additional arguments, the delta flag and the layer side.</param>
    /// <param name="cancellationToken">Checked before the pass.</param>
    /// <returns>The layer's attribution tensors, of the layer value's shapes (and the delta, [n], when asked); the caller disposes it.</returns>
    /// <exception cref="ArgumentException">
    /// An argument does not fit, the layer is not called exactly once, or the model holds a nonlinearity DeepLift
    /// has no rule for; the message names it.
    /// </exception>
    public LayerAttributionResult Attribute(Inputs inputs, LayerDeepLiftOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new LayerDeepLiftOptions();
        var tensors = inputs.Tensors;
        using var scope = torch.NewDisposeScope();
        var n = ArgumentPreparation.BatchSize(tensors);
        options.Target.ValidateCount(n);
        var baselines = ArgumentPreparation.Baselines(tensors, options.Baselines);
        cancellationToken.ThrowIfCancellationRequested();
        var (attributions, delta) = Compute(
            tensors, baselines, options.AdditionalForwardArgs ?? [], options.Target, options.AttributeToLayerInput, options.ReturnConvergenceDelta, options.CustomAttributionFunc);

        options.Progress?.Report(new AttributionProgress(1, 1));
        var result = new LayerAttributionResult(
            [attributions.Select(a => a.MoveToOuterDisposeScope()).ToArray()],
            delta?.MoveToOuterDisposeScope());
        return result;
    }

    /// <summary>
    /// Layer DeepLift on prepared arguments (baselines of the inputs' full shapes): the layer's attribution tensors and
    /// the delta per example when asked, in the current dispose scope.
    /// </summary>
    /// <exception cref="ArgumentException">The layer does not fit (see <see cref="Attribute"/>).</exception>
    internal (Tensor[] Attributions, Tensor? Delta) Compute(
        IReadOnlyList<Tensor> inputs,
        IReadOnlyList<Tensor> baselines,
        IReadOnlyList<object?> additional,
        Target target,
        bool onInput,
        bool returnDelta,
        CustomAttributionFunc? custom)
    {
        var n = inputs[0].shape[0];
        if (onInput && ModuleGradientOverrides.IsInPlace(Layer) && DeepLiftRules.Selector(Eps, null, "model")("layer", Layer) is not null)
        {
            throw new ArgumentException(
                $"layer {Layer.GetType().Name} is an in-place nonlinearity; attributing to its input is not supported. Attribute to the output of the module before it instead.",
                "layer");
        }

        // Floating-point inputs are tracked, so that a layer fed by them directly still has a gradient.
        var stacked = inputs.Select((x, i) =>
        {
            var both = torch.cat([x.detach(), baselines[i]]);
            return both.is_floating_point() ? both.requires_grad_(true) : both;
        }).ToArray();
        var args = ArgumentPreparation.Concat(stacked, ArgumentPreparation.Expand(additional, 2));
        var session = new OverrideSession();
        Tensor[] values;
        Tensor[] gradients;
        using (torch.enable_grad())
        {
            Tensor output;
            Tensor[][] layerValues;
            using (ModuleGradientOverrides.Register(model, DeepLiftRules.Selector(Eps, onInput ? null : Layer, "model"), session))
            {
                (output, layerValues) = evaluation.ForwardWithValues(args, onInput);
            }

            values = layerValues[0];
            foreach (var v in values)
            {
                if (v.dim() == 0 || v.shape[0] != 2 * n)
                {
                    throw new ArgumentException(
                        $"layer {Layer.GetType().Name} gives a tensor of shape {Shapes.Format(v.shape)} on the {2 * n} stacked inputs and baselines; LayerDeepLift needs the batch on its dimension 0.",
                        "layer");
                }

                InputChecks.RequireDifferentiable(v, Layer.GetType().Name, onInput);
            }

            gradients = Gradients.Of(target.Repeat(2).Select(output), values);
            session.ThrowIfFailed();
        }

        var onInputs = values.Select(v => v.detach().chunk(2)[0]).ToArray();
        var onBaselines = values.Select(v => v.detach().chunk(2)[1]).ToArray();
        var multipliers = gradients.Select(g => g.chunk(2)[0]).ToArray();
        var attributions = DeepLiftPass.Attributions(multipliers, onInputs, onBaselines, MultipliesByInputs, custom);
        var delta = returnDelta ? ConvergenceDelta.Compute(forward, attributions, baselines, inputs, additional, target) : null;
        return (attributions, delta);
    }
}

/// <summary>The arguments of <see cref="LayerDeepLift.Attribute"/>.</summary>
/// <remarks>Python: the keyword arguments of <c>LayerDeepLift.attribute</c>. The baselines are in input space.</remarks>
public sealed record LayerDeepLiftOptions : BaselineAttributionOptions, ILayerAttributionOptions
{
    /// <inheritdoc cref="DeepLiftOptions.ReturnConvergenceDelta"/>
    public bool ReturnConvergenceDelta { get; init; }

    /// <inheritdoc cref="DeepLiftOptions.CustomAttributionFunc"/>
    public CustomAttributionFunc? CustomAttributionFunc { get; init; }

    /// <summary>Attribute to the layer's inputs instead of its outputs. Python: <c>attribute_to_layer_input</c>.</summary>
    public bool AttributeToLayerInput { get; init; }
}
