using System.Runtime.CompilerServices;
using TorchSharp;

namespace Captum.Runtime;

/// <summary>
/// Checks that TorchSharp's native runtime (libtorch) can be loaded and turns the loader's
/// failure into an error that names what is missing and how to install it.
/// </summary>
public static class TorchRuntime
{
    private static readonly Lazy<Exception?> LoadFailure = new(Probe, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>
    /// Throws <see cref="TorchRuntimeUnavailableException"/> when libtorch cannot be loaded on this
    /// machine. Every public CaptumSharp entry point calls it, so the first failure is explained once.
    /// </summary>
    public static void EnsureAvailable()
    {
        if (LoadFailure.Value is { } failure)
        {
            throw failure;
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> with libtorch's intra-op thread count (<c>torch.set_num_threads</c>) set to
    /// <paramref name="threads"/>, and restores the previous count afterwards, also when it throws. The count is
    /// process-wide: use it for work that owns the process, such as training a model from a command.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="threads"/> is below 1.</exception>
    public static T WithThreads<T>(int threads, Func<T> work)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        ArgumentNullException.ThrowIfNull(work);
        var previous = torch.get_num_threads();
        torch.set_num_threads(threads);
        try
        {
            return work();
        }
        finally
        {
            torch.set_num_threads(previous);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Exception? Probe()
    {
        try
        {
            using var probe = torch.zeros(1);
            return null;
        }
        catch (Exception ex) when (ex is DllNotFoundException or TypeInitializationException or NotSupportedException or BadImageFormatException)
        {
            return Explain(ex);
        }
    }

    internal static TorchRuntimeUnavailableException Explain(Exception ex)
    {
        var all = string.Join(" | ", Unwrap(ex).Select(e => e.Message));
        string reason;
        if (all.Contains("GLIBCXX", StringComparison.Ordinal))
        {
            reason = "libtorch (TorchSharp 0.107, libtorch 2.10) needs a libstdc++ that provides GLIBCXX_3.4.32 " +
                     "(GCC 13 or newer) and this machine's libstdc++ is older. Run scripts/setup.sh from the " +
                     "CaptumSharp repository (on Debian 12 it installs libstdc++6 from Debian 13), or install " +
                     "libstdc++6 >= 13 with your package manager.";
        }
        else
        {
            reason = "the libtorch native library could not be loaded. Reference exactly one backend package " +
                     "(TorchSharp-cpu, or TorchSharp-cuda-linux with -p:TorchBackend=cuda) and run scripts/setup.sh.";
        }

        return new TorchRuntimeUnavailableException($"TorchSharp's native runtime is unavailable: {reason} Loader said: {all}", ex);
    }

    private static IEnumerable<Exception> Unwrap(Exception ex)
    {
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            yield return e;
        }
    }
}

/// <summary>The libtorch native runtime could not be loaded; the message says what is missing.</summary>
public sealed class TorchRuntimeUnavailableException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TorchRuntimeUnavailableException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
