namespace Captum.Attr;

/// <summary>
/// The memory budget of one forward and backward pass of the path methods that can size their internal batches
/// themselves (<see cref="IntegratedGradientsOptions.MaxMemoryBytes"/>, <see cref="LayerIntegratedGradientsOptions.MaxMemoryBytes"/>).
/// Beyond Captum, which runs every step in one pass unless told otherwise.
/// </summary>
public static class MemoryBudget
{
    /// <summary>The share of the memory available to the process that one call may use by default: a quarter.</summary>
    public const double DefaultShare = 0.25;

    /// <summary>Pass as <c>MaxMemoryBytes</c> to run every step in one pass, whatever it costs, as Captum does.</summary>
    public const long Unlimited = long.MaxValue;

    private static readonly AsyncLocal<long?> DefaultOverride = new();

    /// <summary>
    /// The default budget: <see cref="DefaultShare"/> of the memory available to the process (the machine's physical
    /// memory, or the container's limit when lower, as the .NET runtime reads them).
    /// </summary>
    public static long DefaultBytes => DefaultOverride.Value ?? (long)(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes * DefaultShare);

    /// <summary>
    /// Makes <see cref="DefaultBytes"/> <paramref name="bytes"/> for the caller's execution flow until the result is
    /// disposed: tests use it to stand for a machine of another size.
    /// </summary>
    internal static IDisposable WithDefaultBytes(long bytes)
    {
        var previous = DefaultOverride.Value;
        DefaultOverride.Value = bytes;
        return new Restore(() => DefaultOverride.Value = previous);
    }

    private sealed class Restore(Action restore) : IDisposable
    {
        public void Dispose() => restore();
    }
}
