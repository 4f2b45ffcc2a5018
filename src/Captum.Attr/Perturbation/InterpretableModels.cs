using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>A trained linear surrogate: output ≈ Intercept + Σ Coefficients[j] * feature j.</summary>
/// <param name="Coefficients">One coefficient per interpretable feature.</param>
/// <param name="Intercept">The constant term.</param>
public sealed record LinearSurrogate(IReadOnlyList<double> Coefficients, double Intercept);

/// <summary>
/// Trains the interpretable surrogate of <see cref="Lime"/>: a linear model fitted to the model's outputs on
/// perturbed samples, each weighted by its similarity to the original input.
/// </summary>
/// <remarks>
/// Python: the <c>interpretable_model</c> argument of <c>Lime</c> (a <c>captum._utils.models.Model</c> whose
/// <c>fit</c> receives the samples and whose <c>representation</c> gives the coefficients).
/// </remarks>
public interface ISurrogateModel
{
    /// <summary>Fits the surrogate and returns its coefficients.</summary>
    /// <param name="interpretableInputs">The samples in the interpretable space: [samples, features], typically 0 or 1.</param>
    /// <param name="outputs">The model's output on each sample.</param>
    /// <param name="weights">Each sample's weight (non-negative).</param>
    LinearSurrogate Fit(double[,] interpretableInputs, double[] outputs, double[] weights);
}

/// <summary>
/// Weighted Lasso regression with an intercept, solved by cyclic coordinate descent in double precision:
/// minimises (1 / (2 Σw)) Σ w_i (y_i - b - x_i·β)² + Alpha ‖β‖₁. Lime's default surrogate.
/// </summary>
/// <remarks>
/// Python: <c>captum._utils.models.SkLearnLasso(alpha=0.01)</c>, which fits <c>sklearn.linear_model.Lasso</c>
/// with the samples' weights. scikit-learn is not available to .NET, so this is a port of the same objective
/// and algorithm: the weights are rescaled to sum to the number of samples, the data centred on their weighted
/// means (the intercept is fitted, not penalised), the coefficients updated cyclically by soft-thresholding,
/// and iteration stops once the largest update is below Tolerance times the largest coefficient and the
/// duality gap is below Tolerance times the weighted sum of squares of the centred outputs, or after
/// MaxIterations sweeps (scikit-learn's defaults: 1e-4 and 1000). The optimum is unique up to ties between
/// identical features, so results agree with scikit-learn's to the solver tolerance.
/// </remarks>
public sealed class LassoSurrogate : ISurrogateModel
{
    /// <summary>Creates the surrogate.</summary>
    /// <param name="alpha">The L1 penalty; Captum's Lime uses 0.01. Python: <c>alpha</c>.</param>
    /// <param name="maxIterations">The most coordinate-descent sweeps. Python: <c>max_iter</c>.</param>
    /// <param name="tolerance">The stopping tolerance. Python: <c>tol</c>.</param>
    public LassoSurrogate(double alpha = 0.01, int maxIterations = 1000, double tolerance = 1e-4)
    {
        if (!(alpha >= 0) || double.IsInfinity(alpha))
        {
            throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "alpha must be a finite number of at least 0.");
        }

        if (maxIterations < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(maxIterations), maxIterations, "maxIterations must be at least 1.");
        }

        if (!(tolerance > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(tolerance), tolerance, "tolerance must be positive.");
        }

        Alpha = alpha;
        MaxIterations = maxIterations;
        Tolerance = tolerance;
    }

    /// <summary>The L1 penalty.</summary>
    public double Alpha { get; }

    /// <summary>The most coordinate-descent sweeps.</summary>
    public int MaxIterations { get; }

    /// <summary>The stopping tolerance.</summary>
    public double Tolerance { get; }

    /// <inheritdoc />
    public LinearSurrogate Fit(double[,] interpretableInputs, double[] outputs, double[] weights)
    {
        var (x, y, xMean, yMean) = Surrogates.CenterAndScale(interpretableInputs, outputs, weights, normalise: true);
        var samples = y.Length;
        var features = xMean.Length;
        var beta = new double[features];
        var residual = (double[])y.Clone();
        var columnNorms = new double[features];
        for (var j = 0; j < features; j++)
        {
            for (var i = 0; i < samples; i++)
            {
                columnNorms[j] += x[i, j] * x[i, j];
            }
        }

        var penalty = Alpha * samples;
        var tolerance = Tolerance * Dot(y, y);
        for (var iteration = 0; iteration < MaxIterations; iteration++)
        {
            double largestUpdate = 0, largestCoefficient = 0;
            for (var j = 0; j < features; j++)
            {
                if (columnNorms[j] == 0)
                {
                    continue;
                }

                var old = beta[j];
                var rho = 0.0;
                for (var i = 0; i < samples; i++)
                {
                    rho += x[i, j] * (residual[i] + (x[i, j] * old));
                }

                var updated = Math.Sign(rho) * Math.Max(Math.Abs(rho) - penalty, 0) / columnNorms[j];
                if (updated != old)
                {
                    for (var i = 0; i < samples; i++)
                    {
                        residual[i] -= x[i, j] * (updated - old);
                    }

                    beta[j] = updated;
                }

                largestUpdate = Math.Max(largestUpdate, Math.Abs(updated - old));
                largestCoefficient = Math.Max(largestCoefficient, Math.Abs(updated));
            }

            if (largestCoefficient == 0 || largestUpdate / largestCoefficient < Tolerance || iteration == MaxIterations - 1)
            {
                if (DualityGap(x, y, residual, beta, penalty) <= tolerance)
                {
                    break;
                }
            }
        }

        return new LinearSurrogate(beta, Surrogates.Intercept(beta, xMean, yMean));
    }

    /// <summary>The Lasso duality gap at <paramref name="beta"/> (scikit-learn's stopping criterion).</summary>
    private static double DualityGap(double[,] x, double[] y, double[] residual, double[] beta, double penalty)
    {
        var samples = y.Length;
        var features = beta.Length;
        var dualNorm = 0.0;
        for (var j = 0; j < features; j++)
        {
            var xtr = 0.0;
            for (var i = 0; i < samples; i++)
            {
                xtr += x[i, j] * residual[i];
            }

            dualNorm = Math.Max(dualNorm, Math.Abs(xtr));
        }

        var residualNorm2 = Dot(residual, residual);
        double scale, gap;
        if (dualNorm > penalty)
        {
            scale = penalty / dualNorm;
            gap = 0.5 * (residualNorm2 + (residualNorm2 * scale * scale));
        }
        else
        {
            scale = 1;
            gap = residualNorm2;
        }

        return gap + (penalty * beta.Sum(Math.Abs)) - (scale * Dot(residual, y));
    }

    private static double Dot(double[] a, double[] b)
    {
        var sum = 0.0;
        for (var i = 0; i < a.Length; i++)
        {
            sum += a[i] * b[i];
        }

        return sum;
    }
}

