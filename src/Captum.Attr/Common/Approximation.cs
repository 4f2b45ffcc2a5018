namespace Captum.Attr;

/// <summary>Integration points (alphas in [0, 1]) and weights (step sizes) of each <see cref="IntegrationMethod"/>.</summary>
internal static class Approximation
{
    /// <summary>The step sizes and alphas of <paramref name="method"/> for <paramref name="steps"/> points, in Captum's order.</summary>
    public static (double[] StepSizes, double[] Alphas) Parameters(IntegrationMethod method, int steps)
    {
        // The methods check their Steps against MaxSteps first (ArgumentPreparation.Steps) in the user's terms; this
        // guard only keeps the arrays below bounded. LayerConductance asks for Steps + 1 points, as Captum.
        if (steps > IntegratedGradientsOptions.MaxSteps + 1)
        {
            throw new ArgumentException($"Steps must be at most {IntegratedGradientsOptions.MaxSteps} (IntegratedGradientsOptions.MaxSteps), got {steps}.", "Steps");
        }

        if (method == IntegrationMethod.GaussLegendre)
        {
            if (steps < 1)
            {
                throw new ArgumentException($"Steps must be at least 1, got {steps}.", "Steps");
            }

            var (nodes, weights) = GaussLegendre(steps);
            return (weights.Select(w => 0.5 * w).ToArray(), nodes.Select(x => 0.5 * (1 + x)).ToArray());
        }

        if (method == IntegrationMethod.Romberg)
        {
            return Romberg(steps);
        }

        if (steps < 2)
        {
            throw new ArgumentException($"Steps must be at least 2 for the Riemann methods ({method}), got {steps}.", "Steps");
        }

        var sizes = Enumerable.Repeat(1.0 / steps, steps).ToArray();
        double first, last;
        switch (method)
        {
            case IntegrationMethod.RiemannTrapezoid:
                sizes[0] /= 2;
                sizes[^1] /= 2;
                (first, last) = (0, 1);
                break;
            case IntegrationMethod.RiemannLeft:
                (first, last) = (0, 1 - (1.0 / steps));
                break;
            case IntegrationMethod.RiemannMiddle:
                (first, last) = (1.0 / (2 * steps), 1 - (1.0 / (2 * steps)));
                break;
            case IntegrationMethod.RiemannRight:
                (first, last) = (1.0 / steps, 1);
                break;
            default:
                throw new ArgumentException($"Unknown integration method {method}.", "Method");
        }

        return (sizes, Linspace(first, last, steps));
    }

    /// <summary>The Romberg level k of a rule with 2^k + 1 points, or -1 when <paramref name="steps"/> is not of that form.</summary>
    internal static int RombergLevel(int steps)
    {
        if (steps < 2 || !int.IsPow2(steps - 1))
        {
            return -1;
        }

        return System.Numerics.BitOperations.Log2((uint)(steps - 1));
    }

    /// <summary>
    /// Romberg's rule on 2^k + 1 evenly spaced points: the weights of R(k, k), the trapezoid estimates T_0..T_k
    /// (step 2^-j on the same grid) combined by Richardson extrapolation R(j, i) = R(j, i-1) + (R(j, i-1) - R(j-1, i-1)) / (4^i - 1).
    /// </summary>
    internal static (double[] StepSizes, double[] Alphas) Romberg(int steps)
    {
        var k = RombergLevel(steps);
        if (k < 0)
        {
            throw new ArgumentException($"Steps must be 2^k + 1 (2, 3, 5, 9, 17, 33, 65, ...) for the Romberg rule, got {steps}.", "Steps");
        }

        var points = steps;
        var rows = new double[k + 1][][];
        for (var j = 0; j <= k; j++)
        {
            // T_j uses every 2^(k-j)-th point with spacing 2^-j, the two ends halved.
            var t = new double[points];
            var stride = 1 << (k - j);
            var h = 1.0 / (1 << j);
            for (var p = 0; p < points; p += stride)
            {
                t[p] = (p == 0 || p == points - 1) ? h / 2 : h;
            }

            rows[j] = new double[j + 1][];
            rows[j][0] = t;
            for (var i = 1; i <= j; i++)
            {
                var factor = Math.Pow(4, i) - 1;
                var current = rows[j][i - 1];
                var previous = rows[j - 1][i - 1];
                rows[j][i] = current.Select((w, p) => w + ((w - previous[p]) / factor)).ToArray();
            }
        }

        return (rows[k][k], Linspace(0, 1, points));
    }

