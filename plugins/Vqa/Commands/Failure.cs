namespace Captum.Plugins.Vqa.Commands;

/// <summary>Why something failed, as one line for a message or result.json.</summary>
internal static class Failure
{
    /// <summary>The exception's message: its first line (libtorch's follow with a C++ stack), without .NET's " (Parameter '...')".</summary>
    public static string Reason(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var message = exception.Message;
        if (exception is ArgumentException { ParamName: { } name })
        {
            message = message.Replace($" (Parameter '{name}')", string.Empty, StringComparison.Ordinal);
        }

        return message.Split('\n')[0].Trim();
    }
}
