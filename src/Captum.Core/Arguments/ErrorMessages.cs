namespace Captum;

/// <summary>
/// Exception messages as one line for a user: a command's error line, a result file's reason, a web answer. Shared by
/// the CLI, the plugins and the web app so that they all say the same thing the same way.
/// </summary>
public static partial class ErrorMessages
{
    /// <summary>
    /// The message of <paramref name="exception"/> as one line: libtorch's errors keep only their first line (a C++
    /// stack follows it), others have their line breaks folded into spaces, and the " (Parameter 'name')" suffixes .NET appends to an
    /// <see cref="ArgumentException"/>'s message are dropped (the message names the argument itself).
    /// </summary>
    public static string OneLine(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var message = exception is System.Runtime.InteropServices.ExternalException
            ? exception.Message.Split('\n')[0]
            : exception.Message.ReplaceLineEndings(" ");
        return WithoutParameterSuffix(message.Trim());
    }

    /// <summary>
    /// What a user is told of a failure in one line: <see cref="OneLine"/>, with "libtorch: " before libtorch's own
    /// errors (an <see cref="System.Runtime.InteropServices.ExternalException"/>), which name no argument of ours.
    /// </summary>
    public static string ForUser(Exception exception) =>
        (exception is System.Runtime.InteropServices.ExternalException ? "libtorch: " : string.Empty) + OneLine(exception);

    /// <summary>
    /// <paramref name="exception"/>'s message without the " (Parameter 'name')" suffix .NET appends to it, and
    /// without a leading "name: " when the message starts with its own parameter's name.
    /// </summary>
    public static string Bare(ArgumentException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var message = WithoutParameterSuffix(exception.Message);
        return exception.ParamName is { Length: > 0 } name && message.StartsWith(name + ": ", StringComparison.Ordinal)
            ? message[(name.Length + 2)..]
            : message;
    }

    /// <summary>
    /// <paramref name="exception"/> said about <paramref name="name"/> instead (e.g. a library argument renamed to the
    /// command-line option or file that gave it): the message becomes "<paramref name="prefix"/>: message", the
    /// original kept as the inner exception.
    /// </summary>
    public static ArgumentException Renamed(ArgumentException exception, string name, string prefix)
    {
        ArgumentNullException.ThrowIfNull(exception);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentException.ThrowIfNullOrEmpty(prefix);
        return new ArgumentException($"{prefix}: {Bare(exception)}", name, exception);
    }

    // Every occurrence, not only the last: a message built from an inner ArgumentException's message carries its suffix too.
    private static string WithoutParameterSuffix(string message) => ParameterSuffix().Replace(message, string.Empty);

    [System.Text.RegularExpressions.GeneratedRegex(@" \(Parameter '[^']*'\)")]
    private static partial System.Text.RegularExpressions.Regex ParameterSuffix();
}
