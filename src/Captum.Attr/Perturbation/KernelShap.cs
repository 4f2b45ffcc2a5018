using Captum.Forward;
using Captum.Runtime;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// Kernel SHAP (Lundberg and Lee, 2017): LIME with the Shapley kernel, whose surrogate coefficients estimate
/// the features' Shapley values. Samples with k of M features on are drawn with probability proportional to
/// (M - 1) / (k (M - k)) (each k-subset equally likely), which applies the Shapley kernel through the sampling;
/// the surrogate is an unregularised weighted linear regression.
/// </summary>
/// <remarks>
/// <para>Python: <c>captum.attr.KernelShap(forward_func)</c>.</para>
/// <para>
/// As in Captum, the first two samples are all features on and all features off, weighted 1,000,000 (standing
/// in for the kernel's infinite weight, which makes the coefficients sum to F(input) - F(baseline)); every
/// other sample has weight 1. The regression is <see cref="LinearRegressionSurrogate"/> (minimum-norm weighted
/// least squares with an intercept, as scikit-learn's LinearRegression that Captum calls). For a model that is
/// linear in the features the coefficients are exact once the samples determine them. Batches, masks,
/// seeding and cost are as for <see cref="Lime"/>.
/// </para>
/// </remarks>
public sealed class KernelShap : IAttributionMethod<KernelShapOptions>
{
    /// <summary>The weight of the all-on and all-off samples. Python: <c>KernelShap.inf_weight</c>.</summary>
    public const double InfiniteWeight = 1000000.0;

    private readonly ForwardFunction forward;
    private readonly LinearRegressionSurrogate model = new();

    /// <summary>Creates the method for <paramref name="forwardFunc"/>.</summary>
    /// <param name="forwardFunc">The model or function to explain. Python: <c>forward_func</c>.</param>
    public KernelShap(ForwardFunction forwardFunc)
    {
        ArgumentNullException.ThrowIfNull(forwardFunc);
        TorchRuntime.EnsureAvailable();
        forward = forwardFunc;
    }

    /// <summary>False: perturbation methods have no convergence delta. Python: <c>has_convergence_delta()</c>.</summary>
    public bool HasConvergenceDelta => false;

    /// <summary>Estimates every feature's Shapley value with a weighted linear surrogate per example.</summary>
    /// <param name="inputs">One tensor or several, batch first; floating point or integer. They are not modified.</param>
    /// <param name="options">Baselines, target, feature mask, samples, seed and the rest; Captum's defaults when null.</param>
    /// <param name="cancellationToken">Checked before every forward evaluation.</param>
    /// <returns>As <see cref="Lime.Attribute"/>: coefficients spread over the inputs' shapes, or [surrogates, features]; the caller disposes it.</returns>
    /// <exception cref="ArgumentException">An argument does not fit; the message names it and what was expected.</exception>
    public AttributionResult Attribute(Inputs inputs, KernelShapOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new KernelShapOptions();
        options = options with { Baselines = options.Baselines.Resolve(inputs) };
        var tensors = inputs.Tensors;
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var attributions = LimeEngine.Attribute(forward, tensors, options, model, Similarity, Perturb, cancellationToken);
        foreach (var a in attributions)
        {
            a.MoveToOuterDisposeScope();
        }

        return new AttributionResult(attributions, null);
    }

    /// <summary>The Shapley kernel's weight once the sampling has applied it: huge for the end points, 1 otherwise.</summary>
    private static double Similarity(IReadOnlyList<Tensor> original, IReadOnlyList<Tensor> perturbed, Tensor sample)
    {
        var on = sample.sum().item<long>();
        return on == 0 || on == sample.numel() ? InfiniteWeight : 1.0;
    }

    /// <summary>
    /// All on, then all off, then k drawn with p(k) ∝ (M - 1) / (k (M - k)) for 0 &lt; k &lt; M (uniformly in
    /// [0, M] when M &lt; 2) and a uniformly random k-subset switched on; both drawn from <paramref name="generator"/>.
    /// </summary>
    /// <remarks>
    /// Python: <c>KernelShap.kernel_shap_perturb_generator</c>, which draws k from a <c>Categorical</c> and the subset
    /// by thresholding <c>torch.randn</c> at its k-th largest value; here the subset is the first k of a
    /// <c>torch.randperm</c>, which is the same distribution.
    /// </remarks>
    private static Tensor Perturb(IReadOnlyList<Tensor> original, int featureCount, int sampleIndex, Generator generator)
    {
        var values = new long[featureCount];
        if (sampleIndex == 0)
        {
            Array.Fill(values, 1L);
        }
        else if (sampleIndex > 1)
        {
            using var scope = torch.NewDisposeScope();
            long on;
            if (featureCount < 2)
            {
                on = torch.randint(featureCount + 1, [1], ScalarType.Int64, generator.device, generator: generator).item<long>();
            }
            else
            {
                var k = torch.arange(1, featureCount, ScalarType.Float64, generator.device);
                var weights = (featureCount - 1) / (k * (featureCount - k));
                on = 1 + torch.multinomial(weights, 1, replacement: false, generator).item<long>();
            }

            var order = torch.randperm(featureCount, ScalarType.Int64, generator.device, generator: generator).cpu().data<long>();
            for (var j = 0; j < on; j++)
            {
                values[order[j]] = 1;
            }
        }

        return torch.tensor(values, [1, featureCount], ScalarType.Int64);
    }
}

/// <summary>The arguments of <see cref="KernelShap.Attribute"/>: those of Lime, with the same defaults.</summary>
/// <remarks>Python: the keyword arguments of <c>KernelShap.attribute</c>.</remarks>
public sealed record KernelShapOptions : LimeOptions;
