using Captum.Runtime;

namespace Captum.Cli;

/// <summary>Turns failures into one line on standard error and a non-zero exit code.</summary>
internal static class Fail
{
    /// <summary>Exit code of a failed run.</summary>
    public const int ExitCode = 2;

    /// <summary>Runs <paramref name="run"/>; an expected failure (<see cref="IsExpected"/>) becomes one error line and <see cref="ExitCode"/>.</summary>
    public static int Guard(TextWriter error, Func<int> run)
    {
        try
        {
            return run();
        }
        catch (Exception ex) when (IsExpected(ex))
        {
            return Report(error, ex);
        }
    }

    /// <summary>
    /// <see cref="Guard"/> with Ctrl+C and SIGTERM listened for (<see cref="TerminationSignal"/>, linked to
    /// <paramref name="cancellationToken"/>; <paramref name="run"/> gets the token they cancel): a cancellation becomes
    /// "<paramref name="command"/>: cancelled; nothing was written." and the exit code 130.
    /// </summary>
    public static int Cancellable(TextWriter error, string command, CancellationToken cancellationToken, Func<CancellationToken, int> run)
    {
        using var stop = new TerminationSignal(cancellationToken);
        try
        {
            return Guard(error, () => run(stop.Token));
        }
        catch (OperationCanceledException) when (stop.Token.IsCancellationRequested)
        {
            error.WriteLine($"{command}: cancelled; nothing was written.");
            return BatchCommands.CancelledExitCode;
        }
    }

    /// <summary>
    /// Whether <paramref name="ex"/> is a failure the user can act on (bad arguments or files, an unreadable or
    /// inconsistent file, libtorch refusing the work), reported in one line rather than as a stack trace.
    /// </summary>
    // IOException covers unreadable files, checkpoints included (their format exception is an IOException);
    // InvalidDataException (not an IOException) is what the readers of our own JSON files throw.
    public static bool IsExpected(Exception ex) =>
        ex is ArgumentException or IOException or InvalidDataException or InvalidOperationException or UnauthorizedAccessException
            or System.Runtime.InteropServices.ExternalException || TorchRuntime.AsUnavailable(ex) is not null;

    /// <summary>Writes an expected failure as one error line and returns <see cref="ExitCode"/>.</summary>
    public static int Report(TextWriter error, Exception ex)
    {
        return With(error, ErrorMessages.ForUser(TorchRuntime.AsUnavailable(ex) ?? ex));
    }

    /// <summary>Writes <paramref name="message"/> as one error line and returns <see cref="ExitCode"/>.</summary>
    public static int With(TextWriter error, string message)
    {
        error.WriteLine("captum: error: " + message.ReplaceLineEndings(" ").Trim());
        return ExitCode;
    }
}
