using System.Globalization;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// Picks an internal batch size that fits a memory budget: runs one step's forward and backward pass, measures
/// how much the process's peak resident memory grew, and fits as many steps per pass as the budget allows.
/// </summary>
/// <remarks>
/// The measurement reads Linux's /proc/self (the peak resident set, reset through clear_refs). Where it cannot
/// measure (another OS, or tensors on a GPU, whose memory the process's resident set does not show), it takes
/// the conservative choice of one step per pass.
/// </remarks>
internal static class MemoryProbe
{
    /// <summary>
    /// The internal batch size (rows per pass, a multiple of <paramref name="batchSize"/>) for
    /// <paramref name="maxMemoryBytes"/>, probing with <paramref name="probe"/>, which runs one step.
    /// </summary>
    public static int InternalBatchSize(long maxMemoryBytes, long batchSize, int steps, Device device, Action probe)
    {
        if (maxMemoryBytes < 1)
        {
            throw new ArgumentOutOfRangeException("MaxMemoryBytes", maxMemoryBytes, "MaxMemoryBytes must be positive.");
        }

        if (device.type != DeviceType.CPU || !File.Exists("/proc/self/status"))
        {
            probe();
            return (int)batchSize;
        }

        GC.Collect();
        var before = Read("VmRSS:");
        Reset();
        using (torch.NewDisposeScope())
        {
            probe();
        }

        var perStep = Math.Max(Read("VmHWM:") - before, 1L);
        var stepsPerPass = (int)Math.Clamp(maxMemoryBytes / perStep, 1, steps);
        return (int)Math.Min(int.MaxValue, stepsPerPass * batchSize);
    }

    private static void Reset()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static long Read(string field)
    {
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith(field, StringComparison.Ordinal));
        return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    }
}
