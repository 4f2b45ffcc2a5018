using Captum.Forward;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>Argument checks and forward evaluations shared by the perturbation methods.</summary>
internal static class PerturbationEvaluation
{
    /// <summary>
    /// Runs the forward function and returns the explained output flattened to one dimension: [n] when the
    /// function returns one value per example, [k] when it returns k values for the whole batch (a 0-dimensional
    /// output becomes [1]).
    /// </summary>
    public static Tensor Evaluate(ForwardFunction forward, IReadOnlyList<Tensor> inputs, IReadOnlyList<object?> additional, Target target)
    {
        var output = forward.Invoke(ArgumentPreparation.Concat(inputs, additional));
        if (output.dim() == 0)
        {
            if (!target.IsNone)
            {
                throw new ArgumentException(
                    $"target is {target} but the forward function returns a single scalar for the whole batch; give no target.",
                    "target");
            }

            return output.reshape(1);
        }

        return target.Select(output).reshape(-1);
    }

    /// <summary>The floating type attributions take: the output's, or float32 for a non-floating output.</summary>
    public static ScalarType AttributionType(Tensor output) => output.is_floating_point() ? output.dtype : ScalarType.Float32;

    /// <summary>Checks <c>PerturbationsPerEval</c>.</summary>
    public static void PerturbationsPerEval(int? perEval)
    {
        if (perEval < 1)
        {
            throw new ArgumentOutOfRangeException("PerturbationsPerEval", perEval, "PerturbationsPerEval (perturbations_per_eval) must be at least 1.");
        }
    }

    /// <summary>Checks <c>Samples</c>.</summary>
    public static void Samples(int samples)
    {
        if (samples < 1)
        {
            throw new ArgumentOutOfRangeException("Samples", samples, "Samples (n_samples) must be at least 1.");
        }
    }

    /// <summary>
    /// The baselines as tensors of the inputs' full shapes, dtypes and devices; for integer inputs the
    /// baselines must be whole numbers (a token id cannot be replaced by 0.5).
    /// </summary>
    public static Tensor[] Baselines(IReadOnlyList<Tensor> inputs, Baselines baselines)
    {
        for (var i = 0; i < inputs.Count; i++)
        {
            if (inputs[i].is_floating_point() || inputs[i].is_complex())
            {
                continue;
            }

            var value = baselines.For(i, inputs.Count);
            var whole = value.Scalar is { } s
                ? Math.Floor(s) == s
                : value.Tensor is not { IsInvalid: false } t || !t.is_floating_point() || t.eq(t.floor()).all().item<bool>();
            if (!whole)
            {
                throw new ArgumentException(
                    $"baselines[{i}] ({value}) is not a whole number, but input {i} holds integers ({inputs[i].dtype}); give an integer baseline such as a padding id.",
                    "baselines");
            }
        }

        return ArgumentPreparation.Baselines(inputs, baselines);
    }

    /// <summary>
    /// Per perturbation count, the additional arguments and target expanded for that many perturbations of the
    /// batch (created in the current dispose scope, to be reused by every evaluation).
    /// </summary>
    public static Dictionary<int, (object?[] Args, Target Target)> Expanded(IReadOnlyList<object?> additional, Target target, IEnumerable<int> counts) =>
        counts.Distinct().ToDictionary(c => c, c => (ArgumentPreparation.Expand(additional, c), target.Repeat(c)));

    /// <summary>The distinct chunk sizes when <paramref name="total"/> items go <paramref name="perEval"/> at a time.</summary>
    public static IEnumerable<int> ChunkSizes(int total, int perEval)
    {
        if (total == 0)
        {
            yield break;
        }

        yield return Math.Min(perEval, total);
        if (total > perEval && total % perEval != 0)
        {
            yield return total % perEval;
        }
    }

    /// <summary>The shape [1, ..., 1] of the dimensions after the first, for broadcasting per-row values.</summary>
    public static long[] RowShape(long rows, long cols, long trailingDims)
    {
        var shape = new long[2 + trailingDims];
        Array.Fill(shape, 1L);
        shape[0] = rows;
        shape[1] = cols;
        return shape;
    }

    /// <summary>Joins [count, n, ...] into [count * n, ...].</summary>
    public static Tensor FlattenFirst(Tensor t)
    {
        var shape = new long[t.dim() - 1];
        shape[0] = t.shape[0] * t.shape[1];
        Array.Copy(t.shape, 2, shape, 1, shape.Length - 1);
        return t.reshape(shape);
    }
}
