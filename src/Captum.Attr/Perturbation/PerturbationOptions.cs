using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>The arguments every perturbation method shares, with Captum's defaults.</summary>
/// <remarks>
/// Python: the common keyword arguments of the perturbation methods' <c>attribute</c>. <c>Baselines</c> are the
/// values that replace perturbed features (for integer inputs such as token ids, a scalar must be a whole
/// number). <c>Target</c> may be none also when the forward function returns one value for the whole batch.
/// Tensor <c>AdditionalForwardArgs</c> with a batch dimension are repeated along it when several perturbations
/// share one forward pass. <c>Progress</c> counts forward evaluations (Python: <c>show_progress</c>).
/// </remarks>
public abstract record PerturbationOptions : BaselineAttributionOptions
{

    /// <summary>
    /// How many perturbations go into one forward pass (each pass holds at most this many times the batch);
    /// 1 by default. It does not change the result. Must be 1 when the forward function returns one value for
    /// the whole batch. Python: <c>perturbations_per_eval</c>.
    /// </summary>
    public int PerturbationsPerEval { get; init; } = 1;
}

/// <summary>The arguments of <see cref="FeatureAblation.Attribute"/>.</summary>
/// <remarks>Python: the keyword arguments of <c>FeatureAblation.attribute</c>.</remarks>
public sealed record FeatureAblationOptions : PerturbationOptions
{
    /// <summary>
    /// Groups elements into features ablated together; none makes every scalar a feature. With a forward
    /// function that returns one value for the whole batch, every mask's first dimension must be 1.
    /// Python: <c>feature_mask</c>.
    /// </summary>
    public FeatureMask FeatureMask { get; init; }

    /// <summary>
    /// False (default): each input's mask ids are that input's own features (the same id in two inputs names
    /// two features). True: ids are global, so a feature spans every input whose mask uses its id and is
    /// ablated in all of them at once. Python: <c>enable_cross_tensor_attribution</c> (Captum 0.8.0's default
    /// is False; later releases always group across inputs).
    /// </summary>
    public bool EnableCrossTensorAttribution { get; init; }
}

/// <summary>The arguments of <see cref="Occlusion.Attribute"/>.</summary>
/// <remarks>Python: the keyword arguments of <c>Occlusion.attribute</c>.</remarks>
public sealed record OcclusionOptions : PerturbationOptions
{
    /// <summary>
    /// The shape of the occluding patch for each input (one size per dimension after the batch). Required.
    /// Python: <c>sliding_window_shapes</c>.
    /// </summary>
    public required WindowShapes SlidingWindowShapes { get; init; }

    /// <summary>The steps by which the patch moves; 1 in every dimension by default. Python: <c>strides</c>.</summary>
    public WindowStrides Strides { get; init; }
}

/// <summary>The arguments of <see cref="ShapleyValueSampling.Attribute"/>.</summary>
/// <remarks>Python: the keyword arguments of <c>ShapleyValueSampling.attribute</c>.</remarks>
public sealed record ShapleyValueSamplingOptions : PerturbationOptions
{
    /// <summary>
    /// Groups elements into features added together (ids may span inputs); none makes every scalar a feature.
    /// Python: <c>feature_mask</c>.
    /// </summary>
    public FeatureMask FeatureMask { get; init; }

    /// <summary>The number of random feature permutations; 25 by default. Python: <c>n_samples</c>.</summary>
    public int Samples { get; init; } = 25;

    /// <summary>
    /// Seeds a private CPU generator for every random draw of the call (the permutations): the same seed gives the
    /// same result on every call and device. With neither this nor <see cref="Generator"/>, draws come from
    /// TorchSharp's default generator (repeatable after <c>torch.manual_seed</c>, as Captum's are after PyTorch's
    /// seed). Giving both throws an <see cref="ArgumentException"/>.
    /// </summary>
    public long? Seed { get; init; }

    /// <summary>
    /// The caller's generator, to draw every random number of the call from instead; each call advances it, so
    /// successive calls differ (a CPU generator seeded with s gives on its first call what <see cref="Seed"/> = s
    /// gives). Not together with <see cref="Seed"/>.
    /// </summary>
    public Generator? Generator { get; init; }
}

/// <summary>The arguments of <see cref="Lime.Attribute"/> (and, through <see cref="KernelShapOptions"/>, of KernelShap).</summary>
/// <remarks>Python: the keyword arguments of <c>Lime.attribute</c>.</remarks>
public record LimeOptions : PerturbationOptions
{
    /// <summary>
    /// Groups elements into interpretable features switched on and off together (ids may span inputs); none
    /// makes every scalar a feature. Python: <c>feature_mask</c>.
    /// </summary>
    public FeatureMask FeatureMask { get; init; }

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
    /// features in ascending id order. Python: <c>return_input_shape</c>.
    /// </summary>
    public bool ReturnInputShape { get; init; } = true;

    /// <summary>
    /// Seeds a private CPU generator for every random draw of the call (the samples, drawn by the perturbation
    /// function with the generator it is handed): the same seed gives the same result on every call and device.
    /// With neither this nor <see cref="Generator"/>, draws come from TorchSharp's default generator (repeatable
    /// after <c>torch.manual_seed</c>, as Captum's are after PyTorch's seed). Giving both throws an
    /// <see cref="ArgumentException"/>.
    /// </summary>
    public long? Seed { get; init; }

    /// <summary>
    /// The caller's generator, to draw every random number of the call from instead; each call advances it, so
    /// successive calls differ (a CPU generator seeded with s gives on its first call what <see cref="Seed"/> = s
    /// gives). Not together with <see cref="Seed"/>.
    /// </summary>
    public Generator? Generator { get; init; }
}

/// <summary>The arguments of <see cref="KernelShap.Attribute"/>: those of Lime, with the same defaults.</summary>
/// <remarks>Python: the keyword arguments of <c>KernelShap.attribute</c>.</remarks>
public sealed record KernelShapOptions : LimeOptions;
