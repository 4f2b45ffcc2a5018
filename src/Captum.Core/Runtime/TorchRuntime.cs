using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;

namespace Captum.Runtime;

/// <summary>
/// Checks that TorchSharp's native runtime (libtorch) can be loaded and computes correct numbers on this CPU, and
/// turns the loader's failure into an error that names what is missing and how to install it.
/// </summary>
public static class TorchRuntime
{
    private static readonly Lazy<Exception?> LoadFailure = new(Probe, LazyThreadSafetyMode.ExecutionAndPublication);
    private static volatile bool quietLoadRequested;

    /// <summary>
    /// Throws <see cref="TorchRuntimeUnavailableException"/> when libtorch cannot be loaded on this
    /// machine. Every public CaptumSharp entry point calls it, so the first failure is explained once.
    /// </summary>
    /// <remarks>
    /// The first call also checks, once per process and in a few milliseconds, that libtorch's oneDNN kernels give
    /// the numbers of its own reference kernels on this CPU (a convolution's gradients and an LSTM); where they do
    /// not, oneDNN is switched off for the whole process (<c>torch.backends.mkldnn.enabled = False</c> in Python)
    /// and <see cref="KernelWarning"/> says why. Where NNPACK cannot run on this CPU it is switched off too, so that
    /// libtorch does not log "Could not initialize NNPACK" at every convolution (nor once: the one query here is made quietly). Applications
    /// that run models before calling CaptumSharp call this method first.
    /// </remarks>
    public static void EnsureAvailable()
    {
        if (LoadFailure.Value is { } failure)
        {
            throw failure;
        }
    }

    /// <summary>
    /// <see cref="EnsureAvailable"/> for a program that owns its console, such as a command-line tool: when this is the
    /// process's first check, standard output is silenced while libtorch loads, because TorchSharp prints its whole
    /// load trace there before it fails (the exception carries the same text as its inner exception). Call it at
    /// start-up, before other threads write to the console: what they write in that moment is lost.
    /// </summary>
    /// <exception cref="TorchRuntimeUnavailableException">libtorch cannot be loaded; the message says why and how to fix it.</exception>
    public static void EnsureAvailableQuietly()
    {
        quietLoadRequested = true;
        EnsureAvailable();
    }

    /// <summary>
    /// Runs <paramref name="work"/> with libtorch's intra-op thread count (<c>torch.set_num_threads</c>) set to
    /// <paramref name="threads"/>, and restores the previous count afterwards, also when it throws. Use it for work that
    /// owns the process, such as training a model from a command.
    /// </summary>
    /// <remarks>
    /// libtorch's CPU builds keep the count per thread once a thread has run libtorch work (OpenMP's setting), and a
    /// thread takes the count last set when it first runs libtorch work. So the count reaches the calling thread and
    /// threads whose first libtorch work happens during <paramref name="work"/> (which keep it afterwards); a pool
    /// thread that ran libtorch work before keeps its own count. A command-line process, which sets the count before
    /// any other thread has used libtorch, gets it everywhere.
    /// </remarks>
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

    /// <summary>
    /// Runs <paramref name="work"/> as <see cref="WithThreads{T}(int, Func{T})"/> does when <paramref name="threads"/>
    /// is given, and leaves libtorch's thread count as it is when it is null (a command's <c>--threads</c> not given).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="threads"/> is below 1.</exception>
    public static T WithThreads<T>(int? threads, Func<T> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        return threads is { } n ? WithThreads(n, work) : work();
    }

    /// <summary>
    /// Null when libtorch's kernels passed the check of <see cref="EnsureAvailable"/> (or it has not run yet);
    /// otherwise what was wrong and that oneDNN was switched off, for an application to show as a warning.
    /// </summary>
    public static string? KernelWarning { get; private set; }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Exception? Probe()
    {
        // TorchSharp writes its whole load trace (some 30 lines) to standard output before it throws; the exception
        // carries the same text. Only a program that owns its console asks for it to be silenced meanwhile.
        var console = Console.Out;
        var silenced = quietLoadRequested ? TextWriter.Synchronized(TextWriter.Null) : null;
        try
        {
            if (silenced is not null)
            {
                Console.SetOut(silenced);
            }

            using (torch.zeros(1))
            {
            }
        }
        catch (Exception ex) when (ex is DllNotFoundException or TypeInitializationException or NotSupportedException or BadImageFormatException)
        {
            return Explain(ex);
        }
        finally
        {
            // Another thread's Console.SetOut in the meantime is kept.
            if (silenced is not null && ReferenceEquals(Console.Out, silenced))
            {
                Console.SetOut(console);
            }
        }

        return CheckKernels();
    }

