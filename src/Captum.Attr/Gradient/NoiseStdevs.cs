using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// Standard deviations of the noise added to the inputs: one value for all inputs, or one per input.
/// Converts implicitly from a <c>double</c> or a <c>double[]</c>.
/// </summary>
/// <remarks>Python: <c>stdevs</c> (a float or a tuple of floats).</remarks>
public readonly struct NoiseStdevs
{
    private readonly double value;
    private readonly double[]? perInput;

    private NoiseStdevs(double value, double[]? perInput)
    {
        this.value = value;
        this.perInput = perInput;
    }

    /// <summary>The per-input values, when given per input.</summary>
    public IReadOnlyList<double>? PerInput => perInput;

    /// <summary>The value for all inputs, when given as one.</summary>
    public double? Value => perInput is null ? value : null;

    /// <summary>One standard deviation for every input.</summary>
    public static implicit operator NoiseStdevs(double value) => new(value, null);

    /// <summary>One standard deviation per input.</summary>
    public static implicit operator NoiseStdevs(double[] perInput) =>
        new(0, (perInput ?? throw new ArgumentNullException(nameof(perInput))).ToArray());

    /// <summary>One standard deviation per input.</summary>
    public static NoiseStdevs Of(params double[] perInput) => perInput;

    /// <summary>The standard deviation of each of <paramref name="count"/> inputs.</summary>
    /// <exception cref="ArgumentException">The count differs from the inputs', or a value is negative or not finite.</exception>
    internal double[] For(int count)
    {
        if (perInput is not null && perInput.Length != count)
        {
            throw new ArgumentException(
                $"Stdevs has {perInput.Length} values but there are {count} inputs: give one for all, or exactly one per input.",
                "Stdevs");
        }

        var result = perInput ?? Enumerable.Repeat(value, count).ToArray();
        foreach (var s in result)
        {
            if (!double.IsFinite(s) || s < 0)
            {
                throw new ArgumentException($"Stdevs must be finite and non-negative, got {s}.", "Stdevs");
            }
        }

        return result;
    }

    /// <inheritdoc />
    public override string ToString() => perInput is null
        ? value.ToString(System.Globalization.CultureInfo.InvariantCulture)
        : "(" + string.Join(", ", perInput.Select(v => v.ToString(System.Globalization.CultureInfo.InvariantCulture))) + ")";
}
