using TorchSharp;
using static TorchSharp.torch;

namespace Captum;

/// <summary>
/// Which output to explain, for forward functions whose output per example is not a scalar:
/// none (the output is one scalar per example), one index for every example, one index per example,
/// or a tuple of indices for outputs with more than two dimensions (for all examples, or one tuple per
/// example). Converts implicitly from <c>int</c>, <c>long</c>, <c>int[]</c>, <c>long[]</c>, <c>List&lt;int&gt;</c>,
/// <c>List&lt;long&gt;</c>, an index tuple such as <c>(1, 2)</c> (of two or three <c>int</c> or <c>long</c>), an array
/// or list of such tuples (one per example), or a tensor (a single integer, or one integer per example).
/// </summary>
/// <remarks>Python: <c>target</c> (<c>None</c>, int, tuple, list of int or tuple, or tensor).</remarks>
public readonly struct Target
{
    private readonly long[]? index;        // one index (tuple) for every example
    private readonly long[][]? perExample;  // one index (tuple) per example

    private Target(long[]? index, long[][]? perExample)
    {
        this.index = index;
        this.perExample = perExample;
    }

    /// <summary>No target: the forward function returns one scalar per example.</summary>
    public static Target None => default;

    /// <summary>True when no target was given.</summary>
    public bool IsNone => index is null && perExample is null;

    /// <summary>True when the target gives one index per example.</summary>
    public bool IsPerExample => perExample is not null;

    /// <summary>The number of per-example targets, or null.</summary>
    public int? Count => perExample?.Length;

    /// <summary>One output index for every example.</summary>
    public static implicit operator Target(int index) => new([index], null);

    /// <summary>One output index for every example.</summary>
    public static implicit operator Target(long index) => new([index], null);

    /// <summary>An index tuple into outputs of three dimensions, for every example.</summary>
    public static implicit operator Target((int, int) index) => new([index.Item1, index.Item2], null);

    /// <summary>An index tuple into outputs of four dimensions, for every example.</summary>
    public static implicit operator Target((int, int, int) index) => new([index.Item1, index.Item2, index.Item3], null);

    /// <summary>An index tuple into outputs of three dimensions, for every example.</summary>
    public static implicit operator Target((long, long) index) => new([index.Item1, index.Item2], null);

    /// <summary>An index tuple into outputs of four dimensions, for every example.</summary>
    public static implicit operator Target((long, long, long) index) => new([index.Item1, index.Item2, index.Item3], null);

    /// <summary>One output index per example.</summary>
    public static implicit operator Target(int[] perExample) =>
        new(null, (perExample ?? throw new ArgumentNullException(nameof(perExample))).Select(i => new long[] { i }).ToArray());

    /// <summary>One output index per example.</summary>
    public static implicit operator Target(long[] perExample) =>
        new(null, (perExample ?? throw new ArgumentNullException(nameof(perExample))).Select(i => new[] { i }).ToArray());

    /// <summary>One output index per example (Python: a list of int).</summary>
    public static implicit operator Target(List<int> perExample) => (perExample ?? throw new ArgumentNullException(nameof(perExample))).ToArray();

    /// <summary>One output index per example (Python: a list of int).</summary>
    public static implicit operator Target(List<long> perExample) => (perExample ?? throw new ArgumentNullException(nameof(perExample))).ToArray();

    /// <summary>One index tuple per example.</summary>
    public static implicit operator Target((int, int)[] perExample) =>
        new(null, (perExample ?? throw new ArgumentNullException(nameof(perExample))).Select(t => new long[] { t.Item1, t.Item2 }).ToArray());

    /// <summary>One index tuple per example, into outputs of four dimensions.</summary>
    public static implicit operator Target((int, int, int)[] perExample) =>
        new(null, (perExample ?? throw new ArgumentNullException(nameof(perExample))).Select(t => new long[] { t.Item1, t.Item2, t.Item3 }).ToArray());

    /// <summary>One index tuple per example (Python: a list of tuples).</summary>
    public static implicit operator Target(List<(int, int)> perExample) => (perExample ?? throw new ArgumentNullException(nameof(perExample))).ToArray();

    /// <summary>
    /// A tensor target: a single integer (for every example) or a 1-D tensor of one integer per example.
    /// The tensor is read once; the caller keeps it.
    /// </summary>
    public static implicit operator Target(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.dtype is ScalarType.Float16 or ScalarType.Float32 or ScalarType.Float64 or ScalarType.BFloat16 or ScalarType.Bool)
        {
            throw new ArgumentException($"target tensor must hold integers, not {tensor.dtype}.", nameof(tensor));
        }

        if (tensor.numel() == 1)
        {
            using var scalar = tensor.to_type(ScalarType.Int64).cpu();
            return new Target([scalar.item<long>()], null);
        }

        if (tensor.dim() != 1)
        {
            throw new ArgumentException($"target tensor must be a single integer or 1-D with one index per example, not of shape {Shapes.Format(tensor.shape)}.", nameof(tensor));
        }

        using var cpu = tensor.to_type(ScalarType.Int64).cpu();
        return new Target(null, cpu.data<long>().Select(i => new[] { i }).ToArray());
    }

    /// <summary>One index tuple per example, each of the same length.</summary>
    public static Target PerExample(IEnumerable<long[]> indices)
    {
        var all = (indices ?? throw new ArgumentNullException(nameof(indices))).Select(i => i.ToArray()).ToArray();
        return new Target(null, all);
    }

    /// <summary>One index tuple for every example.</summary>
    public static Target Tuple(params long[] index) => new(index ?? throw new ArgumentNullException(nameof(index)), null);

    /// <summary>The target repeated for a batch expanded <paramref name="repeats"/> times (step-major).</summary>
    internal Target Repeat(int repeats)
    {
        if (perExample is null || repeats == 1)
        {
            return this;
        }

        var expanded = new long[perExample.Length * repeats][];
        for (var r = 0; r < repeats; r++)
        {
            Array.Copy(perExample, 0, expanded, r * perExample.Length, perExample.Length);
        }

        return new Target(null, expanded);
    }

    /// <summary>The target of the examples at <paramref name="rows"/> (per-example targets are picked; others stay).</summary>
    internal Target Subset(IReadOnlyList<long> rows)
    {
        var all = perExample;
        return all is null ? this : new Target(null, rows.Select(r => all[r]).ToArray());
    }

    /// <summary>The target of examples [<paramref name="start"/>, <paramref name="start"/> + <paramref name="count"/>) of the batch (itself unless per-example).</summary>
    internal Target Slice(int start, int count) =>
        perExample is null ? this : new Target(null, perExample[start..(start + count)]);

    /// <summary>
    /// The target for a batch whose every example is repeated <paramref name="repeats"/> times in a row
    /// (example-major, as <c>repeat_interleave</c> expands the perturbed batches of Captum's metrics).
    /// </summary>
    internal Target RepeatInterleave(int repeats)
    {
        if (perExample is null || repeats == 1)
        {
            return this;
        }

        var expanded = new long[perExample.Length * repeats][];
        for (var e = 0; e < perExample.Length; e++)
        {
            for (var r = 0; r < repeats; r++)
            {
                expanded[(e * repeats) + r] = perExample[e];
            }
        }

        return new Target(null, expanded);
    }

    /// <summary>
    /// The class indices as a tensor, as Python's <c>torch.tensor(target)</c> makes them: a 0-dimensional int64 for one
    /// index for every example, or one per example ([n]); indices are not wrapped (a negative one matches no class).
    /// </summary>
    /// <exception cref="ArgumentException">No target, or index tuples (ParamName <c>target</c>).</exception>
    internal Tensor ClassIndices(Device? device = null)
    {
        var classes = index is { Length: 1 } || (perExample is { Length: > 0 } all && all.All(t => t.Length == 1));
        if (!classes)
        {
            throw new ArgumentException($"target must be one class index for every example or one per example, not {this}.", "target");
        }

        return index is not null
            ? torch.tensor(index[0], ScalarType.Int64, device)
            : torch.tensor(perExample!.Select(t => t[0]).ToArray(), ScalarType.Int64, device);
    }

    /// <summary>Checks the target against the number of examples before any work is done.</summary>
    internal void ValidateCount(long examples)
    {
        if (perExample is not null && perExample.Length != examples)
        {
            throw new ArgumentException(
                $"target gives {perExample.Length} indices but the inputs hold {examples} examples: give one index for all, or exactly one per example.",
                "target");
        }
    }

    /// <summary>
    /// Selects the explained output of every example: a tensor of shape [n] (or [n, ...] when the
    /// target is none and the output is already one value per example).
    /// </summary>
    internal Tensor Select(Tensor output)
    {
        if (output.dim() == 0)
        {
            throw new ArgumentException(
                "the forward function returned a single scalar; it must return one value (or one row) per example, with the batch as the first dimension.",
                "inputs");
        }

        var n = output.shape[0];
        if (IsNone)
        {
            if (output.dim() > 1 && output.numel() != n)
            {
                throw new ArgumentException(
                    $"target is required: the forward function's output has shape {PerExample(output)} per example, more than one value, so an index is needed to choose which output is meant (the one to explain, or an attack's label).",
                    "target");
            }

            return output;
        }

        if (index is not null)
        {
            CheckIndex(output, index, "target");
            var indexer = new TensorIndex[index.Length + 1];
            indexer[0] = TensorIndex.Colon;
            for (var i = 0; i < index.Length; i++)
            {
                indexer[i + 1] = TensorIndex.Single(index[i]);
            }

            return output[indexer];
        }

        var targets = perExample!;
        if (targets.Length != n)
        {
            throw new ArgumentException(
                $"target gives {targets.Length} indices but the output has {n} rows: give one index for all, or exactly one per example.",
                "target");
        }

        var width = targets[0].Length;
        if (targets.Any(t => t.Length != width))
        {
            throw new ArgumentException("target: every per-example index tuple must have the same length.", "target");
        }

        foreach (var t in targets)
        {
            CheckIndex(output, t, "target");
        }

        if (width == 1)
        {
            if (output.dim() != 2)
            {
                throw new ArgumentException($"target: one index per example needs an output of one dimension per example, but each example's output has shape {PerExample(output)}.", "target");
            }

            var size = output.shape[1];
            using var idx = torch.tensor(targets.Select(t => t[0] < 0 ? t[0] + size : t[0]).ToArray(), ScalarType.Int64, output.device).reshape(n, 1);
            return output.gather(1, idx).squeeze(1);
        }

        var rows = new Tensor[n];
        for (var r = 0; r < n; r++)
        {
            var indexer = new TensorIndex[width + 1];
            indexer[0] = TensorIndex.Single(r);
            for (var i = 0; i < width; i++)
            {
                indexer[i + 1] = TensorIndex.Single(targets[r][i]);
            }

            rows[r] = output[indexer];
        }

        return torch.stack(rows);
    }

    /// <summary>
    /// The shape of one example's output: what the user knows, where the whole output's batch is often the methods'
    /// expansion (steps x examples, samples x examples), not theirs.
    /// </summary>
    private static string PerExample(Tensor output) => Shapes.Format(output.shape[1..]);

    private static void CheckIndex(Tensor output, long[] index, string argument)
    {
        if (index.Length > output.dim() - 1)
        {
            throw new ArgumentException(
                $"{argument} has {index.Length} index(es) but each example's output, of shape {PerExample(output)}, has only {output.dim() - 1} dimension(s).",
                argument);
        }

        for (var i = 0; i < index.Length; i++)
        {
            var size = output.shape[i + 1];
            if (index[i] < -size || index[i] >= size)
            {
                throw new ArgumentException(
                    $"{argument} index {index[i]} is out of range for dimension {i} of size {size} of each example's output (shape {PerExample(output)}).",
                    argument);
            }
        }
    }

    /// <inheritdoc />
    public override string ToString() =>
        IsNone ? "none" : index is not null ? $"({string.Join(", ", index)})" : $"[{string.Join(", ", perExample!.Select(t => t.Length == 1 ? t[0].ToString(System.Globalization.CultureInfo.InvariantCulture) : "(" + string.Join(", ", t) + ")"))}]";
}
