namespace Captum.Attr;

/// <summary>
/// A statistic a <see cref="Summarizer"/> keeps of the tensors it is given, element by element: each update is one
/// sample. Equal stats (same kind and order) are kept once.
/// </summary>
/// <remarks>Python: <c>captum.attr.Stat</c> and its subclasses <c>Count</c>, <c>Mean</c>, <c>MSE</c>, <c>Var</c>, <c>StdDev</c>, <c>Min</c>, <c>Max</c>, <c>Sum</c>.</remarks>
public sealed record Stat
{
    private Stat(StatKind kind, int order, string name)
    {
        Kind = kind;
        Order = order;
        Name = name;
    }

    /// <summary>What is computed.</summary>
    public StatKind Kind { get; }

    /// <summary>For <see cref="StatKind.Var"/> and <see cref="StatKind.StdDev"/>: the divisor is n - Order (0 population, 1 sample).</summary>
    public int Order { get; }

    /// <summary>The key in a summary (Captum's names: <c>mean</c>, <c>variance</c>, <c>sample_std_dev</c>, ...).</summary>
    public string Name { get; init; }

    /// <summary>The number of updates. Python: <c>Count()</c>, named <c>count</c>.</summary>
    public static Stat Count() => new(StatKind.Count, 0, "count");

    /// <summary>The running mean. Python: <c>Mean()</c>.</summary>
    public static Stat Mean() => new(StatKind.Mean, 0, "mean");

    /// <summary>The sum of squared deviations from the mean (Welford's M2). Python: <c>MSE()</c>.</summary>
    public static Stat MSE() => new(StatKind.MSE, 0, "mse");

    /// <summary>MSE / (n - order), in float64; zeros while n &lt;= order. Python: <c>Var(order)</c>.</summary>
    public static Stat Var(int order = 0) => new(StatKind.Var, order, order switch { 0 => "variance", 1 => "sample_variance", _ => $"variance({order})" });

    /// <summary>The square root of <see cref="Var"/>. Python: <c>StdDev(order)</c>.</summary>
    public static Stat StdDev(int order = 0) => new(StatKind.StdDev, order, order switch { 0 => "std_dev", 1 => "sample_std_dev", _ => $"std_dev{order})" });

    /// <summary>The element-wise minimum. Python: <c>Min()</c>.</summary>
    public static Stat Min() => new(StatKind.Min, 0, "min");

    /// <summary>The element-wise maximum. Python: <c>Max()</c>.</summary>
    public static Stat Max() => new(StatKind.Max, 0, "max");

    /// <summary>The element-wise sum. Python: <c>Sum()</c>.</summary>
    public static Stat Sum() => new(StatKind.Sum, 0, "sum");

    /// <summary>Mean, sample variance, sample standard deviation, min and max. Python: <c>CommonStats()</c>.</summary>
    public static IReadOnlyList<Stat> CommonStats() => [Mean(), Var(1), StdDev(1), Min(), Max()];

    /// <summary>Equal when of the same kind and order (the name aside), as Captum's stats hash.</summary>
    public bool Equals(Stat? other) => other is not null && Kind == other.Kind && Order == other.Order;

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Kind, Order);
}

/// <summary>The statistics a <see cref="Stat"/> can be.</summary>
public enum StatKind
{
    /// <summary>The number of updates.</summary>
    Count,

    /// <summary>The mean.</summary>
    Mean,

    /// <summary>The sum of squared deviations from the mean.</summary>
    MSE,

    /// <summary>The variance.</summary>
    Var,

    /// <summary>The standard deviation.</summary>
    StdDev,

    /// <summary>The minimum.</summary>
    Min,

    /// <summary>The maximum.</summary>
    Max,

    /// <summary>The sum.</summary>
    Sum,
}
