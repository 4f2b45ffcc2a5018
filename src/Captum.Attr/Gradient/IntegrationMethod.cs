namespace Captum.Attr;

/// <summary>How the path integral of Integrated Gradients is approximated.</summary>
/// <remarks>Python: <c>method</c>: "gausslegendre", "riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid".</remarks>
public enum IntegrationMethod
{
    /// <summary>Gauss-Legendre quadrature on [0, 1] (Captum's default): exact for polynomials of degree 2n - 1.</summary>
    GaussLegendre,

    /// <summary>Left Riemann sum: alphas 0, 1/n, ..., 1 - 1/n, weights 1/n.</summary>
    RiemannLeft,

    /// <summary>Right Riemann sum: alphas 1/n, ..., 1, weights 1/n.</summary>
    RiemannRight,

    /// <summary>Midpoint Riemann sum: alphas 1/(2n), ..., 1 - 1/(2n), weights 1/n.</summary>
    RiemannMiddle,

    /// <summary>
    /// Captum's trapezoid rule: alphas evenly from 0 to 1 inclusive, weights 1/n with the first and last
    /// halved (Captum's weights sum to (n - 1) / n, and this port keeps them for parity).
    /// </summary>
    RiemannTrapezoid,

    /// <summary>
    /// Romberg's rule (beyond Captum): the trapezoid rule on 2^k + 1 evenly spaced points, including both ends,
    /// refined by Richardson extrapolation; <c>Steps</c> must be 2, 3, 5, 9, 17, 33, ... Its points are nested, which
    /// is what <see cref="AdaptiveIntegration"/> refines, so adaptive integration with a tolerance of 0 and a ceiling
    /// of 2^k + 1 points gives exactly this rule.
    /// </summary>
    Romberg,
}
