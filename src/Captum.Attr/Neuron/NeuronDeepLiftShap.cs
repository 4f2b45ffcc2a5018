using Captum.Forward;
using Captum.Layers;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// Neuron DeepLift SHAP: <see cref="NeuronDeepLift"/> with respect to every example of a baseline distribution,
/// averaged over the distribution; the SHAP values of one neuron of a layer as DeepLift approximates them, assuming
/// independent input features and a neuron that is linear in each explanation (Lundberg and Lee, 2017).
/// </summary>
/// <remarks>
/// <para>
/// Python: <c>captum.attr.NeuronDeepLiftShap(model, layer, multiply_by_inputs=True)</c>, attributed with
/// <c>attribute(inputs, neuron_selector, baselines, ...)</c>; here the neuron selector is given to the constructor, so
/// one object explains one neuron.
/// </para>
/// <para>
/// The baselines are per input a tensor of m &gt; 1 reference examples (the same m for every input), shaped like the
/// input after the first dimension. Every example is paired with every reference (inputs repeated in place,
/// references tiled, additional arguments expanded like the inputs), Neuron DeepLift runs once on the n * m pairs, and
/// the attributions are averaged over the references. The same modules are supported, and the same guarantees given,
/// as by <see cref="NeuronDeepLift"/>. Cost: one forward and one backward pass over 2 * n * m examples.
/// </para>
/// </remarks>
public sealed class NeuronDeepLiftShap : INeuronAttributionMethod<NeuronDeepLiftShapOptions>
{
    private readonly NeuronDeepLift neuronDeepLift;

    /// <summary>Creates the method for one neuron.</summary>
    /// <param name="model">The model: a forward function built from a module, whose nonlinearity modules get the rules.</param>
    /// <param name="layer">The layer (instance or dotted path).</param>
    /// <param name="neuronSelector">The neuron: an index into the layer's tensor without the batch dimension, or a function. Python: <c>neuron_selector</c>.</param>
    /// <param name="multiplyByInputs">
    /// True (default) for multipliers times (input - reference) before averaging; false for the averaged multipliers.
    /// Python: <c>multiply_by_inputs</c>.
    /// </param>
    /// <exception cref="ArgumentException">The forward function has no module, the layer cannot be resolved, or the selector is empty.</exception>
    public NeuronDeepLiftShap(ForwardFunction model, LayerReference layer, NeuronSelector neuronSelector, bool multiplyByInputs = true)
    {
        neuronDeepLift = new NeuronDeepLift(model, layer, neuronSelector, multiplyByInputs);
    }

    /// <summary>The resolved layer.</summary>
    public nn.Module Layer => neuronDeepLift.Layer;

    /// <summary>The explained neuron.</summary>
    public NeuronSelector NeuronSelector => neuronDeepLift.NeuronSelector;

    /// <summary>False: neuron methods return no convergence delta, as in Captum. Python: <c>has_convergence_delta()</c>.</summary>
    public bool HasConvergenceDelta => false;

    /// <summary>Whether attributions are multiplied by (input - reference). Python: <c>multiplies_by_inputs</c>.</summary>
    public bool MultipliesByInputs => neuronDeepLift.MultipliesByInputs;

    /// <summary>Attributes the neuron to every input element, averaged over the baseline distribution.</summary>
    /// <param name="inputs">The model's inputs, batch first, floating point. Not modified.</param>
    /// <param name="options">The baseline distribution (required), additional arguments and the rest.</param>
    /// <param name="cancellationToken">Checked before the pass.</param>
    /// <returns>One tensor per input, of its shape; the caller disposes the result.</returns>
    /// <exception cref="ArgumentException">
    /// An argument does not fit (no distribution, a single reference, shapes or counts that differ, a neuron index out
    /// of range), or the model holds a nonlinearity DeepLift has no rule for; the message names it.
    /// </exception>
    public AttributionResult Attribute(Inputs inputs, NeuronDeepLiftShapOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new NeuronDeepLiftShapOptions();
        options = options with { Baselines = options.Baselines.Resolve(inputs) };
        var tensors = inputs.Tensors;
        using var scope = torch.NewDisposeScope();
        var n = ArgumentPreparation.BatchSize(tensors);
        InputChecks.RequireFloatingPoint(tensors, nameof(NeuronDeepLiftShap));
        var pairs = ReferencePairs.Of(tensors, n, options.Baselines, options.AdditionalForwardArgs, default, nameof(NeuronDeepLiftShap));
        cancellationToken.ThrowIfCancellationRequested();

        var (attributions, _) = neuronDeepLift.Pass(options.AttributeToNeuronInput).Compute(
            pairs.Inputs, pairs.Baselines, pairs.AdditionalForwardArgs, pairs.Target, returnDelta: false, options.CustomAttributionFunc);
        options.Progress?.Report(new AttributionProgress(1, 1));
        var result = new AttributionResult(attributions.Select(a => pairs.Mean(a).MoveToOuterDisposeScope()).ToArray(), null);
        return result;
    }
}

/// <summary>The arguments of <see cref="NeuronDeepLiftShap.Attribute"/>, with Captum's defaults.</summary>
/// <remarks>
/// Python: the keyword arguments of <c>NeuronDeepLiftShap.attribute</c> (the neuron selector is given to the
/// constructor). <c>Baselines</c> is a distribution: per input a tensor of more than one reference example, shaped like
/// the input after the first dimension, with the same number of examples for every input.
/// </remarks>
public sealed record NeuronDeepLiftShapOptions : NeuronBaselineAttributionOptions
{
    /// <summary>
    /// As <see cref="NeuronDeepLiftOptions.CustomAttributionFunc"/>, applied per pair before averaging.
    /// Python: <c>custom_attribution_func</c>.
    /// </summary>
    public CustomAttributionFunc? CustomAttributionFunc { get; init; }
}
