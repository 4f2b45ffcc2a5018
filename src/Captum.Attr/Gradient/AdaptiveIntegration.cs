namespace Captum.Attr;

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
