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
/// Captum's defaults are kept: the surrogate is a Lasso with alpha 0.01 (<see cref="LassoSurrogate"/>: cyclic
/// coordinate descent on the objective of the scikit-learn Lasso Captum calls), samples are weighted by exp(-d² / (2 · 1.0²)) of the cosine
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
    public static PerturbFunction DefaultPerturbation { get; } = LimeEngine.Bernoulli;

    /// <summary>
    /// The exponential similarity kernel exp(-d² / (2 · kernelWidth²)), d being the distance between the
    /// original and the perturbed inputs, each flattened and concatenated.
    /// </summary>
    /// <param name="distance">Cosine distance (1 - cosine similarity; the default) or Euclidean distance. Python: <c>distance_mode</c>.</param>
    /// <param name="kernelWidth">The kernel width; 1.0 by default. Python: <c>kernel_width</c>.</param>
    /// <remarks>Python: <c>captum.attr._core.lime.get_exp_kernel_similarity_function</c>.</remarks>
    public static SimilarityFunction ExpKernelSimilarity(LimeDistance distance = LimeDistance.Cosine, double kernelWidth = 1.0) =>
        LimeEngine.ExpKernel(distance, kernelWidth);

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
        options = options with { Baselines = options.Baselines.Resolve(inputs) };
        var tensors = inputs.Tensors;
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var attributions = LimeEngine.Attribute(forward, tensors, options, model, similarity, perturb, cancellationToken);
        foreach (var a in attributions)
        {
            a.MoveToOuterDisposeScope();
        }

        return new AttributionResult(attributions, null);
    }
}

/// <summary>The arguments of <see cref="Lime.Attribute"/> (and, through <see cref="KernelShapOptions"/>, of KernelShap).</summary>
/// <remarks>
/// Python: the keyword arguments of <c>Lime.attribute</c>. <see cref="MaskedPerturbationOptions.FeatureMask"/> here: groups elements into interpretable features switched on and off together (ids may span inputs); none makes every scalar a feature.
/// </remarks>
public record LimeOptions : MaskedPerturbationOptions, IRandomSourceOptions
{
    /// <summary>
    /// The number of perturbed samples the surrogate is trained on; 25 by default (per example when the
    /// forward function returns one value per example). Python: <c>n_samples</c>.
    /// </summary>
    /// <remarks>
    /// Captum's <c>Lime.attribute</c> and <c>KernelShap.attribute</c> declare <c>n_samples=25</c>; their docstrings
    /// say 50, but 25 is what runs when the argument is omitted, and what this default reproduces.
    /// </remarks>
    public int Samples { get; init; } = 25;

    /// <summary>
    /// True (default) to return attributions of the inputs' shapes, each element holding its feature's
    /// coefficient; false for one tensor of shape [models, features] holding the coefficients of each trained
    /// surrogate (one model per example, or one for a forward function that returns one value per batch),
    /// features in ascending id order, one column per id the masks use. Captum expects consecutive ids: it shifts them
    /// to start at 0 and gives max - min + 1 columns, so for ids with gaps (0 and 5) its matrix also has a column for
    /// every unused id between them (drawn and fitted too), where this one has only the used ids'.
    /// Python: <c>return_input_shape</c>.
    /// </summary>
    public bool ReturnInputShape { get; init; } = true;

    /// <summary>
    /// Seeds a private CPU generator for every random draw of the call (the samples, drawn by the perturbation
    /// function with the generator it is handed): the same seed gives the same result on every call and device.
    /// With neither this nor <see cref="Generator"/>, draws come from TorchSharp's default generator (repeatable
    /// after <c>torch.manual_seed</c>, as Captum's are after PyTorch's seed). Giving both throws an
    /// <see cref="ArgumentException"/>. Beyond Captum.
    /// </summary>
    public long? Seed { get; init; }

    /// <summary>
    /// The caller's generator, to draw every random number of the call from instead; each call advances it, so
    /// successive calls differ (a CPU generator seeded with s gives on its first call what <see cref="Seed"/> = s
    /// gives). Not together with <see cref="Seed"/>. Beyond Captum.
    /// </summary>
    public Generator? Generator { get; init; }

    /// <inheritdoc />
    AttributionOptions IRandomSourceOptions.WithGenerator(Generator generator) => this with { Seed = null, Generator = generator };
}
