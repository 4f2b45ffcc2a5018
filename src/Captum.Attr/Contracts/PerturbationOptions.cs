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
    /// How many perturbations go into one forward pass (each pass holds at most this many times the batch). It does
    /// not change the result for a model whose output for an example does not depend on the other rows of its batch.
    /// Must be 1 when the forward function returns one value for the whole batch. Python: <c>perturbations_per_eval</c>
    /// (default 1 there).
    /// </summary>
    /// <remarks>
    /// When not given (null, the default), FeatureAblation and Occlusion choose it, beyond Captum: as many
    /// perturbations as fit their options' <c>MaxMemoryBytes</c> (judged from the memory the unperturbed pass
    /// took), up to <see cref="AutomaticPerturbationRows"/> rows per pass, and only for a model found to compute each
    /// row on its own: the first shared pass also carries the unperturbed inputs, and its first perturbation is
    /// evaluated alone too; if either differs from its value in a pass of its own, the call continues with one
    /// perturbation per pass (that check looks at two rows: give 1 for a model known to mix rows). With one value for the whole batch
    /// they use 1. The sampling methods (ShapleyValueSampling, ShapleyValues, Lime, KernelShap) use 1 when it is not
    /// given, as Captum does.
    /// </remarks>
    public int? PerturbationsPerEval { get; init; }

    /// <summary>
    /// The most rows (perturbations times examples) one pass holds when FeatureAblation or Occlusion choose
    /// PerturbationsPerEval: ResNet-18's time per image stops falling at about this batch on the CPU
    /// (docs/performance.md).
    /// </summary>
    public const int AutomaticPerturbationRows = 32;
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
