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

/// <summary>
/// A feature mask checked against the inputs: per input a long tensor with the input's number of dimensions
/// (first dimension 1 or the batch size) on the input's device, the sorted distinct feature ids, and which
/// inputs each id occurs in. Tensors live in the dispose scope current at <see cref="Resolve"/>.
/// </summary>
internal sealed class ResolvedFeatureMask
{
    private readonly HashSet<long>[] idsPerInput;
    private readonly long[][] sortedIdsPerInput;

    private ResolvedFeatureMask(Tensor[] masks, long[] ids, HashSet<long>[] idsPerInput, bool perExample)
    {
        Masks = masks;
        Ids = ids;
        this.idsPerInput = idsPerInput;
        sortedIdsPerInput = idsPerInput.Select(set => set.Order().ToArray()).ToArray();
        PerExample = perExample;
    }

    /// <summary>Per input, the mask: long, the input's number of dimensions, first dimension 1 or n.</summary>
    public Tensor[] Masks { get; }

    /// <summary>The distinct feature ids of all inputs, ascending.</summary>
    public long[] Ids { get; }

    /// <summary>True when some mask gives one row per example (first dimension n, n &gt; 1).</summary>
    public bool PerExample { get; }

    /// <summary>True when feature <paramref name="id"/> occurs in input <paramref name="input"/>.</summary>
    public bool Contains(int input, long id) => idsPerInput[input].Contains(id);

    /// <summary>The distinct ids of input <paramref name="input"/>'s mask, ascending.</summary>
    public long[] IdsOf(int input) => sortedIdsPerInput[input];

    /// <summary>
    /// Checks the caller's masks against the inputs, or builds the default mask (every scalar its own feature,
    /// numbered across the inputs in order).
    /// </summary>
    /// <exception cref="ArgumentException">The masks do not fit the inputs (parameter FeatureMask).</exception>
    public static ResolvedFeatureMask Resolve(IReadOnlyList<Tensor> inputs, FeatureMask featureMask, long batchSize)
    {
        var count = inputs.Count;
        var masks = new Tensor[count];
        var idsPerInput = new HashSet<long>[count];
        var perExample = false;
        if (featureMask.IsNone)
        {
            long offset = 0;
            for (var i = 0; i < count; i++)
            {
                var input = inputs[i];
                var shape = (long[])input.shape.Clone();
                shape[0] = 1;
                var numel = shape.Aggregate(1L, (a, b) => a * b);
                masks[i] = torch.arange(offset, offset + numel, dtype: ScalarType.Int64, device: input.device).reshape(shape);
                idsPerInput[i] = [.. Enumerable.Range(0, checked((int)numel)).Select(k => offset + k)];
                offset += numel;
            }

            return new ResolvedFeatureMask(masks, [.. Enumerable.Range(0, checked((int)offset)).Select(k => (long)k)], idsPerInput, false);
        }

        var given = featureMask.Masks!;
        if (given.Count != count)
        {
            throw new ArgumentException(
                $"FeatureMask (feature_mask) has {given.Count} tensor(s) but there are {count} inputs: give one mask per input.",
                "FeatureMask");
        }

        var all = new SortedSet<long>();
        for (var i = 0; i < count; i++)
        {
            var mask = given[i];
            var input = inputs[i];
            if (mask.IsInvalid)
            {
                throw new ArgumentException($"FeatureMask[{i}] has been disposed.", "FeatureMask");
            }

            if (mask.is_floating_point() || mask.is_complex() || mask.dtype == ScalarType.Bool)
            {
                throw new ArgumentException(
                    $"FeatureMask[{i}] has dtype {mask.dtype}; a feature mask holds integer feature ids.",
                    "FeatureMask");
            }

            var shape = mask.shape;
            if (shape.Length > input.dim())
            {
                throw new ArgumentException(
                    $"FeatureMask[{i}] has shape {Format(shape)}, more dimensions than input {i} of shape {Format(input.shape)}.",
                    "FeatureMask");
            }

            // Align the mask's dimensions with the input's from the right, as broadcasting does.
            var full = new long[input.dim()];
            Array.Fill(full, 1L);
            Array.Copy(shape, 0, full, full.Length - shape.Length, shape.Length);
            for (var d = 0; d < full.Length; d++)
            {
                if (full[d] != 1 && full[d] != input.shape[d])
                {
                    throw new ArgumentException(
                        $"FeatureMask[{i}] has shape {Format(shape)}, which does not broadcast to input {i}'s shape {Format(input.shape)}: give the input's shape, with 1 for any dimension shared by all (the first dimension 1 for one mask for all examples).",
                        "FeatureMask");
                }
            }

            if (mask.numel() == 0 && input.numel() != 0)
            {
                throw new ArgumentException($"FeatureMask[{i}] is empty.", "FeatureMask");
            }

            perExample |= full[0] > 1;
            masks[i] = mask.detach().to(ScalarType.Int64, input.device).reshape(full);
            var (unique, _, _) = torch.unique(masks[i]);
            var ids = unique.cpu().data<long>().ToArray();
            idsPerInput[i] = [.. ids];
            all.UnionWith(ids);
        }

        return new ResolvedFeatureMask(masks, [.. all], idsPerInput, perExample);
    }

    private static string Format(long[] shape) => "[" + string.Join(", ", shape) + "]";
}
