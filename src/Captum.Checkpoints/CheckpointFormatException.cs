namespace Captum.Checkpoints;

/// <summary>
/// Thrown when a file or stream is not a PyTorch checkpoint that <see cref="TorchCheckpoint"/> can read: it is empty,
/// truncated, corrupt, of a foreign format (an image, a plain pickle, a zip without <c>data.pkl</c>) or of an
/// unsupported PyTorch serialization (the pre-0.4 tar format). The message always names the source (the file path
/// or the name given for a stream) and what was wrong.
/// <para>
/// It derives from <see cref="IOException"/>: <see cref="InvalidDataException"/>, the natural base, is sealed.
/// </para>
/// </summary>
public sealed class CheckpointFormatException : IOException
{
    /// <summary>Creates the exception with a generic message.</summary>
    public CheckpointFormatException()
        : base("The data is not a readable PyTorch checkpoint.")
    {
        Reason = Message;
    }

    /// <summary>Creates the exception with the given message (used as <see cref="Reason"/> too).</summary>
    /// <param name="message">What was wrong.</param>
    public CheckpointFormatException(string message)
        : base(message)
    {
        Reason = message;
    }

    /// <summary>Creates the exception with the given message and the exception that caused it.</summary>
    /// <param name="message">What was wrong.</param>
    /// <param name="innerException">The underlying error.</param>
    public CheckpointFormatException(string message, Exception? innerException)
        : base(message, innerException)
    {
        Reason = message;
    }

    /// <summary>
    /// Creates the exception for a source: the message reads
    /// <c>Cannot load PyTorch checkpoint '&lt;source&gt;': &lt;reason&gt;</c>.
    /// </summary>
    /// <param name="source">The file path, or the name given for a stream.</param>
    /// <param name="reason">What was wrong, e.g. <c>truncated storage 3 of 7 (expected 4096 bytes, got 100)</c>.</param>
    /// <param name="innerException">The underlying error, if any.</param>
    public CheckpointFormatException(string source, string reason, Exception? innerException = null)
        : base($"Cannot load PyTorch checkpoint '{source}': {reason}", innerException)
    {
        SourceName = source;
        Reason = reason;
    }

    /// <summary>The file path, or the name given for a stream (<c>null</c> when created without one).</summary>
    public string? SourceName { get; }

    /// <summary>What was wrong, without the source prefix.</summary>
    public string Reason { get; }
}
