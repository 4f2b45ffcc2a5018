using Captum.Forward;
using Captum.Runtime;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// LIME (Ribeiro et al., 2016): trains an interpretable linear surrogate on the model's outputs at perturbed
/// copies of the input, and attributes to every element its feature's surrogate coefficient. A sample switches
/// each interpretable feature (a feature-mask group, or a scalar) on (kept) or off (set to its baseline).
/// </summary>
/// <remarks>
/// <para>
/// Python: <c>captum.attr.Lime(forward_func, interpretable_model=None, similarity_func=None, perturb_func=None)</c>.
/// Captum's defaults are kept: the surrogate is a Lasso with alpha 0.01 (<see cref="LassoSurrogate"/>, a C#
/// port of the scikit-learn solver Captum calls), samples are weighted by exp(-d² / (2 · 1.0²)) of the cosine
/// distance d between the flattened original and perturbed inputs, and every feature of a sample is on with
/// probability 1/2.
/// </para>
/// <para>
/// A batch: when the forward function returns one value per example, one surrogate is trained per example
/// (Samples samples each); when it returns one scalar for the batch, one surrogate for the whole batch
/// (PerturbationsPerEval must then be 1). Features may span inputs. The perturbation function draws with the
/// generator it is handed: from <c>Seed</c> or <c>Generator</c> (TorchSharp's default generator when neither is
/// given), so seeded runs repeat exactly. Cost: Samples forward evaluations per surrogate, grouped
/// PerturbationsPerEval to a pass, without gradients (plus one to find the output mode for a batch).
/// </para>
/// </remarks>
public sealed class Lime : IAttributionMethod<LimeOptions>
{
    private readonly ForwardFunction forward;
    private readonly ISurrogateModel model;
    private readonly SimilarityFunction similarity;
    private readonly PerturbFunction perturb;

    /// <summary>Creates the method for <paramref name="forwardFunc"/>, with Captum's defaults for what is not given.</summary>
    /// <param name="forwardFunc">The model or function to explain. Python: <c>forward_func</c>.</param>
    /// <param name="interpretableModel">The surrogate; a Lasso with alpha 0.01 by default. Python: <c>interpretable_model</c>.</param>
    /// <param name="similarityFunc">The sample weight; <see cref="ExpKernelSimilarity"/>() by default. Python: <c>similarity_func</c>.</param>
    /// <param name="perturbFunc">The sampler; <see cref="DefaultPerturbation"/> by default. Python: <c>perturb_func</c>.</param>
    public Lime(
        ForwardFunction forwardFunc,
        ISurrogateModel? interpretableModel = null,
        SimilarityFunction? similarityFunc = null,
        PerturbFunction? perturbFunc = null)
    {
        ArgumentNullException.ThrowIfNull(forwardFunc);
        TorchRuntime.EnsureAvailable();
        forward = forwardFunc;
        model = interpretableModel ?? new LassoSurrogate(alpha: 0.01);
        similarity = similarityFunc ?? ExpKernelSimilarity();
        perturb = perturbFunc ?? DefaultPerturbation;
    }

    /// <summary>The surrogate trained for every explanation.</summary>
    public ISurrogateModel InterpretableModel => model;

    /// <summary>
    /// Lime's default sampler: each interpretable feature on (1) or off (0) with probability 1/2, independently.
    /// Python: <c>captum.attr._core.lime.default_perturb_func</c>.
    /// </summary>
    public static PerturbFunction DefaultPerturbation { get; } = LimeBase.Bernoulli;

    /// <summary>
    /// The exponential similarity kernel exp(-d² / (2 · kernelWidth²)), d being the distance between the
    /// original and the perturbed inputs, each flattened and concatenated.
    /// </summary>
    /// <param name="distance">Cosine distance (1 - cosine similarity; the default) or Euclidean distance. Python: <c>distance_mode</c>.</param>
    /// <param name="kernelWidth">The kernel width; 1.0 by default. Python: <c>kernel_width</c>.</param>
    /// <remarks>Python: <c>captum.attr._core.lime.get_exp_kernel_similarity_function</c>.</remarks>
    public static SimilarityFunction ExpKernelSimilarity(LimeDistance distance = LimeDistance.Cosine, double kernelWidth = 1.0) =>
        LimeBase.ExpKernel(distance, kernelWidth);

    /// <summary>False: perturbation methods have no convergence delta. Python: <c>has_convergence_delta()</c>.</summary>
    public bool HasConvergenceDelta => false;

    /// <summary>Explains the explained output with a linear surrogate per example.</summary>
    /// <param name="inputs">One tensor or several, batch first; floating point or integer. They are not modified.</param>
    /// <param name="options">Baselines, target, feature mask, samples, seed and the rest; Captum's defaults when null.</param>
    /// <param name="cancellationToken">Checked before every forward evaluation.</param>
    /// <returns>
    /// One attribution per input, of its shape, each element holding its feature's coefficient (float32, or
    /// float64 for a float64 model); or, with <c>ReturnInputShape</c> false, one tensor [surrogates, features]
    /// of coefficients. The caller disposes it.
    /// </returns>
    /// <exception cref="ArgumentException">An argument does not fit; the message names it and what was expected.</exception>
    public AttributionResult Attribute(Inputs inputs, LimeOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new LimeOptions();
        var tensors = inputs.Tensors;
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var attributions = LimeBase.Attribute(forward, tensors, options, model, similarity, perturb, cancellationToken);
        foreach (var a in attributions)
        {
            a.MoveToOuterDisposeScope();
        }

        return new AttributionResult(attributions, null);
    }
}
