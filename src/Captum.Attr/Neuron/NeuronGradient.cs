using Captum.Forward;
using Captum.Layers;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// Neuron Gradient: the gradient of one neuron of a layer (its value on each example) with respect to every input
/// element: what Saliency is for the model's output, for an inner neuron.
/// </summary>
/// <remarks>
/// Python: <c>captum.attr.NeuronGradient(forward_func, layer)</c>, attributed with
/// <c>attribute(inputs, neuron_selector, ...)</c>; here the neuron selector is given to the constructor, so one
/// object explains one neuron. Inputs must be floating point. The layer must be called exactly once per forward pass,
/// through <c>call</c>. Cost: one forward and one backward pass.
/// </remarks>
public sealed class NeuronGradient : INeuronAttributionMethod<NeuronGradientOptions>
{
    private readonly NeuronOutput neuron;

    /// <summary>Creates the method for one neuron.</summary>
    /// <param name="forwardFunc">The model or function that computes the layer.</param>
    /// <param name="layer">The layer (instance or dotted path).</param>
    /// <param name="neuronSelector">The neuron: an index into the layer's tensor without the batch dimension, or a function. Python: <c>neuron_selector</c>.</param>
    public NeuronGradient(ForwardFunction forwardFunc, LayerReference layer, NeuronSelector neuronSelector)
    {
        neuron = new NeuronOutput(forwardFunc, layer, neuronSelector);
    }

    /// <summary>The resolved layer.</summary>
    public nn.Module Layer => neuron.Layer;

    /// <summary>The explained neuron.</summary>
    public NeuronSelector NeuronSelector => neuron.Selector;

    /// <summary>False: neuron methods return no convergence delta, as in Captum. Python: <c>has_convergence_delta()</c>.</summary>
    public bool HasConvergenceDelta => false;

    /// <summary>The gradient of the neuron with respect to every input element.</summary>
    /// <param name="inputs">The model's inputs, batch first, floating point. Not modified.</param>
    /// <param name="options">Additional forward arguments and whether the neuron is in the layer's input.</param>
    /// <param name="cancellationToken">Checked before the forward pass.</param>
    /// <returns>One tensor per input, of its shape; the caller disposes the result.</returns>
    /// <exception cref="ArgumentException">An argument does not fit (e.g. the neuron index is out of range for the layer).</exception>
    public AttributionResult Attribute(Inputs inputs, NeuronGradientOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new NeuronGradientOptions();
        var tensors = inputs.Tensors;
        using var scope = torch.NewDisposeScope();
        ArgumentPreparation.BatchSize(tensors);
        InputChecks.RequireFloatingPoint(tensors, nameof(NeuronGradient));
        cancellationToken.ThrowIfCancellationRequested();
        var leaves = Gradients.Leaves(tensors);
        var grads = neuron.Gradients(ArgumentPreparation.Concat(leaves, options.AdditionalForwardArgs ?? []), leaves, options.AttributeToNeuronInput);
        options.Progress?.Report(new AttributionProgress(1, 1));
        var result = new AttributionResult(grads.Select(g => g.MoveToOuterDisposeScope()).ToArray(), null);
        return result;
    }
}

/// <summary>The arguments of <see cref="NeuronGradient.Attribute"/>, with Captum's defaults.</summary>
/// <remarks>Python: the keyword arguments of <c>NeuronGradient.attribute</c> (the neuron selector is given to the constructor).</remarks>
public sealed record NeuronGradientOptions : NeuronAttributionOptions;
