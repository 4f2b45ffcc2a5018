using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// Expansion of a batch into samples per example, example-major (each example's samples in a row, as
/// <c>repeat_interleave</c> lays them out): how the sampling methods and DeepLiftShap expand their arguments.
/// </summary>
internal static class SampleExpansion
{
    /// <summary>Every example of <paramref name="t"/> repeated <paramref name="repeats"/> times in a row along dimension 0.</summary>
    public static Tensor RepeatInterleave(Tensor t, long repeats) =>
        repeats == 1 ? t.alias() : t.repeat_interleave(repeats, dim: 0);

    /// <summary>Every example of every tensor of <paramref name="tensors"/> repeated <paramref name="repeats"/> times in a row.</summary>
    public static Tensor[] RepeatInterleave(IReadOnlyList<Tensor> tensors, long repeats) =>
        tensors.Select(t => RepeatInterleave(t, repeats)).ToArray();

    /// <summary>
    /// The additional forward arguments expanded example-major: tensors of one or more dimensions are repeated
    /// in place along dimension 0; 0-dimensional tensors and anything else pass unchanged.
    /// </summary>
    public static object?[] Interleave(IReadOnlyList<object?> args, long repeats)
    {
        var result = new object?[args.Count];
        for (var i = 0; i < args.Count; i++)
        {
            result[i] = args[i] is Tensor t && t.dim() > 0 && repeats > 1 ? t.repeat_interleave(repeats, dim: 0) : args[i];
        }

        return result;
    }

    /// <summary>The mean over each example's <paramref name="repeats"/> consecutive rows: [n * repeats, ...] to [n, ...].</summary>
    public static Tensor MeanOfGroups(Tensor t, long repeats)
    {
        var shape = new long[t.dim() + 1];
        shape[0] = t.shape[0] / repeats;
        shape[1] = repeats;
        Array.Copy(t.shape, 1, shape, 2, t.dim() - 1);
        return t.reshape(shape).mean([1]);
    }

    /// <summary>
    /// One reference per row of the expanded batch: a random example of each input's distribution (drawn
    /// independently per input), or the scalar filled to the input's shape.
    /// </summary>
    public static Tensor[] DrawReferences(IReadOnlyList<Tensor> expanded, IReadOnlyList<Tensor?> distribution, Baselines baselines, RandomDraws random)
    {
        var references = new Tensor[expanded.Count];
        for (var i = 0; i < expanded.Count; i++)
        {
            var x = expanded[i];
            references[i] = distribution[i] is { } d
                ? d.index_select(0, random.Indices(x.shape[0], d.shape[0], d.device))
                : torch.full_like(x, baselines.For(i, expanded.Count).Scalar!.Value);
        }

        return references;
    }

    /// <summary>
    /// Checks a baseline distribution: per input a tensor of reference examples shaped like the input after
    /// dimension 0 (or, when <paramref name="allowScalars"/>, a scalar). Returns the tensors (null for scalars),
    /// on the input's dtype and device.
    /// </summary>
    /// <exception cref="ArgumentException">No baselines, a scalar where a tensor is needed, or a shape that does not fit.</exception>
    public static Tensor?[] Distribution(IReadOnlyList<Tensor> inputs, Baselines baselines, bool allowScalars, string method)
    {
        if (baselines.IsNone)
        {
            throw new ArgumentException(
                $"baselines are required by {method}: give a distribution of reference examples per input (a tensor shaped like the input after the first dimension).",
                "baselines");
        }

        var result = new Tensor?[inputs.Count];
        for (var i = 0; i < inputs.Count; i++)
        {
            var value = baselines.For(i, inputs.Count);
            if (value.Scalar is not null)
            {
                if (!allowScalars)
                {
                    throw new ArgumentException(
                        $"baselines[{i}] is a scalar, but {method} needs a distribution: a tensor of reference examples shaped like input {i} after the first dimension.",
                        "baselines");
                }

                continue;
            }

            var b = value.Tensor!;
            var input = inputs[i];
            if (b.IsInvalid)
            {
                throw new ArgumentException($"baselines[{i}] has been disposed.", "baselines");
            }

            if (b.dim() != input.dim() || !b.shape.Skip(1).SequenceEqual(input.shape.Skip(1)) || b.shape[0] == 0)
            {
                throw new ArgumentException(
                    $"baselines[{i}] has shape {Shapes.Format(b.shape)}, but {method} needs reference examples shaped like input {i} after the first dimension: [m{string.Concat(input.shape.Skip(1).Select(d => ", " + d))}] with m >= 1.",
                    "baselines");
            }

            result[i] = b.detach().to(input.dtype, input.device);
        }

        return result;
    }
}
