using Captum.Forward;
using Captum.Layers;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// Neuron Conductance (Dhamdhere et al., 2018): how much of the explained output flows through one neuron of a
/// layer from each input element. Along the path from the baseline to the input, the output's gradient with respect
/// to the neuron times the neuron's gradient with respect to the inputs is integrated and multiplied by
/// (input - baseline); summed over the input elements it gives the neuron's Layer Conductance.
/// </summary>
/// <remarks>
/// Python: <c>captum.attr.NeuronConductance(forward_func, layer, multiply_by_inputs=True)</c>, attributed with
/// <c>attribute(inputs, neuron_selector, ...)</c>; here the neuron selector is given to the constructor. A selector
/// function must select, not aggregate: it is applied to the layer's gradients as well as to its values. Inputs
/// must be floating point. The layer must be called exactly once per forward pass, through <c>call</c>.
/// Cost: <c>Steps</c> forward passes and twice as many backward passes over the batch.
/// </remarks>
public sealed class NeuronConductance : INeuronAttributionMethod<NeuronConductanceOptions>
{
    private readonly NeuronOutput neuron;

    /// <summary>Creates the method for one neuron.</summary>
    /// <param name="forwardFunc">The model or function to explain.</param>
    /// <param name="layer">The layer (instance or dotted path).</param>
    /// <param name="neuronSelector">The neuron: an index into the layer's tensor without the batch dimension, or a function. Python: <c>neuron_selector</c>.</param>
    /// <param name="multiplyByInputs">
    /// True (default) multiplies by (input - baseline); false returns the integrated products of gradients.
    /// Python: <c>multiply_by_inputs</c>.
    /// </param>
    public NeuronConductance(ForwardFunction forwardFunc, LayerReference layer, NeuronSelector neuronSelector, bool multiplyByInputs = true)
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

    /// <summary>Attributes the output's flow through the neuron to every input element.</summary>
    /// <param name="inputs">The model's inputs, batch first, floating point. Not modified.</param>
    /// <param name="options">Baselines, target, steps and the rest; Captum's defaults when null.</param>
    /// <param name="cancellationToken">Checked between internal batches.</param>
    /// <returns>One tensor per input, of its shape; the caller disposes the result.</returns>
    /// <exception cref="ArgumentException">An argument does not fit (e.g. the neuron index is out of range for the layer).</exception>
    public AttributionResult Attribute(Inputs inputs, NeuronConductanceOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new NeuronConductanceOptions();
        using var scope = torch.NewDisposeScope();
        var path = InputPath.Prepare(
            nameof(NeuronConductance), inputs, options.Baselines, options.AdditionalForwardArgs, options.Steps, options.Method, options.InternalBatchSize, options.Target);

        IList<Tensor> Gradient(Tensor[] scaled, int steps)
        {
            var (layerGrads, values, _) = LayerGradients.Compute(
                neuron.Evaluation, path.Args(scaled, steps), options.AttributeToNeuronInput, options.Target.Repeat(steps), retainGraph: true);

            // d output / d neuron, per point, and d neuron / d input.
            var outputByNeuron = neuron.Select(layerGrads[0]).detach();
            var neuronByInput = Gradients.Of(neuron.Select(values[0]), scaled);
            return neuronByInput.Select(g =>
            {
                var shape = Enumerable.Repeat(1L, (int)g.dim()).ToArray();
                shape[0] = g.shape[0];
                return g * outputByNeuron.reshape(shape);
            }).ToList();
        }

        var totals = path.Integrate(Gradient, options.Progress, cancellationToken, options.MaxMemoryBytes);
        var attributions = MultipliesByInputs ? path.TimesDifference(totals) : totals;
        return new AttributionResult(attributions.Select(a => a.MoveToOuterDisposeScope()).ToArray(), null) { InternalBatchSize = path.InternalBatchSize, MemoryBudgetOverrun = path.MemoryBudgetOverrun };
    }
}

/// <summary>The arguments of <see cref="NeuronConductance.Attribute"/>, with Captum's defaults.</summary>
/// <remarks>Python: the keyword arguments of <c>NeuronConductance.attribute</c> (the neuron selector is given to the constructor).</remarks>
public sealed record NeuronConductanceOptions : NeuronBaselineAttributionOptions, ITargetOptions
{
    /// <summary>Which output to explain; none when the forward function returns one value per example. Python: <c>target</c>.</summary>
    public Target Target { get; init; }

    /// <summary>The number of integration points; 50 by default. Python: <c>n_steps</c>.</summary>
    public int Steps { get; init; } = 50;

    /// <summary>The integration rule; Captum's default for this method is the trapezoid rule. Python: <c>method</c>.</summary>
    public IntegrationMethod Method { get; init; } = IntegrationMethod.RiemannTrapezoid;

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

    AttributionOptions ITargetOptions.WithTarget(Target target) => this with { Target = target };
}
