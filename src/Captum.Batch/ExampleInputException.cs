namespace Captum.Batch;

/// <summary>
/// An example's input could not be read (a manifest's text file that is missing, unreadable or not UTF-8): the
/// example fails, and its row names it by <see cref="ExampleId"/>.
/// </summary>
public sealed class ExampleInputException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="exampleId">The example's id.</param>
    /// <param name="message">What could not be read, naming the file.</param>
    /// <param name="innerException">The cause.</param>
    public ExampleInputException(string exampleId, string message, Exception? innerException)
        : base(message, innerException)
    {
        ExampleId = exampleId;
    }

    /// <summary>The id of the example whose input could not be read.</summary>
    public string ExampleId { get; }
}
