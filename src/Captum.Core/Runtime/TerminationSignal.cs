using System.Runtime.InteropServices;

namespace Captum.Runtime;

/// <summary>
/// A cancellation token that Ctrl+C (SIGINT) and SIGTERM (Kubernetes evicting a pod, Slurm preempting a task) cancel,
/// so long batch work writes what it has done before the process exits instead of the runtime ending it at once. A
/// second Ctrl+C ends the process at once, as users expect when the first is not enough.
/// </summary>
/// <remarks>
/// The signals are caught here rather than left to System.CommandLine: its synchronous <c>Invoke</c> registers no
/// handler, so Ctrl+C ended the process (exit 130) with the answers computed so far unwritten. The runtime runs signal
/// handlers on a thread-pool thread, so a handler can still be running when the work it would cancel has finished
/// and disposed its token source: the handler tolerates that, where a bare <c>PosixSignalRegistration</c> over a
/// disposed source ended the process with an unhandled <see cref="ObjectDisposedException"/> (exit 134).
/// </remarks>
public sealed class TerminationSignal : IDisposable
{
    private readonly CancellationTokenSource source;
    private readonly PosixSignalRegistration terminate;
    private readonly PosixSignalRegistration interrupt;
    private int interrupts;

    /// <summary>Starts listening for SIGINT and SIGTERM until disposed.</summary>
    /// <param name="linked">A token that also cancels (e.g. the command line's own cancellation token).</param>
    public TerminationSignal(CancellationToken linked)
    {
        source = CancellationTokenSource.CreateLinkedTokenSource(linked);
        try
        {
            terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
            interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, signal =>
            {
                // The first Ctrl+C asks the work to stop; a second one is left to the runtime, which ends the process.
                if (Interlocked.Increment(ref interrupts) == 1)
                {
                    Stop(signal);
                }
            });
        }
        catch
        {
            terminate?.Dispose();
            source.Dispose();
            throw;
        }
    }

    /// <summary>Cancelled by SIGINT, SIGTERM or the linked token.</summary>
    public CancellationToken Token => source.Token;

    /// <summary>Stops listening, then frees the token source.</summary>
    public void Dispose()
    {
        interrupt.Dispose();
        terminate.Dispose();
        source.Dispose();
    }

    private void Stop(PosixSignalContext signal)
    {
        signal.Cancel = true;
        try
        {
            source.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The work is over; the process is exiting on its own.
        }
    }
}
