using static TorchSharp.torch;

namespace Captum.Robust;

/// <summary>
/// What an <see cref="AttackComparator{TArguments}"/> metric returns for one batch, and how its summaries come back:
/// one tensor (a scalar, or one value per example), or several side by side (a tuple, or named values such as
/// accuracy and loss). A tensor or a number converts implicitly, so a metric may simply return a tensor.
/// </summary>
/// <remarks>
/// Python: the metric's result, a float, a tensor, a tuple or a named tuple of them (<c>MetricResultType</c>); a
/// float becomes a float32 scalar as Captum's <c>Summarizer</c> makes it. The values are not owned by this object:
/// a metric's values belong to the comparator's evaluation (which frees them), a result's to the
/// <see cref="AttackComparison"/> that holds it.
/// </remarks>
public sealed class MetricValues : IReadOnlyList<Tensor>
{
    private readonly Tensor[] values;
    private readonly string[]? names;

    /// <summary>Several values side by side, named or not.</summary>
    /// <param name="values">At least one tensor.</param>
    /// <param name="names">One name per value (Python: a named tuple's fields), or null.</param>
    /// <param name="isTuple">False only for a single metric (Python: not a tuple).</param>
    /// <exception cref="ArgumentException">No value, a null one, or names not one per value and distinct.</exception>
    public MetricValues(IReadOnlyList<Tensor> values, IReadOnlyList<string>? names = null, bool isTuple = true)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count == 0 || values.Any(v => v is null))
        {
            throw new ArgumentException("values: give at least one tensor, and no null.", nameof(values));
        }

        if (names is not null && (names.Count != values.Count || names.Distinct(StringComparer.Ordinal).Count() != names.Count || names.Any(string.IsNullOrEmpty)))
        {
            throw new ArgumentException($"names: give one distinct, non-empty name per value ({values.Count}).", nameof(names));
        }

        if (!isTuple && values.Count != 1)
        {
            throw new ArgumentException("values: a single metric (isTuple false) holds one tensor.", nameof(values));
        }

        this.values = [.. values];
        this.names = names?.ToArray();
        IsTuple = isTuple;
    }

    /// <summary>The values' names, when the metric named them.</summary>
    public IReadOnlyList<string>? Names => names;

    /// <summary>True for several values (a tuple in Captum), false for a single metric.</summary>
    public bool IsTuple { get; }

    /// <summary>The number of values.</summary>
    public int Count => values.Length;

    /// <summary>The only value, for a single metric.</summary>
    /// <exception cref="InvalidOperationException">There are several; index them instead.</exception>
    public Tensor Value => values.Length == 1
        ? values[0]
        : throw new InvalidOperationException($"The metric has {values.Length} values; index them (by position or name) instead.");

    /// <summary>Value <paramref name="index"/>.</summary>
    public Tensor this[int index] => values[index];

    /// <summary>The value named <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">No value has that name.</exception>
    public Tensor this[string name]
    {
        get
        {
            var i = names is null ? -1 : Array.IndexOf(names, name);
            return i >= 0
                ? values[i]
                : throw new KeyNotFoundException($"No metric value is named '{name}'; the names are {(names is null ? "none" : string.Join(", ", names))}.");
        }
    }

    /// <summary>A single metric.</summary>
    public static implicit operator MetricValues(Tensor value) => new([value ?? throw new ArgumentNullException(nameof(value))], isTuple: false);

    /// <summary>A single metric given as a number: a float32 scalar, as Captum's <c>Summarizer</c> makes it.</summary>
    public static implicit operator MetricValues(double value) => new([torch.tensor((float)value)], isTuple: false);

    /// <summary>Several values (Python: a tuple).</summary>
    public static MetricValues Of(params Tensor[] values) => new(values);

    /// <summary>Named values (Python: a named tuple).</summary>
    public static MetricValues Named(params (string Name, Tensor Value)[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        return new(values.Select(v => v.Value).ToArray(), values.Select(v => v.Name).ToArray());
    }

    /// <summary>The same kind of values (names, tuple or not) holding <paramref name="tensors"/>.</summary>
    internal MetricValues With(IReadOnlyList<Tensor> tensors) => new(tensors, Names, IsTuple);

    /// <inheritdoc />
    public IEnumerator<Tensor> GetEnumerator() => ((IEnumerable<Tensor>)values).GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