    internal static Exception? CheckKernels()
    {
        string? wrong;
        // The check builds an LSTM and draws inputs from libtorch's global generator: the caller's seeded draws
        // (torch.manual_seed, then a noise tunnel) must not depend on whether this call was the process's first.
        using (var state = torch.get_rng_state())
        {
            try
            {
                NativeKernelCheck.DisableUnavailableNnpack();
                wrong = NativeKernelCheck.FindWrongKernel();
            }
            catch (Exception ex) when (ex is ExternalException or InvalidOperationException or ArgumentException)
            {
                KernelWarning = $"libtorch's kernels could not be checked on this CPU ({ex.Message}); they are used as they are.";
                return null;
            }
            finally
            {
                torch.set_rng_state(state);
            }
        }

        if (wrong is null)
        {
            return null;
        }

        if (NativeKernelCheck.Disable() && NativeKernelCheck.FindWrongKernel() is null)
        {
            KernelWarning = $"libtorch's oneDNN kernels compute wrong numbers on this CPU ({wrong}); oneDNN is switched off for this process, so convolutions and LSTMs use libtorch's own kernels (correct, slower).";
            return null;
        }

        return new TorchRuntimeUnavailableException(
            $"libtorch computes wrong numbers on this CPU ({wrong}) and oneDNN could not be switched off from here. Set DNNL_MAX_CPU_ISA=AVX in the environment before starting the program (oneDNN's AVX kernels passed this check on a CPU where the wider ones failed, but gave NaN there when two models ran at once: run one model at a time) and try again.",
            null);
    }

    internal static TorchRuntimeUnavailableException Explain(Exception ex)
    {
        // The first line of each loader message: TorchSharp's own adds its load trace, which stays on the inner exception.
        var all = string.Join(" | ", Unwrap(ex)
            .Where(e => e is not TypeInitializationException)
            .Select(e => e.Message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? string.Empty)
            .Where(line => line.Length > 0)
            .Distinct(StringComparer.Ordinal));
        if (all.Length == 0)
        {
            all = ex.Message;
        }

        string reason;
        if (Unwrap(ex).Any(e => e.Message.Contains("GLIBCXX", StringComparison.Ordinal)))
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

    /// <summary>
    /// Whether <paramref name="ex"/> says the machine ran out of memory: .NET's <see cref="OutOfMemoryException"/>, or
    /// libtorch's allocator failing ("can't allocate memory" on the CPU, "out of memory" on CUDA). Such a failure is the
    /// machine's, not the input's: callers report it as it is rather than blaming the data.
    /// </summary>
    public static bool IsOutOfMemory(Exception ex) =>
        ex is OutOfMemoryException
        || (ex is ExternalException && (ex.Message.Contains("can't allocate memory", StringComparison.Ordinal) || ex.Message.Contains("out of memory", StringComparison.OrdinalIgnoreCase)));

    /// <summary>
    /// The explanation of <paramref name="ex"/> when it is TorchSharp failing to load libtorch (the
    /// <see cref="TypeInitializationException"/> of its <c>torch</c> class that every later use of TorchSharp throws);
    /// otherwise null.
    /// </summary>
    public static TorchRuntimeUnavailableException? AsUnavailable(Exception ex) => ex switch
    {
        TorchRuntimeUnavailableException unavailable => unavailable,
        TypeInitializationException { TypeName: { } type } when type.StartsWith("TorchSharp", StringComparison.Ordinal) => Explain(ex),
        _ => null,
    };

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
    public TorchRuntimeUnavailableException(string message, Exception? inner)
        : base(message, inner)
    {
    }
}
