using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>Validation and formatting of the arguments every attribution method shares.</summary>
internal static class ArgumentPreparation
{
    /// <summary>Checks the inputs share one batch size, and returns it.</summary>
    public static long BatchSize(IReadOnlyList<Tensor> inputs)
    {
        long? n = null;
        for (var i = 0; i < inputs.Count; i++)
        {
            var t = inputs[i];
            if (t.IsInvalid)
            {
                throw new ArgumentException($"inputs[{i}] has been disposed.", "inputs");
            }

            if (t.dim() == 0)
            {
                throw new ArgumentException($"inputs[{i}] is a scalar; inputs need the batch as their first dimension.", "inputs");
            }

            if (n is null)
            {
                n = t.shape[0];
            }
            else if (t.shape[0] != n)
            {
                throw new ArgumentException(
                    $"inputs[{i}] has {t.shape[0]} examples but inputs[0] has {n}: every input needs the same batch size.",
                    "inputs");
            }
        }

        if (n == 0)
        {
            throw new ArgumentException("inputs hold no examples (batch size 0).", "inputs");
        }

        return n!.Value;
    }

    /// <summary>
    /// The baseline of every input as a tensor of the input's full shape, dtype and device (created in the
    /// current dispose scope; the caller's baseline tensors are not modified).
    /// </summary>
    public static Tensor[] Baselines(IReadOnlyList<Tensor> inputs, Baselines baselines)
    {
        var result = new Tensor[inputs.Count];
        for (var i = 0; i < inputs.Count; i++)
        {
            var input = inputs[i];
            var value = baselines.For(i, inputs.Count);
            if (value.Scalar is { } s)
            {
                result[i] = torch.full_like(input, s);
                continue;
            }

            var b = value.Tensor!;
            if (b.IsInvalid)
            {
                throw new ArgumentException($"baselines[{i}] has been disposed.", "baselines");
            }

            if (!Broadcasts(b.shape, input.shape))
            {
                throw new ArgumentException(
                    $"baselines[{i}] has shape {Shapes.Format(b.shape)}, which does not broadcast to input {i}'s shape {Shapes.Format(input.shape)}: give a scalar, one row for the whole batch, or a tensor of the input's shape.",
                    "baselines");
            }

            result[i] = b.detach().to(input.dtype, input.device).expand(input.shape).contiguous();
        }

        return result;
    }

    /// <summary>Checks the forward steps and batch arguments.</summary>
    public static void Steps(int steps, int? internalBatchSize)
    {
        if (steps < 1)
        {
            throw new ArgumentOutOfRangeException("Steps", steps, "Steps (n_steps) must be at least 1.");
        }

        if (steps > IntegratedGradientsOptions.MaxSteps)
        {
            throw new ArgumentOutOfRangeException("Steps", steps, $"Steps (n_steps) must be at most {IntegratedGradientsOptions.MaxSteps} (IntegratedGradientsOptions.MaxSteps).");
        }

        if (internalBatchSize is < 1)
        {
            throw new ArgumentOutOfRangeException("InternalBatchSize", internalBatchSize, "InternalBatchSize (internal_batch_size) must be at least 1, or null for one batch.");
        }
    }

    /// <summary>
    /// The additional forward arguments for a batch expanded <paramref name="repeats"/> times (step-major):
    /// tensors of one or more dimensions are repeated along dimension 0; 0-dimensional tensors and anything
    /// else pass unchanged.
    /// </summary>
    public static object?[] Expand(IReadOnlyList<object?> args, int repeats)
    {
        var result = new object?[args.Count];
        for (var i = 0; i < args.Count; i++)
        {
            result[i] = args[i] is Tensor t && t.dim() > 0 && repeats > 1 ? RepeatBatch(t, repeats) : args[i];
        }

        return result;
    }

    /// <summary>
    /// The additional arguments of the examples at <paramref name="rows"/>: tensors whose first dimension is the
    /// batch (<paramref name="batchSize"/>) are narrowed to those rows; everything else passes unchanged.
    /// </summary>
    public static object?[] SubsetRows(IReadOnlyList<object?> args, long[] rows, long batchSize)
    {
        var result = new object?[args.Count];
        Tensor? index = null;
        for (var i = 0; i < args.Count; i++)
        {
            if (args[i] is Tensor t && t.dim() > 0 && t.shape[0] == batchSize)
            {
                index ??= torch.tensor(rows, ScalarType.Int64, t.device);
                result[i] = t.index_select(0, index.device == t.device ? index : index.to(t.device));
            }
            else
            {
                result[i] = args[i];
            }
        }

        return result;
    }

    /// <summary>Concatenates <paramref name="repeats"/> copies of <paramref name="t"/> along dimension 0.</summary>
    public static Tensor RepeatBatch(Tensor t, int repeats)
    {
        if (repeats == 1)
        {
            return t.alias();
        }

        var reps = new long[t.dim()];
        Array.Fill(reps, 1L);
        reps[0] = repeats;
        return t.repeat(reps);
    }

    /// <summary>The forward arguments: inputs followed by the additional arguments.</summary>
    public static object?[] Concat(IReadOnlyList<Tensor> inputs, IReadOnlyList<object?> additional)
    {
        var all = new object?[inputs.Count + additional.Count];
        for (var i = 0; i < inputs.Count; i++)
        {
            all[i] = inputs[i];
        }

        for (var i = 0; i < additional.Count; i++)
        {
            all[inputs.Count + i] = additional[i];
        }

        return all;
    }

    /// <summary>Sums each row: [n, ...] to [n].</summary>
    public static Tensor SumRows(Tensor t) => t.reshape(t.shape[0], -1).sum(dim: 1);

    /// <summary>True when a tensor of shape <paramref name="from"/> broadcasts to <paramref name="to"/> (without changing it).</summary>
    public static bool Broadcasts(long[] from, long[] to)
    {
        if (from.Length > to.Length)
        {
            return false;
        }

        for (var i = 1; i <= from.Length; i++)
        {
            var f = from[^i];
            if (f != 1 && f != to[^i])
            {
                return false;
            }
        }

        return true;
    }
}
