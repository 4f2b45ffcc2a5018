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
