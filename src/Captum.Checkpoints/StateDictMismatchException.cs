using System.Globalization;
using System.Text;

namespace Captum.Checkpoints;

/// <summary>A parameter or buffer whose shape in the state dict differs from its shape in the module.</summary>
/// <param name="Key">The parameter or buffer name, e.g. <c>fc.weight</c>.</param>
/// <param name="CheckpointShape">The shape of the tensor in the state dict.</param>
/// <param name="ModuleShape">The shape of the module's parameter or buffer.</param>
public sealed record StateDictShapeMismatch(string Key, IReadOnlyList<long> CheckpointShape, IReadOnlyList<long> ModuleShape)
{
    /// <summary>Formats the mismatch as <c>key: checkpoint [a, b], module [c, d]</c>.</summary>
    /// <returns>The formatted mismatch.</returns>
    public override string ToString() =>
        $"{Key}: checkpoint {FormatShape(CheckpointShape)}, module {FormatShape(ModuleShape)}";

    internal static string FormatShape(IReadOnlyList<long> shape) =>
        "[" + string.Join(", ", shape.Select(d => d.ToString(CultureInfo.InvariantCulture))) + "]";
}

/// <summary>
/// Thrown by <see cref="TorchCheckpoint.LoadStateDict"/> when a state dict does not fit a module: the message lists
/// every missing name, every unexpected name and every shape mismatch (with both shapes).
/// </summary>
public sealed class StateDictMismatchException : ArgumentException
{
    /// <summary>Creates the exception with a generic message and no details.</summary>
    public StateDictMismatchException()
        : this("The state dict does not match the module.")
    {
    }

    /// <summary>Creates the exception with the given message and no details.</summary>
    /// <param name="message">The message.</param>
    public StateDictMismatchException(string message)
        : this(message, null)
    {
    }

    /// <summary>Creates the exception with the given message, the underlying error and no details.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The underlying error.</param>
    public StateDictMismatchException(string message, Exception? innerException)
        : base(message, innerException)
    {
        MissingKeys = [];
        UnexpectedKeys = [];
        ShapeMismatches = [];
    }

    /// <summary>Creates the exception from the differences found; the message lists all of them.</summary>
    /// <param name="missingKeys">Names of the module's parameters and buffers absent from the state dict.</param>
    /// <param name="unexpectedKeys">Names in the state dict that the module does not have.</param>
    /// <param name="shapeMismatches">Names present in both with different shapes.</param>
    public StateDictMismatchException(
        IReadOnlyList<string> missingKeys,
        IReadOnlyList<string> unexpectedKeys,
        IReadOnlyList<StateDictShapeMismatch> shapeMismatches)
        : base(BuildMessage(missingKeys, unexpectedKeys, shapeMismatches))
    {
        MissingKeys = missingKeys;
        UnexpectedKeys = unexpectedKeys;
        ShapeMismatches = shapeMismatches;
    }

    /// <summary>Names of the module's parameters and buffers absent from the state dict.</summary>
    public IReadOnlyList<string> MissingKeys { get; }

    /// <summary>Names in the state dict that the module does not have.</summary>
    public IReadOnlyList<string> UnexpectedKeys { get; }

    /// <summary>Names present in both, with different shapes.</summary>
    public IReadOnlyList<StateDictShapeMismatch> ShapeMismatches { get; }

    private static string BuildMessage(
        IReadOnlyList<string> missing,
        IReadOnlyList<string> unexpected,
        IReadOnlyList<StateDictShapeMismatch> mismatches)
    {
        ArgumentNullException.ThrowIfNull(missing);
        ArgumentNullException.ThrowIfNull(unexpected);
        ArgumentNullException.ThrowIfNull(mismatches);
        var sb = new StringBuilder("The state dict does not match the module.");
        if (missing.Count > 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $" Missing keys ({missing.Count}): {string.Join(", ", missing)}.");
        }

        if (unexpected.Count > 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $" Unexpected keys ({unexpected.Count}): {string.Join(", ", unexpected)}.");
        }

        if (mismatches.Count > 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $" Shape mismatches ({mismatches.Count}): {string.Join("; ", mismatches)}.");
        }

        return sb.ToString();
    }
}
