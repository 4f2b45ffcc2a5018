using static TorchSharp.torch;

namespace Captum.Attr;

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
