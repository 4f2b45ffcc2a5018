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

    /// <summary>
    /// A memory budget in bytes for one forward and backward pass (beyond Captum). When set and
    /// <see cref="InternalBatchSize"/> is null, one probing step measures the memory a step needs and the largest
    /// internal batch that fits is used; the result's <c>InternalBatchSize</c> says which. On a GPU, or where the
    /// process's memory cannot be read, it takes one step per pass.
    /// </summary>
    public long? MaxMemoryBytes { get; init; }

    /// <summary>Also compute the convergence delta per example. Python: <c>return_convergence_delta</c>.</summary>
    public bool ReturnConvergenceDelta { get; init; }

    /// <summary>
    /// Refine each example until its convergence delta is within tolerance instead of using <see cref="Steps"/>
    /// and <see cref="Method"/> (which are then ignored); null (default) for Captum's fixed rule.
    /// </summary>
    public AdaptiveIntegration? Adaptive { get; init; }
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

/// <summary>
/// Adaptive integration (beyond Captum): instead of a fixed number of steps, refine each example separately
/// until its convergence delta is below the tolerance, reusing every gradient already computed. The path is
/// sampled at 2, 3, 5, 9, 17, ... nested, evenly spaced points (each refinement adds the midpoints) and
/// integrated with Romberg's rule (<see cref="IntegrationMethod.Romberg"/>). From 5 points on, an example stops as
/// soon as both |delta| and the summed change of its feature attributions since the previous refinement are below
/// the tolerance (so errors of opposite sign cannot hide in the delta; a tolerance of 0 always refines to the
/// ceiling), or when the next refinement would pass <see cref="MaxSteps"/>.
/// </summary>
/// <remarks>
/// With a tolerance of 0 and a ceiling of 2^k + 1 points, the result is exactly the fixed Romberg rule with
/// 2^k + 1 steps. The points each example used are in the result's <c>StepsPerExample</c>. Cost: per example,
/// its points' forward and backward passes, plus two forward passes for F(input) and F(baseline) (for Layer Integrated
/// Gradients, the passes that read the layers there).
/// </remarks>
public sealed record AdaptiveIntegration
{
    /// <summary>Refinement stops once |delta| is below this (absolute), or below this fraction of |F(input) - F(baseline)| when <see cref="Relative"/>; default 1e-4.</summary>
    public double Tolerance { get; init; } = 1e-4;

    /// <summary>Whether <see cref="Tolerance"/> is relative to |F(input) - F(baseline)| per example.</summary>
    public bool Relative { get; init; }

    /// <summary>The ceiling on integration points per example (at least 2); default 257.</summary>
    public int MaxSteps { get; init; } = 257;
}
