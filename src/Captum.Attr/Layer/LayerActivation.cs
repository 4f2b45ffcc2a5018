using Captum.Forward;
using Captum.Layers;
using Captum.Runtime;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// Layer Activation: the values of one or several layers (their outputs, or their inputs) on the given inputs.
/// Not an attribution in itself, but the activations other methods weigh, and a quick way to look inside a model.
/// </summary>
/// <remarks>
/// Python: <c>captum.attr.LayerActivation(forward_func, layer)</c>, where <c>layer</c> may be a list. Each layer
/// must be called exactly once per forward pass, through <c>call</c>. Cost: one forward pass without gradients.
/// The model is left as it was: every hook is removed, also when an exception is thrown.
/// </remarks>
public sealed class LayerActivation : ILayerAttributionMethod<LayerActivationOptions>
{
    private readonly LayerEvaluation evaluation;

    /// <summary>Creates the method for one layer.</summary>
    /// <param name="forwardFunc">The model or function to run.</param>
    /// <param name="layer">The layer (instance or dotted path).</param>
    public LayerActivation(ForwardFunction forwardFunc, LayerReference layer)
        : this(forwardFunc, [layer], false)
    {
    }

    /// <summary>Creates the method for several layers, read in one forward pass.</summary>
    /// <param name="forwardFunc">The model or function to run.</param>
    /// <param name="layers">The layers (instances or dotted paths), at least one, all distinct.</param>
    public LayerActivation(ForwardFunction forwardFunc, IReadOnlyList<LayerReference> layers)
        : this(forwardFunc, layers?.ToArray() ?? throw new ArgumentNullException(nameof(layers)), true)
    {
    }

    private LayerActivation(ForwardFunction forwardFunc, LayerReference[] layers, bool isList)
    {
        ArgumentNullException.ThrowIfNull(forwardFunc);
        TorchRuntime.EnsureAvailable();
        if (layers.Length == 0)
        {
            throw new ArgumentException("layers must name at least one layer.", nameof(layers));
        }

        evaluation = LayerEvaluation.Create(forwardFunc, layers, isList);
    }

    /// <summary>The resolved layers, in the order given.</summary>
    public IReadOnlyList<nn.Module> Layers => evaluation.Layers;

    /// <summary>False: activations have no convergence delta. Python: <c>has_convergence_delta()</c>.</summary>
    public bool HasConvergenceDelta => false;

    /// <summary>Returns the layers' outputs (or inputs) on <paramref name="inputs"/>.</summary>
    /// <param name="inputs">The model's inputs, batch first; integer token ids are allowed. Not modified.</param>
    /// <param name="options">Additional forward arguments and whether to read the layers' inputs.</param>
    /// <param name="cancellationToken">Checked before the forward pass.</param>
    /// <returns>Per layer, copies of its tensors (detached); the caller disposes the result.</returns>
    /// <exception cref="ArgumentException">An argument does not fit, or a layer is not called exactly once.</exception>
    public LayerAttributionResult Attribute(Inputs inputs, LayerActivationOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new LayerActivationOptions();
        var tensors = inputs.Tensors;
        using var scope = torch.NewDisposeScope();
        ArgumentPreparation.BatchSize(tensors);
        cancellationToken.ThrowIfCancellationRequested();
        var values = evaluation.Capture(ArgumentPreparation.Concat(tensors, options.AdditionalForwardArgs ?? []), options.AttributeToLayerInput);

        // Copies: a layer may hand back a tensor it was given (an input, a parameter), which stays the caller's.
        options.Progress?.Report(new AttributionProgress(1, 1));
        var result = new LayerAttributionResult(LayerAttribution.MoveOut(values.Select(v => v.Select(t => t.clone()))), null);
        return result;
    }
}

/// <summary>The arguments of <see cref="LayerActivation.Attribute"/>, with Captum's defaults.</summary>
/// <remarks>Python: the keyword arguments of <c>LayerActivation.attribute</c>.</remarks>
public sealed record LayerActivationOptions : AttributionOptions, ILayerAttributionOptions
{
    /// <summary>Return the layers' inputs instead of their outputs. Python: <c>attribute_to_layer_input</c>.</summary>
    public bool AttributeToLayerInput { get; init; }
}
