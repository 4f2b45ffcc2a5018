using Captum.Forward;
using Captum.Layers;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// Neuron Deconvolution: deconvolution (Zeiler and Fergus, 2014) of one neuron of a layer instead of the model's
/// output: the gradient of the neuron with every ReLU module back-propagating the positive part of the gradient with
/// respect to its output.
/// </summary>
/// <remarks>
/// <para>
/// Python: <c>captum.attr.NeuronDeconvolution(model, layer)</c>, attributed with <c>attribute(inputs, neuron_selector,
/// ...)</c>; here the neuron selector is given to the constructor, so one object explains one neuron.
/// </para>
/// <para>
/// The neuron's value on every example takes the place of the model's output in <see cref="Deconvolution"/>: the
/// gradient of its sum over the batch is taken with every <c>nn.ReLU</c> module passing back relu of the gradient with
/// respect to its output (its own mask ignored), the layer itself included when it is a ReLU and the neuron is in its
/// output. As in Captum, only ReLU modules invoked through <c>call</c> are overridden. Inputs must be floating point.
/// The layer must be called exactly once per forward pass, through <c>call</c>. The model is not edited and every hook
/// is removed before returning, also when an exception is thrown. Cost: one forward and one backward pass.
/// </para>
/// </remarks>
public sealed class NeuronDeconvolution : INeuronAttributionMethod<NeuronDeconvolutionOptions>
{
    private readonly NeuronModifiedReluGradient method;

    /// <summary>Creates the method for one neuron.</summary>
    /// <param name="model">The model: a forward function built from a module (whose ReLU modules are overridden).</param>
    /// <param name="layer">The layer (instance or dotted path).</param>
    /// <param name="neuronSelector">The neuron: an index into the layer's tensor without the batch dimension, or a function. Python: <c>neuron_selector</c>.</param>
    /// <exception cref="ArgumentException">The forward function has no module, the layer cannot be resolved, or the selector is empty.</exception>
    public NeuronDeconvolution(ForwardFunction model, LayerReference layer, NeuronSelector neuronSelector)
    {
        method = new NeuronModifiedReluGradient(model, layer, neuronSelector, useReluGradOutput: true, nameof(NeuronDeconvolution));
    }

    /// <summary>The resolved layer.</summary>
    public nn.Module Layer => method.Neuron.Layer;

    /// <summary>The explained neuron.</summary>
    public NeuronSelector NeuronSelector => method.Neuron.Selector;

    /// <summary>False: neuron methods return no convergence delta, as in Captum. Python: <c>has_convergence_delta()</c>.</summary>
    public bool HasConvergenceDelta => false;

    /// <summary>Attributes the neuron's value to every input element.</summary>
    /// <param name="inputs">The model's inputs, batch first, floating point. Not modified.</param>
    /// <param name="options">Additional forward arguments and whether the neuron is in the layer's input.</param>
    /// <param name="cancellationToken">Checked before the pass.</param>
    /// <returns>One tensor per input, of its shape; the caller disposes the result.</returns>
    /// <exception cref="ArgumentException">An argument does not fit (e.g. the neuron index is out of range for the layer).</exception>
    public AttributionResult Attribute(Inputs inputs, NeuronDeconvolutionOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new NeuronDeconvolutionOptions();
        return method.Attribute(inputs, options.AdditionalForwardArgs, options.AttributeToNeuronInput, options.Progress, cancellationToken);
    }
}

/// <summary>The arguments of <see cref="NeuronDeconvolution.Attribute"/>, with Captum's defaults.</summary>
/// <remarks>Python: the keyword arguments of <c>NeuronDeconvolution.attribute</c> (the neuron selector is given to the constructor).</remarks>
public sealed record NeuronDeconvolutionOptions : NeuronAttributionOptions;
