using System.Globalization;

namespace Captum.Bench;

/// <summary>The process's peak resident set size (Linux's VmHWM), and resetting it between measurements.</summary>
internal static class ProcessMemory
{
    /// <summary>Writing 5 to clear_refs resets the peak resident set size.</summary>
    public static void ResetPeak()
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

    public static long PeakKb()
    {
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return line is null ? 0 : long.Parse(line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
    }
}
