namespace Captum.Attr;

/// <summary>The arguments of <see cref="LayerActivation.Attribute"/>, with Captum's defaults.</summary>
/// <remarks>Python: the keyword arguments of <c>LayerActivation.attribute</c>.</remarks>
public sealed record LayerActivationOptions
{
    /// <summary>Further forward arguments after the inputs, passed unchanged. Python: <c>additional_forward_args</c>.</summary>
    public IReadOnlyList<object?>? AdditionalForwardArgs { get; init; }

    /// <summary>Return the layers' inputs instead of their outputs. Python: <c>attribute_to_layer_input</c>.</summary>
    public bool AttributeToLayerInput { get; init; }

    /// <summary>
    /// Receives (1, 1) once the method's single pass is done, like every other method's progress (see
    /// <see cref="AttributionOptions.Progress"/>); the cancellation token is checked before the pass.
    /// </summary>
    public IProgress<AttributionProgress>? Progress { get; init; }
}

/// <summary>The arguments of <see cref="LayerGradientXActivation.Attribute"/>, with Captum's defaults.</summary>
/// <remarks>Python: the keyword arguments of <c>LayerGradientXActivation.attribute</c>.</remarks>
public sealed record LayerGradientXActivationOptions : AttributionOptions
{
    /// <summary>Attribute to the layers' inputs instead of their outputs. Python: <c>attribute_to_layer_input</c>.</summary>
    public bool AttributeToLayerInput { get; init; }
}

/// <summary>The arguments of <see cref="LayerGradCam.Attribute"/>, with Captum's defaults.</summary>
/// <remarks>Python: the keyword arguments of <c>LayerGradCam.attribute</c>.</remarks>
public sealed record LayerGradCamOptions : AttributionOptions
{
    /// <summary>Attribute to the layer's input instead of its output. Python: <c>attribute_to_layer_input</c>.</summary>
    public bool AttributeToLayerInput { get; init; }

    /// <summary>
    /// Apply a ReLU to the result, keeping only positive evidence as the original Grad-CAM does; false (default)
    /// returns both signs. Python: <c>relu_attributions</c>.
    /// </summary>
    public bool ReluAttributions { get; init; }

    /// <summary>
    /// Sum the weighted activations over dimension 1 (the channels), giving one map per example (default true);
    /// false keeps one weighted map per channel. Python: <c>attr_dim_summation</c>.
    /// </summary>
    public bool AttrDimSummation { get; init; } = true;
}

/// <summary>The arguments of <see cref="LayerConductance.Attribute"/>, with Captum's defaults.</summary>
/// <remarks>Python: the keyword arguments of <c>LayerConductance.attribute</c>. <c>Progress</c> counts the path points done, out of <c>Steps + 1</c>.</remarks>
public sealed record LayerConductanceOptions : BaselineAttributionOptions
{
    /// <summary>
    /// The number of steps; the path is evaluated at <c>Steps + 1</c> points of the rule, and the layer's change
    /// between consecutive points is weighted by the gradient at the first of them. 50 by default. Python: <c>n_steps</c>.
    /// </summary>
    public int Steps { get; init; } = 50;

    /// <summary>
    /// The rule that places the <c>Steps + 1</c> points; Gauss-Legendre by default. Only the rules whose points
    /// include both ends (<see cref="IntegrationMethod.RiemannTrapezoid"/>) make the attributions sum exactly to
    /// F(input) - F(baseline) as the steps grow. Python: <c>method</c>.
    /// </summary>
    public IntegrationMethod Method { get; init; } = IntegrationMethod.GaussLegendre;

    /// <summary>
    /// At most this many expanded examples (points times batch) per forward and backward pass; null runs every
    /// point in one pass. Each pass takes at least two points, and consecutive passes share their boundary point,
    /// so the result does not depend on it. Python: <c>internal_batch_size</c>.
    /// </summary>
    public int? InternalBatchSize { get; init; }

    /// <summary>Also compute the convergence delta per example. Python: <c>return_convergence_delta</c>.</summary>
    public bool ReturnConvergenceDelta { get; init; }

    /// <summary>Attribute to the layer's input instead of its output. Python: <c>attribute_to_layer_input</c>.</summary>
    public bool AttributeToLayerInput { get; init; }
}

/// <summary>The arguments of <see cref="InternalInfluence.Attribute"/>, with Captum's defaults.</summary>
/// <remarks>Python: the keyword arguments of <c>InternalInfluence.attribute</c>. <c>Progress</c> counts the steps done.</remarks>
public sealed record InternalInfluenceOptions : BaselineAttributionOptions
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

    /// <summary>Attribute to the layer's input instead of its output. Python: <c>attribute_to_layer_input</c>.</summary>
    public bool AttributeToLayerInput { get; init; }
}
