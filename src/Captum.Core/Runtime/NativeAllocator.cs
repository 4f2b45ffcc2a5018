using System.Runtime.InteropServices;

namespace Captum.Runtime;

/// <summary>
/// How libtorch's CPU memory is returned to the system on Linux. libtorch allocates tensors with the C library's
/// <c>malloc</c>; glibc raises its mmap threshold each time a large block is freed (up to 32 MiB), after which
/// tensors of that size come from the heap and stay resident once freed. A .NET program frees a pass's
/// intermediate tensors together when a dispose scope ends, rather than one by one as Python's reference counts
/// do, and the heap keeps hundreds of MB it cannot reuse well (measured in docs/performance.md). Fixing the
/// threshold makes every large tensor its own mapping, returned to the system when it is freed. The price is time:
/// every such tensor's pages are mapped and zeroed afresh (Integrated Gradients on ResNet-18 at 2 threads took 5.2 s
/// instead of 3.4 s, with a peak of 589 MB instead of 850 MB), so it is a choice for memory-bound work, not a default.
/// </summary>
/// <remarks>
/// Written by hand because no served library sets glibc's allocator parameters; the setting is glibc's
/// documented <c>mallopt(M_MMAP_THRESHOLD)</c>, the same as the environment variable <c>MALLOC_MMAP_THRESHOLD_</c>.
/// </remarks>
public static class NativeAllocator
{
    /// <summary>
    /// The threshold <see cref="ReturnLargeBlocks"/> sets by default: 128 KiB, glibc's own starting value, kept from
    /// rising (on ResNet-18, 1 MiB kept about as much memory resident and 4 MiB most of it; docs/performance.md).
    /// </summary>
    public const long DefaultMmapThreshold = 128 << 10;

    private const int MmapThresholdParameter = -3;

    /// <summary>
    /// Fixes glibc's mmap threshold at <paramref name="thresholdBytes"/> for the whole process, so that freed tensors
    /// of at least that size are returned to the system. Applications call it once at start, when memory matters more
    /// than time (the <c>captum</c> command with <c>CAPTUM_RETURN_LARGE_BLOCKS=1</c>, the benchmark with
    /// <c>--return-large-blocks</c>): blocks already freed into the heap before the call stay there and are reused
    /// whatever the threshold. A library never does it for its caller. Does nothing and returns
    /// false when the process does not run on glibc, or when <c>MALLOC_MMAP_THRESHOLD_</c> is set (the user's own
    /// choice wins).
    /// </summary>
    /// <param name="thresholdBytes">The size from which blocks are mapped on their own, in [4 KiB, 32 MiB].</param>
    /// <returns>True when the threshold was set.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="thresholdBytes"/> is outside [4 KiB, 32 MiB].</exception>
    public static bool ReturnLargeBlocks(long thresholdBytes = DefaultMmapThreshold)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(thresholdBytes, 4096);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(thresholdBytes, 32L << 20);
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable("MALLOC_MMAP_THRESHOLD_") is not null)
        {
            return false;
        }

        try
        {
            return Mallopt(MmapThresholdParameter, (int)thresholdBytes) == 1;
        }
        catch (Exception ex) when (ex is EntryPointNotFoundException or DllNotFoundException)
        {
            return false;
        }
    }

    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int Mallopt(int parameter, int value);
}