/// <summary>
/// Weighted ordinary least squares with an intercept: minimises Σ w_i (y_i - b - x_i·β)². Where the samples do
/// not determine β (fewer distinct samples than features, or features that always move together) the
/// minimum-norm solution is taken. KernelShap's surrogate.
/// </summary>
/// <remarks>
/// Python: <c>captum._utils.models.SkLearnLinearRegression()</c>, i.e. <c>sklearn.linear_model.LinearRegression</c>
/// with sample weights, which centres the data on their weighted means, scales the rows by √w and solves with
/// LAPACK's least squares (minimum norm). Here the same centred, scaled system is solved with libtorch's
/// SVD-based pseudo-inverse in float64 on the CPU.
/// </remarks>
public sealed class LinearRegressionSurrogate : ISurrogateModel
{
    /// <inheritdoc />
    public LinearSurrogate Fit(double[,] interpretableInputs, double[] outputs, double[] weights)
    {
        var (x, y, xMean, yMean) = Surrogates.CenterAndScale(interpretableInputs, outputs, weights, normalise: false);
        var samples = y.Length;
        var features = xMean.Length;
        var beta = new double[features];
        if (features > 0 && samples > 0)
        {
            using var scope = torch.NewDisposeScope();
            var flat = new double[samples * features];
            Buffer.BlockCopy(x, 0, flat, 0, flat.Length * sizeof(double));
            var a = torch.tensor(flat, [samples, features], ScalarType.Float64);
            var b = torch.tensor(y, [samples, 1], ScalarType.Float64);
            var solution = torch.linalg.pinv(a).matmul(b).reshape(-1);
            beta = solution.data<double>().ToArray();
        }

        return new LinearSurrogate(beta, Surrogates.Intercept(beta, xMean, yMean));
    }
}

/// <summary>Data preparation shared by the surrogates.</summary>
internal static class Surrogates
{
    /// <summary>
    /// Checks the data, centres inputs and outputs on their weighted means and scales each row by the square
    /// root of its weight (weights first rescaled to sum to the number of samples when <paramref name="normalise"/>).
    /// </summary>
    public static (double[,] X, double[] Y, double[] XMean, double YMean) CenterAndScale(double[,] inputs, double[] outputs, double[] weights, bool normalise)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(outputs);
        ArgumentNullException.ThrowIfNull(weights);
        var samples = inputs.GetLength(0);
        var features = inputs.GetLength(1);
        if (outputs.Length != samples || weights.Length != samples)
        {
            throw new ArgumentException($"{samples} samples but {outputs.Length} outputs and {weights.Length} weights.", nameof(outputs));
        }

        if (weights.Any(w => !(w >= 0) || double.IsInfinity(w)) || (samples > 0 && weights.Sum() <= 0))
        {
            throw new ArgumentException("weights must be finite, non-negative and not all zero.", nameof(weights));
        }

        var total = weights.Sum();
        var w = normalise ? weights.Select(v => v * samples / total).ToArray() : (double[])weights.Clone();
        var weightSum = normalise ? samples : total;
        var xMean = new double[features];
        var yMean = 0.0;
        for (var i = 0; i < samples; i++)
        {
            yMean += w[i] * outputs[i];
            for (var j = 0; j < features; j++)
            {
                xMean[j] += w[i] * inputs[i, j];
            }
        }

        if (samples > 0)
        {
            yMean /= weightSum;
            for (var j = 0; j < features; j++)
            {
                xMean[j] /= weightSum;
            }
        }

        var x = new double[samples, features];
        var y = new double[samples];
        for (var i = 0; i < samples; i++)
        {
            var root = Math.Sqrt(w[i]);
            y[i] = (outputs[i] - yMean) * root;
            for (var j = 0; j < features; j++)
            {
                x[i, j] = (inputs[i, j] - xMean[j]) * root;
            }
        }

        return (x, y, xMean, yMean);
    }

    /// <summary>The intercept that goes with centred coefficients: mean(y) - mean(x)·β.</summary>
    public static double Intercept(double[] beta, double[] xMean, double yMean)
    {
        var intercept = yMean;
        for (var j = 0; j < beta.Length; j++)
        {
            intercept -= xMean[j] * beta[j];
        }

        return intercept;
    }
}