    /// <summary>Evenly spaced points as numpy.linspace computes them (start + i * step, the last one exact).</summary>
    internal static double[] Linspace(double start, double stop, int count)
    {
        var result = new double[count];
        var step = (stop - start) / (count - 1);
        for (var i = 0; i < count; i++)
        {
            result[i] = start + (i * step);
        }

        result[^1] = stop;
        return result;
    }

    /// <summary>
    /// Gauss-Legendre nodes on [-1, 1] in ascending order and their weights, by Newton's method on the
    /// Legendre polynomial from Chebyshev starting points, to double precision.
    /// </summary>
    internal static (double[] Nodes, double[] Weights) GaussLegendre(int n) =>
        n > AsymptoticAbove ? GaussLegendreAsymptotic(n) : GaussLegendreNewton(n);

    /// <summary>Rules with more points than this use the interior asymptotic expansion (<see cref="GaussLegendreAsymptotic"/>).</summary>
    internal const int AsymptoticAbove = 100;

    /// <summary>Newton's method on the three-term recurrence for every node: O(n^2), the rule for up to <see cref="AsymptoticAbove"/> points.</summary>
    internal static (double[] Nodes, double[] Weights) GaussLegendreNewton(int n)
    {
        var nodes = new double[n];
        var weights = new double[n];
        for (var i = 0; i < (n + 1) / 2; i++)
        {
            var x = Math.Cos(Math.PI * (i + 0.75) / (n + 0.5));
            double derivative = 0;
            for (var iteration = 0; iteration < 100; iteration++)
            {
                (var p, derivative) = Legendre(n, x);
                var dx = p / derivative;
                x -= dx;
                if (Math.Abs(dx) < 1e-16)
                {
                    break;
                }
            }

            (_, derivative) = Legendre(n, x);
            var w = 2.0 / ((1 - (x * x)) * derivative * derivative);
            nodes[i] = -x;
            nodes[n - 1 - i] = x;
            weights[i] = w;
            weights[n - 1 - i] = w;
        }

        if (n % 2 == 1)
        {
            nodes[n / 2] = 0;
        }

        return (nodes, weights);
    }

