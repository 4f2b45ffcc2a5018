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

/// <summary>
/// The arguments of the perturbation methods that perturb groups of elements (features) chosen by a feature mask:
/// FeatureAblation, ShapleyValueSampling, ShapleyValues, Lime and KernelShap.
/// </summary>
public abstract record MaskedPerturbationOptions : PerturbationOptions, IFeatureMaskOptions
{
    /// <summary>
    /// Groups elements into features perturbed together; none makes every scalar a feature. Each method's options
    /// say whether ids are per input or span inputs. Masks with one row per example are repeated with the
    /// examples when a wrapper such as <see cref="NoiseTunnel{TOptions}"/> expands them. Python: <c>feature_mask</c>.
    /// </summary>
    public FeatureMask FeatureMask { get; init; }

    AttributionOptions IFeatureMaskOptions.WithFeatureMask(FeatureMask featureMask) => this with { FeatureMask = featureMask };
}
