namespace Captum.Cli;

/// <summary>Turns failures into one line on standard error and a non-zero exit code.</summary>
internal static class Fail
{
    /// <summary>Exit code of a failed run.</summary>
    public const int ExitCode = 2;

    public static int Guard(TextWriter error, Func<int> run)
    {
        try
        {
            return run();
        }
        // IOException covers unreadable files, checkpoints included (their format exception is an IOException).
        catch (Exception ex) when (ex is ArgumentException or IOException or InvalidOperationException or UnauthorizedAccessException or Captum.Runtime.TorchRuntimeUnavailableException)
        {
            return With(error, ex.Message);
        }
        catch (System.Runtime.InteropServices.ExternalException ex)
        {
            // libtorch's own errors carry its C++ stack after the first line.
            error.WriteLine("captum: error: libtorch: " + ex.Message.Split('\n')[0].Trim());
            return ExitCode;
        }
    }

    /// <summary>Writes <paramref name="message"/> as one error line and returns <see cref="ExitCode"/>.</summary>
    public static int With(TextWriter error, string message)
    {
        error.WriteLine("captum: error: " + OneLine(message));
        return ExitCode;
    }

    private static string OneLine(string message)
    {
        var line = message.ReplaceLineEndings(" ").Trim();
        var paramSuffix = line.IndexOf(" (Parameter '", StringComparison.Ordinal);
        return paramSuffix > 0 ? line[..paramSuffix] : line;
    }
}