    /// <summary>
    /// Gauss-Legendre nodes and weights in O(n), as Hale and Townsend (2013) compute them: in θ (x = cos θ), Newton's
    /// method on the Stieltjes asymptotic expansion of P_n(cos θ) for the interior nodes, where n sin θ is at least 30
    /// and 20 terms leave an error far below double precision, and on the three-term recurrence for the few nodes
    /// near ±1. The weights are 2 / (dP_n/dθ)^2, the interior ones rescaled so that all of them sum to 2, as numpy's
    /// <c>leggauss</c> (Captum's rule) normalises its own. 20,000 points take milliseconds where the recurrence alone
    /// takes seconds.
    /// </summary>
    internal static (double[] Nodes, double[] Weights) GaussLegendreAsymptotic(int n)
    {
        var nodes = new double[n];
        var weights = new double[n];
        // The expansion's constant C_n = sqrt(4/π) Γ(n+1) / Γ(n+3/2) = (4/π) Π_{j=1..n} j / (j + 1/2).
        var c = 4 / Math.PI;
        for (var j = 1; j <= n; j++)
        {
            c *= j / (j + 0.5);
        }

        double boundarySum = 0, interiorSum = 0;
        var interior = new bool[(n + 1) / 2];
        for (var i = 0; i < (n + 1) / 2; i++)
        {
            var theta = Math.PI * (i + 0.75) / (n + 0.5);
            double x, w;
            if (n * Math.Sin(theta) < 30)
            {
                x = Math.Cos(theta);
                for (var iteration = 0; iteration < 100; iteration++)
                {
                    var (p, derivative) = Legendre(n, x);
                    var dx = p / derivative;
                    x -= dx;
                    if (Math.Abs(dx) < 1e-15)
                    {
                        break;
                    }
                }

                var (_, d) = Legendre(n, x);
                w = 2.0 / ((1 - (x * x)) * d * d);
                boundarySum += i == n - 1 - i ? w : 2 * w;
            }
            else
            {
                for (var iteration = 0; iteration < 20; iteration++)
                {
                    var (p, dp) = LegendreAsymptotic(n, theta, c);
                    var step = p / dp;
                    theta -= step;
                    if (Math.Abs(step) < 1e-15)
                    {
                        break;
                    }
                }

                var (_, dTheta) = LegendreAsymptotic(n, theta, c);
                x = Math.Cos(theta);
                w = 2.0 / (dTheta * dTheta);
                interior[i] = true;
                interiorSum += i == n - 1 - i ? w : 2 * w;
            }

            nodes[i] = -x;
            nodes[n - 1 - i] = x;
            weights[i] = w;
            weights[n - 1 - i] = w;
        }

        var scale = interiorSum > 0 ? (2 - boundarySum) / interiorSum : 1;
        for (var i = 0; i < interior.Length; i++)
        {
            if (interior[i])
            {
                weights[i] *= scale;
                weights[n - 1 - i] = weights[i];
            }
        }

        if (n % 2 == 1)
        {
            nodes[n / 2] = 0;
        }

        return (nodes, weights);
    }

    /// <summary>
    /// P_n(cos θ) and its derivative in θ by the first 20 terms of the expansion
    /// C_n Σ_m h_m cos α_m / (2 sin θ)^(m+1/2), α_m = (n + m + 1/2) θ - (m + 1/2) π / 2,
    /// h_0 = 1, h_m = h_(m-1) (m - 1/2)^2 / (m (n + m + 1/2)); α_m advances by θ - π/2 from term to term.
    /// </summary>
    internal static (double Value, double Derivative) LegendreAsymptotic(int n, double theta, double c)
    {
        var sin = Math.Sin(theta);
        var cos = Math.Cos(theta);
        var alpha = ((n + 0.5) * theta) - (Math.PI / 4);
        double ca = Math.Cos(alpha), sa = Math.Sin(alpha);
        var twoSin = 2 * sin;
        var power = 1 / Math.Sqrt(twoSin); // (2 sin θ)^-(m + 1/2)
        double h = 1, value = 0, derivative = 0;
        for (var m = 0; m < 20; m++)
        {
            value += h * ca * power;
            derivative -= h * power * (((n + m + 0.5) * sa) + ((m + 0.5) * 2 * cos * ca / twoSin));
            // Rotate α by θ - π/2: cos(θ - π/2) = sin θ, sin(θ - π/2) = -cos θ.
            (ca, sa) = ((ca * sin) + (sa * cos), (sa * sin) - (ca * cos));
            h *= (m + 0.5) * (m + 0.5) / ((m + 1) * (n + m + 1.5));
            power /= twoSin;
        }

        return (c * value, c * derivative);
    }

    private static (double Value, double Derivative) Legendre(int n, double x)
    {
        double previous = 1, current = x;
        if (n == 0)
        {
            return (1, 0);
        }

        for (var k = 2; k <= n; k++)
        {
            var next = (((2 * k) - 1) * x * current - ((k - 1) * previous)) / k;
            previous = current;
            current = next;
        }

        var derivative = n * ((x * current) - previous) / ((x * x) - 1);
        return (current, derivative);
    }
}
