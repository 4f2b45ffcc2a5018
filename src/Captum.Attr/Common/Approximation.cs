namespace Captum.Attr;

/// <summary>Integration points (alphas in [0, 1]) and weights (step sizes) of each <see cref="IntegrationMethod"/>.</summary>
internal static class Approximation
{
    /// <summary>The step sizes and alphas of <paramref name="method"/> for <paramref name="steps"/> points, in Captum's order.</summary>
    public static (double[] StepSizes, double[] Alphas) Parameters(IntegrationMethod method, int steps)
    {
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
    internal static (double[] Nodes, double[] Weights) GaussLegendre(int n)
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
