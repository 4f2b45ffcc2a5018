using Captum.Forward;
using Captum.Layers;
using Captum.Runtime;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// Layer Gradient x Activation: the gradient of the explained output with respect to each neuron of one or several
/// layers, multiplied elementwise by the neuron's activation (or the gradient alone, for local attributions).
/// For a layer whose output the model uses linearly, the products sum to the explained output minus its bias.
/// </summary>
/// <remarks>
/// Python: <c>captum.attr.LayerGradientXActivation(forward_func, layer, multiply_by_inputs=True)</c>, where
/// <c>layer</c> may be a list (gradients with respect to each layer, from one forward pass). Each layer must be
/// called exactly once per forward pass, through <c>call</c>. Cost: one forward and one backward pass.
/// </remarks>
public sealed class LayerGradientXActivation : ILayerAttributionMethod<LayerGradientXActivationOptions>
{
    private readonly LayerEvaluation evaluation;

    /// <summary>Creates the method for one layer.</summary>
    /// <param name="forwardFunc">The model or function to explain.</param>
    /// <param name="layer">The layer (instance or dotted path).</param>
    /// <param name="multiplyByInputs">
    /// True (default) multiplies the gradients by the layer's activations; false returns the gradients alone.
    /// Python: <c>multiply_by_inputs</c>.
    /// </param>
    public LayerGradientXActivation(ForwardFunction forwardFunc, LayerReference layer, bool multiplyByInputs = true)
        : this(forwardFunc, [layer], multiplyByInputs, false)
    {
    }

    /// <summary>Creates the method for several layers.</summary>
    /// <param name="forwardFunc">The model or function to explain.</param>
    /// <param name="layers">The layers (instances or dotted paths), at least one, all distinct.</param>
    /// <param name="multiplyByInputs">Multiply by the activations; Python: <c>multiply_by_inputs</c>.</param>
    public LayerGradientXActivation(ForwardFunction forwardFunc, IReadOnlyList<LayerReference> layers, bool multiplyByInputs = true)
        : this(forwardFunc, layers?.ToArray() ?? throw new ArgumentNullException(nameof(layers)), multiplyByInputs, true)
    {
    }

    private LayerGradientXActivation(ForwardFunction forwardFunc, LayerReference[] layers, bool multiplyByInputs, bool isList)
    {
        ArgumentNullException.ThrowIfNull(forwardFunc);
        TorchRuntime.EnsureAvailable();
        if (layers.Length == 0)
        {
            throw new ArgumentException("layers must name at least one layer.", nameof(layers));
        }

        evaluation = LayerEvaluation.Create(forwardFunc, layers, isList);
        MultipliesByInputs = multiplyByInputs;
    }

    /// <summary>The resolved layers, in the order given.</summary>
    public IReadOnlyList<nn.Module> Layers => evaluation.Layers;

    /// <summary>Whether the gradients are multiplied by the activations. Python: <c>multiplies_by_inputs</c>.</summary>
    public bool MultipliesByInputs { get; }

    /// <summary>False: the method has no convergence delta. Python: <c>has_convergence_delta()</c>.</summary>
    public bool HasConvergenceDelta => false;

    /// <summary>Attributes the explained output to every neuron of the layers.</summary>
    /// <param name="inputs">The model's inputs, batch first; integer token ids are allowed. Not modified.</param>
    /// <param name="options">Target, additional forward arguments, and whether to attribute to the layers' inputs.</param>
    /// <param name="cancellationToken">Checked before the forward pass.</param>
    /// <returns>Per layer, tensors of the layer values' shapes; the caller disposes the result.</returns>
    /// <exception cref="ArgumentException">An argument does not fit, or a layer is not called exactly once.</exception>
    public LayerAttributionResult Attribute(Inputs inputs, LayerGradientXActivationOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new LayerGradientXActivationOptions();
        var tensors = inputs.Tensors;
        using var scope = torch.NewDisposeScope();
        var n = ArgumentPreparation.BatchSize(tensors);
        options.Target.ValidateCount(n);
        cancellationToken.ThrowIfCancellationRequested();
        var args = ArgumentPreparation.Concat(tensors, options.AdditionalForwardArgs ?? []);
        var (grads, values, _) = LayerGradients.Compute(evaluation, args, options.AttributeToLayerInput, options.Target);
        var attributions = grads.Select((layer, l) => layer.Select((g, j) => MultipliesByInputs ? g * values[l][j].detach() : g));
        options.Progress?.Report(new AttributionProgress(1, 1));
        var result = new LayerAttributionResult(LayerAttribution.MoveOut(attributions), null);
        return result;
    }
}

/// <summary>The arguments of <see cref="LayerGradientXActivation.Attribute"/>, with Captum's defaults.</summary>
/// <remarks>Python: the keyword arguments of <c>LayerGradientXActivation.attribute</c>.</remarks>
public sealed record LayerGradientXActivationOptions : TargetedAttributionOptions, ILayerAttributionOptions
{
    /// <summary>Attribute to the layers' inputs instead of their outputs. Python: <c>attribute_to_layer_input</c>.</summary>
    public bool AttributeToLayerInput { get; init; }
}
