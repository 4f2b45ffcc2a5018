namespace Captum.Attr;

/// <summary>The arguments of <see cref="IntegratedGradients.Attribute"/>, with Captum's defaults.</summary>
/// <remarks>
/// Python: the keyword arguments of <c>IntegratedGradients.attribute</c>. <c>Baselines</c>, <c>Target</c> and
/// <c>AdditionalForwardArgs</c> come from <see cref="BaselineAttributionOptions"/>; tensors of the additional
/// arguments with a batch dimension are repeated along it for every integration step.
/// </remarks>
public record IntegratedGradientsOptions : BaselineAttributionOptions
{
    /// <summary>The number of integration points; 50 by default. Python: <c>n_steps</c>.</summary>
    public int Steps { get; init; } = 50;

    /// <summary>The integration rule; Gauss-Legendre by default. Python: <c>method</c>.</summary>
    public IntegrationMethod Method { get; init; } = IntegrationMethod.GaussLegendre;

    /// <summary>
    /// At most this many expanded examples (steps times batch) per forward and backward pass; null runs
    /// every step in one pass. At least one step is always taken per pass. It does not change the result.
    /// Python: <c>internal_batch_size</c>.
    /// </summary>
    public int? InternalBatchSize { get; init; }

    /// <summary>Also compute the convergence delta per example. Python: <c>return_convergence_delta</c>.</summary>
    public bool ReturnConvergenceDelta { get; init; }

    /// <summary>Receives the number of steps done after every internal batch.</summary>
    public IProgress<AttributionProgress>? Progress { get; init; }
}

/// <summary>The arguments of <see cref="LayerIntegratedGradients.Attribute"/>.</summary>
/// <remarks>Python: the keyword arguments of <c>LayerIntegratedGradients.attribute</c>.</remarks>
public sealed record LayerIntegratedGradientsOptions : IntegratedGradientsOptions
{
    /// <summary>
    /// Attribute to the layers' inputs instead of their outputs. Python: <c>attribute_to_layer_input</c>.
    /// </summary>
    public bool AttributeToLayerInput { get; init; }
}
