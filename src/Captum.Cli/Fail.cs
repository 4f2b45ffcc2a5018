using Captum.Checkpoints;

namespace Captum.Cli;

/// <summary>A mistake in how the command was called; reported in one line.</summary>
internal sealed class UsageException(string message) : Exception(message);

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
        catch (Exception ex) when (ex is UsageException or ArgumentException or IOException or CheckpointFormatException or InvalidOperationException or UnauthorizedAccessException or Captum.Runtime.TorchRuntimeUnavailableException)
        {
            error.WriteLine("captum: error: " + OneLine(ex.Message));
            return ExitCode;
        }
        catch (System.Runtime.InteropServices.ExternalException ex)
        {
            // libtorch's own errors carry its C++ stack after the first line.
            error.WriteLine("captum: error: libtorch: " + ex.Message.Split('\n')[0].Trim());
            return ExitCode;
        }
    }

    public static void RequireFile(string path, string option)
    {
        if (!File.Exists(path))
        {
            throw new UsageException($"{option}: file not found: {path}");
        }
    }

    private static string OneLine(string message)
    {
        var line = message.ReplaceLineEndings(" ").Trim();
        var paramSuffix = line.IndexOf(" (Parameter '", StringComparison.Ordinal);
        return paramSuffix > 0 ? line[..paramSuffix] : line;
    }
}
