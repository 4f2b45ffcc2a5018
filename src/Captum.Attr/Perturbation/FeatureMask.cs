using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// Groups input elements into features that a perturbation method perturbs together: one integer tensor per
/// input, each of the input's shape or broadcastable to it (first dimension 1 for all examples, or one row per
/// example). Elements with the same value form one feature. None (the default) makes every scalar of every
/// input its own feature. Converts implicitly from a tensor (one input) or a tensor array (one per input).
/// </summary>
/// <remarks>
/// <para>
/// Python: <c>feature_mask</c>. Whether an id used in two inputs' masks is one feature spanning both depends
/// on the method, as in Captum: ShapleyValueSampling, Lime and KernelShap always group ids across inputs;
/// FeatureAblation does so with <c>EnableCrossTensorAttribution</c> and otherwise treats each input's ids
/// as its own features.
/// </para>
/// <para>
/// Ids need not start at 0 or be contiguous: the features are the distinct ids present (Captum numbers them
/// 0 to max, and ids that appear nowhere perturb nothing). The tensors stay the caller's and are never modified.
/// </para>
/// </remarks>
public readonly struct FeatureMask
{
    private readonly Tensor[]? masks;

    private FeatureMask(Tensor[] masks)
    {
        this.masks = masks;
    }

    /// <summary>No mask: every scalar of every input is a feature.</summary>
    public static FeatureMask None => default;

    /// <summary>True when no mask was given.</summary>
    public bool IsNone => masks is null;

    /// <summary>The mask tensors, one per input, or null when none was given.</summary>
    public IReadOnlyList<Tensor>? Masks => masks;

    /// <summary>The mask of a single input.</summary>
    public static implicit operator FeatureMask(Tensor mask) =>
        new([mask ?? throw new ArgumentNullException(nameof(mask))]);

    /// <summary>One mask per input.</summary>
    public static implicit operator FeatureMask(Tensor[] masks) => new(Check(masks));

    /// <summary>One mask per input.</summary>
    public static FeatureMask Of(params Tensor[] masks) => masks;

    private static Tensor[] Check(Tensor[]? masks)
    {
        ArgumentNullException.ThrowIfNull(masks);
        if (masks.Length == 0 || masks.Any(m => m is null))
        {
            throw new ArgumentException("feature_mask needs one non-null tensor per input.", nameof(masks));
        }

        return masks;
    }
}
