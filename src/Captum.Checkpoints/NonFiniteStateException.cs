namespace Captum.Checkpoints;

/// <summary>
/// Thrown by <see cref="TorchCheckpoint.LoadStateDict"/> (without <c>allowNonFinite</c>) when a state dict holds values a
/// module should not be given: a parameter with NaN or infinite values, or a buffer with NaN values (buffers may hold
/// -inf by design, as attention masks do). Nothing was copied.
/// </summary>
public sealed class NonFiniteStateException : ArgumentException
{
    /// <summary>Creates the exception with a generic message and no keys.</summary>
    public NonFiniteStateException()
        : this("The state dict holds NaN or infinite values.")
    {
    }

    /// <summary>Creates the exception with the given message and no keys.</summary>
    /// <param name="message">The message.</param>
    public NonFiniteStateException(string message)
        : this(message, null)
    {
    }

    /// <summary>Creates the exception with the given message, the underlying error and no keys.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The underlying error.</param>
    public NonFiniteStateException(string message, Exception? innerException)
        : base(message, innerException)
    {
        NonFiniteParameters = [];
        NaNBuffers = [];
    }

    /// <summary>Creates the exception from the keys refused; the message (its parameter <c>state</c>) names them.</summary>
    /// <param name="nonFiniteParameters">The parameters holding NaN or infinite values.</param>
    /// <param name="nanBuffers">The buffers holding NaN values.</param>
    public NonFiniteStateException(IReadOnlyList<string> nonFiniteParameters, IReadOnlyList<string> nanBuffers)
        : base(BuildMessage(nonFiniteParameters, nanBuffers), "state")
    {
        NonFiniteParameters = nonFiniteParameters;
        NaNBuffers = nanBuffers;
    }

    /// <summary>The parameters holding NaN or infinite values, in the module's order.</summary>
    public IReadOnlyList<string> NonFiniteParameters { get; }

    /// <summary>The buffers holding NaN values, in the module's order.</summary>
    public IReadOnlyList<string> NaNBuffers { get; }

    /// <summary>Every key refused: the parameters, then the buffers.</summary>
    public IReadOnlyList<string> RefusedKeys => [.. NonFiniteParameters, .. NaNBuffers];

    private static string BuildMessage(IReadOnlyList<string> nonFinite, IReadOnlyList<string> nan)
    {
        static string Names(string kind, IReadOnlyList<string> names) =>
            $"the {kind}{(names.Count > 1 ? "s" : string.Empty)} {string.Join(", ", names.Take(10))}{(names.Count > 10 ? $" and {names.Count - 10} more" : string.Empty)} {(names.Count > 1 ? "hold" : "holds")}";
        var parts = new List<string>();
        if (nonFinite.Count > 0)
        {
            parts.Add($"{Names("parameter", nonFinite)} NaN or infinite values");
        }

        if (nan.Count > 0)
        {
            parts.Add($"{Names("buffer", nan)} NaN values");
        }

        return $"state: {string.Join(" and ", parts)}; the checkpoint is damaged or its training diverged (pass allowNonFinite: true to load it anyway).";
    }
}
