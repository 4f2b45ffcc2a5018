using Captum.Forward;
using Captum.Layers;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// Neuron Integrated Gradients: Integrated Gradients of one neuron of a layer instead of the model's output.
/// The attributions of all input elements sum to neuron(input) - neuron(baseline), up to the integration error.
/// </summary>
/// <remarks>
/// Python: <c>captum.attr.NeuronIntegratedGradients(forward_func, layer, multiply_by_inputs=True)</c>, attributed
/// with <c>attribute(inputs, neuron_selector, ...)</c>; here the neuron selector is given to the constructor. Inputs
/// must be floating point. The layer must be called exactly once per forward pass, through <c>call</c>.
/// Cost: <c>Steps</c> forward and backward passes over the batch, in chunks of <c>InternalBatchSize</c>.
/// </remarks>
public sealed class NeuronIntegratedGradients : INeuronAttributionMethod<NeuronIntegratedGradientsOptions>
{
    private readonly NeuronOutput neuron;

    /// <summary>Creates the method for one neuron.</summary>
    /// <param name="forwardFunc">The model or function that computes the layer.</param>
    /// <param name="layer">The layer (instance or dotted path).</param>
    /// <param name="neuronSelector">The neuron: an index into the layer's tensor without the batch dimension, or a function. Python: <c>neuron_selector</c>.</param>
    /// <param name="multiplyByInputs">
    /// True (default) multiplies the integrated gradients by (input - baseline); false returns them alone.
    /// Python: <c>multiply_by_inputs</c>.
    /// </param>
    public NeuronIntegratedGradients(ForwardFunction forwardFunc, LayerReference layer, NeuronSelector neuronSelector, bool multiplyByInputs = true)
    {
        neuron = new NeuronOutput(forwardFunc, layer, neuronSelector);
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

    /// <summary>Attributes the neuron's value to every input element.</summary>
    /// <param name="inputs">The model's inputs, batch first, floating point. Not modified.</param>
    /// <param name="options">Baselines, steps and the rest; Captum's defaults when null.</param>
    /// <param name="cancellationToken">Checked between internal batches.</param>
    /// <returns>One tensor per input, of its shape; the caller disposes the result.</returns>
    /// <exception cref="ArgumentException">An argument does not fit (e.g. the neuron index is out of range for the layer).</exception>
    public AttributionResult Attribute(Inputs inputs, NeuronIntegratedGradientsOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new NeuronIntegratedGradientsOptions();
        using var scope = torch.NewDisposeScope();
        var path = InputPath.Prepare(
            nameof(NeuronIntegratedGradients), inputs, options.Baselines, options.AdditionalForwardArgs, options.Steps, options.Method, options.InternalBatchSize);

        IList<Tensor> Gradient(Tensor[] scaled, int steps) =>
            neuron.Gradients(path.Args(scaled, steps), scaled, options.AttributeToNeuronInput);

        var totals = path.Integrate(Gradient, options.Progress, cancellationToken, options.MaxMemoryBytes);
        var attributions = MultipliesByInputs ? path.TimesDifference(totals) : totals;
        return new AttributionResult(attributions.Select(a => a.MoveToOuterDisposeScope()).ToArray(), null) { InternalBatchSize = path.InternalBatchSize, MemoryBudgetOverrun = path.MemoryBudgetOverrun };
    }
}

/// <summary>The arguments of <see cref="NeuronIntegratedGradients.Attribute"/>, with Captum's defaults.</summary>
/// <remarks>Python: the keyword arguments of <c>NeuronIntegratedGradients.attribute</c> (the neuron selector is given to the constructor).</remarks>
public sealed record NeuronIntegratedGradientsOptions : NeuronBaselineAttributionOptions
{
    /// <summary>The number of integration points; 50 by default. Python: <c>n_steps</c>.</summary>
    public int Steps { get; init; } = 50;

    /// <summary>The integration rule; Gauss-Legendre by default. Python: <c>method</c>.</summary>
    public IntegrationMethod Method { get; init; } = IntegrationMethod.GaussLegendre;

    /// <summary>
    /// At most this many expanded examples (steps times batch) per forward and backward pass; null runs every step
    /// in one pass. At least one step is always taken per pass. It does not change the result. Python: <c>internal_batch_size</c>.
    /// </summary>
    public int? InternalBatchSize { get; init; }

    /// <summary>
    /// When <see cref="InternalBatchSize"/> is null, the memory one pass may use: a probe runs one step's forward and
    /// backward pass and as many steps per pass as fit are taken; the result's <c>InternalBatchSize</c> says how many
    /// rows. Null (the default) means <see cref="MemoryBudget.DefaultBytes"/> on CPU tensors where the memory can be
    /// measured, and the probe runs only when the pass is not evidently small, as for
    /// <see cref="IntegratedGradientsOptions.MaxMemoryBytes"/>; <see cref="MemoryBudget.Unlimited"/> runs every step in
    /// one pass, as Captum does. Beyond Captum.
    /// </summary>
    public long? MaxMemoryBytes { get; init; }
}
