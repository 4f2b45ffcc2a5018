namespace Captum.Attr;

/// <summary>
/// Adaptive integration (beyond Captum): instead of a fixed number of steps, refine each example separately
/// until its convergence delta is below the tolerance, reusing every gradient already computed. With the default
/// <see cref="Rule"/> (<see cref="AdaptiveRule.Romberg"/>) the path is sampled at 2, 3, 5, 9, 17, ... nested, evenly spaced points (each refinement adds the midpoints) and
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
/// <para>
/// With <see cref="Rule"/> = <see cref="AdaptiveRule.GaussKronrod"/> the path interval [0, 1] of each example is
/// instead subdivided adaptively (see <see cref="AdaptiveRule.GaussKronrod"/>): it isolates the kinks of a
/// piecewise-linear (ReLU) integrand in small intervals instead of assuming smoothness as Romberg's extrapolation
/// does (docs/performance.md has the measurements).
/// </para>
/// <para>
/// Python: Captum has no such option; <c>IntegratedGradients.attribute</c> always uses a fixed <c>n_steps</c>.
/// </para>
/// </remarks>
public sealed record AdaptiveIntegration
{
    /// <summary>
    /// Refinement stops once the error measure of <see cref="Rule"/> (for both rules |delta| and an L1 measure of the
    /// feature attributions' error) is below this (absolute), or below this fraction of |F(input) - F(baseline)| when
    /// <see cref="Relative"/>; default 1e-4.
    /// </summary>
    public double Tolerance { get; init; } = 1e-4;

    /// <summary>Whether <see cref="Tolerance"/> is relative to |F(input) - F(baseline)| per example.</summary>
    public bool Relative { get; init; }

    /// <summary>The ceiling on integration points per example (at least 2); default 257.</summary>
    public int MaxSteps { get; init; } = 257;

    /// <summary>
    /// The refinement rule; default <see cref="AdaptiveRule.Romberg"/> (nested evenly spaced points). With
    /// <see cref="AdaptiveRule.GaussKronrod"/>, <see cref="MaxSteps"/> must be at least 16 (one Kronrod rule and the path's start).
    /// </summary>
    public AdaptiveRule Rule { get; init; } = AdaptiveRule.Romberg;
}

/// <summary>How <see cref="AdaptiveIntegration"/> refines the path integral of each example (beyond Captum).</summary>
public enum AdaptiveRule
{
    /// <summary>
    /// Nested evenly spaced points (2, 3, 5, 9, 17, ...) with Romberg extrapolation; stops when |delta| and the summed
    /// change of the feature attributions since the previous refinement are below the tolerance. Best on smooth models.
    /// </summary>
    Romberg,

    /// <summary>
    /// Globally adaptive Gauss-Kronrod subdivision (the idea of QUADPACK's QAG): each example starts with the
    /// 15-point Kronrod rule on [0, 1] and its embedded 7-point Gauss rule. An interval's error estimate is the L1 norm
    /// over the example's features of (Kronrod - Gauss) times (input - baseline), i.e. of the attribution difference,
    /// plus the absolute value of the interval's share of the completeness gap (its Kronrod attributions' sum minus the
    /// output's change over the interval), which sees what falls between the nodes, such as a kink near an end.
    /// The interval with the largest estimate is bisected until the summed estimate (which bounds |delta|) is below the
    /// tolerance, or the next bisection would pass <see cref="AdaptiveIntegration.MaxSteps"/>. The result is the sum of
    /// the intervals' Kronrod estimates. Gradient points per example: 16 in the first round (the 15 nodes and the path's
    /// start, whose output is needed) plus 31 per bisection (15 nodes on each half, none of them the parent's, and the
    /// midpoint): 16 + 31 * bisections. Kinks of a ReLU model's integrand end up in small intervals while stretches
    /// where it is smooth converge at once.
    /// </summary>
    GaussKronrod,
}
