using System.Runtime.InteropServices;

namespace Captum.Runtime;

/// <summary>
/// A cancellation token that SIGTERM (Kubernetes evicting a pod, Slurm preempting a task) cancels as Ctrl+C does, so
/// long batch work writes what it has done before the process exits instead of the runtime ending it at once.
/// </summary>
/// <remarks>
/// The runtime runs signal handlers on a thread-pool thread, so a handler can still be running when the work it
/// would cancel has finished and disposed its token source (the host's own SIGTERM handling cancels the linked token
/// too): the handler tolerates that, where a bare <c>PosixSignalRegistration</c> over a disposed source ended the
/// process with an unhandled <see cref="ObjectDisposedException"/> (exit 134).
/// </remarks>
public sealed class TerminationSignal : IDisposable
{
    private readonly CancellationTokenSource source;
    private readonly PosixSignalRegistration registration;

    /// <summary>Starts listening for SIGTERM until disposed.</summary>
    /// <param name="linked">A token that also cancels (e.g. the command line's Ctrl+C token).</param>
    public TerminationSignal(CancellationToken linked)
    {
        source = CancellationTokenSource.CreateLinkedTokenSource(linked);
        registration = PosixSignalRegistration.Create(PosixSignal.SIGTERM, signal =>
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
        });
    }

    /// <summary>Cancelled by SIGTERM or by the linked token.</summary>
    public CancellationToken Token => source.Token;

    /// <summary>Stops listening, then frees the token source.</summary>
    public void Dispose()
    {
        registration.Dispose();
        source.Dispose();
    }
}
