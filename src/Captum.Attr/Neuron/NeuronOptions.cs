namespace Captum.Attr;

/// <summary>The arguments of <see cref="NeuronGradient.Attribute"/>, with Captum's defaults.</summary>
/// <remarks>Python: the keyword arguments of <c>NeuronGradient.attribute</c> (the neuron selector is given to the constructor).</remarks>
public sealed record NeuronGradientOptions
{
    /// <summary>Further forward arguments after the inputs, passed unchanged. Python: <c>additional_forward_args</c>.</summary>
    public IReadOnlyList<object?>? AdditionalForwardArgs { get; init; }

    /// <summary>Select the neuron from the layer's input instead of its output. Python: <c>attribute_to_neuron_input</c>.</summary>
    public bool AttributeToNeuronInput { get; init; }

    /// <summary>
    /// Receives (1, 1) once the method's single pass is done, like every other method's progress (see
    /// <see cref="AttributionOptions.Progress"/>); the cancellation token is checked before the pass.
    /// </summary>
    public IProgress<AttributionProgress>? Progress { get; init; }
}

/// <summary>The arguments of <see cref="NeuronIntegratedGradients.Attribute"/>, with Captum's defaults.</summary>
/// <remarks>Python: the keyword arguments of <c>NeuronIntegratedGradients.attribute</c> (the neuron selector is given to the constructor).</remarks>
public sealed record NeuronIntegratedGradientsOptions
{
    /// <summary>
    /// The baselines (reference inputs): none for zeros, a scalar, a tensor that broadcasts to the input, or one
    /// of those per input. Python: <c>baselines</c>.
    /// </summary>
    public Baselines Baselines { get; init; }

    /// <summary>
    /// Further forward arguments after the inputs. Tensors with a batch dimension are repeated along it for every
    /// integration step; 0-dimensional tensors and anything else are passed unchanged. Python: <c>additional_forward_args</c>.
    /// </summary>
    public IReadOnlyList<object?>? AdditionalForwardArgs { get; init; }

    /// <summary>The number of integration points; 50 by default. Python: <c>n_steps</c>.</summary>
    public int Steps { get; init; } = 50;

    /// <summary>The integration rule; Gauss-Legendre by default. Python: <c>method</c>.</summary>
    public IntegrationMethod Method { get; init; } = IntegrationMethod.GaussLegendre;

    /// <summary>
    /// At most this many expanded examples (steps times batch) per forward and backward pass; null runs every step
    /// in one pass. At least one step is always taken per pass. It does not change the result. Python: <c>internal_batch_size</c>.
    /// </summary>
    public int? InternalBatchSize { get; init; }

    /// <summary>Select the neuron from the layer's input instead of its output. Python: <c>attribute_to_neuron_input</c>.</summary>
    public bool AttributeToNeuronInput { get; init; }

    /// <summary>Receives the number of steps done after every internal batch.</summary>
    public IProgress<AttributionProgress>? Progress { get; init; }
}

/// <summary>The arguments of <see cref="NeuronConductance.Attribute"/>, with Captum's defaults.</summary>
/// <remarks>Python: the keyword arguments of <c>NeuronConductance.attribute</c> (the neuron selector is given to the constructor).</remarks>
public sealed record NeuronConductanceOptions
{
    /// <summary>
    /// The baselines (reference inputs): none for zeros, a scalar, a tensor that broadcasts to the input, or one
    /// of those per input. Python: <c>baselines</c>.
    /// </summary>
    public Baselines Baselines { get; init; }

    /// <summary>Which output to explain; none when the forward function returns one value per example. Python: <c>target</c>.</summary>
    public Target Target { get; init; }

    /// <summary>
    /// Further forward arguments after the inputs. Tensors with a batch dimension are repeated along it for every
    /// integration step; 0-dimensional tensors and anything else are passed unchanged. Python: <c>additional_forward_args</c>.
    /// </summary>
    public IReadOnlyList<object?>? AdditionalForwardArgs { get; init; }

    /// <summary>The number of integration points; 50 by default. Python: <c>n_steps</c>.</summary>
    public int Steps { get; init; } = 50;

    /// <summary>The integration rule; Captum's default for this method is the trapezoid rule. Python: <c>method</c>.</summary>
    public IntegrationMethod Method { get; init; } = IntegrationMethod.RiemannTrapezoid;

    /// <summary>
    /// At most this many expanded examples (steps times batch) per forward and backward pass; null runs every step
    /// in one pass. At least one step is always taken per pass. It does not change the result. Python: <c>internal_batch_size</c>.
    /// </summary>
    public int? InternalBatchSize { get; init; }

    /// <summary>Select the neuron from the layer's input instead of its output. Python: <c>attribute_to_neuron_input</c>.</summary>
    public bool AttributeToNeuronInput { get; init; }

    /// <summary>Receives the number of steps done after every internal batch.</summary>
    public IProgress<AttributionProgress>? Progress { get; init; }
}
