using Captum.Forward;
using Captum.Layers;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// Neuron DeepLift: DeepLift's rescale-rule attributions (Shrikumar et al., 2017, in the gradient formulation of
/// Ancona et al., 2018) of one neuron of a layer instead of the model's output. On a model whose nonlinearities up to
/// the neuron are all supported modules, the attributions of every example sum to neuron(input) - neuron(baseline).
/// </summary>
/// <remarks>
/// <para>
/// Python: <c>captum.attr.NeuronDeepLift(model, layer, multiply_by_inputs=True)</c>, attributed with
/// <c>attribute(inputs, neuron_selector, ...)</c>; here the neuron selector is given to the constructor, so one object
/// explains one neuron.
/// </para>
/// <para>
/// The inputs and their baselines run through the model together, and the neuron is selected on both halves of the
/// stacked batch; the gradient of its sum is taken with every supported nonlinearity module back-propagating the
/// multiplier (y - y_ref) / (x - x_ref), the layer itself included when it is such a module and the neuron is in its
/// output (as in Captum 0.8.0). The attributions are the multipliers times (input - baseline). Functional
/// nonlinearities keep their plain gradient; other activation modules are refused, as by <see cref="DeepLift"/>. The
/// layer must be called exactly once per forward pass, through <c>call</c>, and the neuron selected from a layer value
/// with the batch first; inputs must be floating point. The model is not edited and every hook is removed before
/// returning, also when an exception is thrown. Cost: one forward and one backward pass over 2n examples.
/// </para>
/// </remarks>
public sealed class NeuronDeepLift : INeuronAttributionMethod<NeuronDeepLiftOptions>
{
    private readonly ForwardFunction forward;
    private readonly NeuronOutput neuron;

    /// <summary>Creates the method for one neuron.</summary>
    /// <param name="model">The model: a forward function built from a module, whose nonlinearity modules get the rules.</param>
    /// <param name="layer">The layer (instance or dotted path).</param>
    /// <param name="neuronSelector">The neuron: an index into the layer's tensor without the batch dimension, or a function. Python: <c>neuron_selector</c>.</param>
    /// <param name="multiplyByInputs">
    /// True (default) for multipliers times (input - baseline); false for the multipliers alone. Python: <c>multiply_by_inputs</c>.
    /// </param>
    /// <exception cref="ArgumentException">The forward function has no module, the layer cannot be resolved, or the selector is empty.</exception>
    public NeuronDeepLift(ForwardFunction model, LayerReference layer, NeuronSelector neuronSelector, bool multiplyByInputs = true)
    {
        neuron = new NeuronOutput(model, layer, neuronSelector);
        DeepLiftPass.ModelOf(model, nameof(model));
        forward = model;
        MultipliesByInputs = multiplyByInputs;
    }

    /// <summary>The resolved layer.</summary>
    public nn.Module Layer => neuron.Layer;

    /// <summary>The explained neuron.</summary>
    public NeuronSelector NeuronSelector => neuron.Selector;

    /// <summary>False: neuron methods return no convergence delta, as in Captum. Python: <c>has_convergence_delta()</c>.</summary>
    public bool HasConvergenceDelta => false;

    /// <summary>Whether attributions are multiplied by (input - baseline). Python: <c>multiplies_by_inputs</c>.</summary>
    public bool MultipliesByInputs { get; }

    /// <summary>Attributes neuron(input) - neuron(baseline) to every input element.</summary>
    /// <param name="inputs">The model's inputs, batch first, floating point. Not modified.</param>
    /// <param name="options">Baselines, additional arguments and the rest; Captum's defaults when null.</param>
    /// <param name="cancellationToken">Checked before the pass.</param>
    /// <returns>One tensor per input, of its shape; the caller disposes the result.</returns>
    /// <exception cref="ArgumentException">
    /// An argument does not fit (e.g. the neuron index is out of range for the layer), or the model holds a
    /// nonlinearity DeepLift has no rule for; the message names it.
    /// </exception>
    public AttributionResult Attribute(Inputs inputs, NeuronDeepLiftOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new NeuronDeepLiftOptions();
        var tensors = inputs.Tensors;
        using var scope = torch.NewDisposeScope();
        ArgumentPreparation.BatchSize(tensors);
        InputChecks.RequireFloatingPoint(tensors, nameof(NeuronDeepLift));
        var baselines = ArgumentPreparation.Baselines(tensors, options.Baselines);
        cancellationToken.ThrowIfCancellationRequested();

        var (attributions, _) = Pass(options.AttributeToNeuronInput).Compute(
            tensors, baselines, options.AdditionalForwardArgs ?? [], default, returnDelta: false, options.CustomAttributionFunc);
        options.Progress?.Report(new AttributionProgress(1, 1));
        var result = new AttributionResult(attributions.Select(a => a.MoveToOuterDisposeScope()).ToArray(), null);
        return result;
    }

    /// <summary>
    /// DeepLift of the neuron (Captum's DeepLift with its <c>gradient_func</c> replaced by the neuron's): the neuron is
    /// selected from the layer's value on the stacked batch.
    /// </summary>
    internal DeepLift Pass(bool onInput) =>
        new DeepLift(forward, MultipliesByInputs, 1e-10, (args, _) => neuron.Value(args, onInput));
}

/// <summary>The arguments of <see cref="NeuronDeepLift.Attribute"/>, with Captum's defaults.</summary>
/// <remarks>Python: the keyword arguments of <c>NeuronDeepLift.attribute</c> (the neuron selector is given to the constructor).</remarks>
public sealed record NeuronDeepLiftOptions : NeuronBaselineAttributionOptions
{
    /// <summary>
    /// Replaces multipliers * (input - baseline) by a function of the multipliers, inputs and baselines.
    /// Python: <c>custom_attribution_func</c>.
    /// </summary>
    public CustomAttributionFunc? CustomAttributionFunc { get; init; }
}
