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
/// the conservative choice of one step per pass. The peak is the process's, so probes run one at a time: a probe
/// that reset the peak while another was measuring would hide the other's growth (and give it too large a batch).
/// Work on other threads that is not a probe still counts, which can only make the choice smaller. When even the
/// smallest pass needs more than the budget, a budget the caller gave is refused (naming <c>MaxMemoryBytes</c>) and
/// the default one is exceeded and reported (<see cref="MemoryBudgetOverrun"/>).
/// </remarks>
internal static class MemoryProbe
{
    /// <summary>A budget in bytes, and whether the caller gave it (<c>MaxMemoryBytes</c>) or it is the default.</summary>
    internal readonly record struct Choice(long Bytes, bool Given);

    private static readonly Lock ProbeGate = new();

    /// <summary>
    /// How much of the default budget's room a pass is assumed to need per byte of its per-example tensors: below
    /// <c>rows x bytes per row x</c> this, no probe runs (a model's activations and their gradients rarely exceed a
    /// thousand times its inputs'; integer elements count as four bytes, the size of the embedding they index into
    /// being unknown).
    /// </summary>
    internal const long AssumedBytesPerInputByte = 1024;

    /// <summary>
    /// The budget to probe with, or null to run every step in one pass: <paramref name="maxMemoryBytes"/> when given
    /// (null for <see cref="MemoryBudget.Unlimited"/>); otherwise <see cref="MemoryBudget.DefaultBytes"/> when the
    /// memory can be measured (CPU tensors, Linux) and the pass is not evidently small, judged from the per-example
    /// tensors <paramref name="perExample"/> (the inputs, and the layer values for layer methods) of a batch of
    /// <paramref name="batchSize"/> expanded <paramref name="steps"/> times.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxMemoryBytes"/> is not positive.</exception>
    public static Choice? Budget(long? maxMemoryBytes, int steps, long batchSize, Device device, IEnumerable<Tensor> perExample)
    {
        CheckBudget(maxMemoryBytes);
        if (maxMemoryBytes is { } given)
        {
            return given == MemoryBudget.Unlimited ? null : new Choice(given, Given: true);
        }

        if (steps <= 1 || !CanMeasure(device))
        {
            return null;
        }

        var budget = MemoryBudget.DefaultBytes;
        return EvidentlyFits((double)steps * batchSize, perExample, batchSize, budget) ? null : new Choice(budget, Given: false);
    }

    /// <summary>Checks a <c>MaxMemoryBytes</c> option: null, or positive.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxMemoryBytes"/> is not positive.</exception>
    public static void CheckBudget(long? maxMemoryBytes)
    {
        if (maxMemoryBytes is < 1)
        {
            throw new ArgumentOutOfRangeException("MaxMemoryBytes", maxMemoryBytes, "MaxMemoryBytes must be positive (MemoryBudget.Unlimited for no budget).");
        }
    }

    /// <summary>
    /// Whether <paramref name="rows"/> rows fit <paramref name="budget"/> even at <see cref="AssumedBytesPerInputByte"/>
    /// times the per-example tensors' bytes (<paramref name="perExample"/>, a batch of <paramref name="batchSize"/>), so
    /// that nothing needs measuring.
    /// </summary>
    public static bool EvidentlyFits(double rows, IEnumerable<Tensor> perExample, long batchSize, long budget)
    {
        var bytesPerRow = perExample.Sum(t => t.numel() * Math.Max(t.ElementSize, 4)) / Math.Max(batchSize, 1);
        return rows * bytesPerRow * AssumedBytesPerInputByte <= budget;
    }

    private static bool CanMeasure(Device device) => device.type == DeviceType.CPU && File.Exists("/proc/self/status");

    /// <summary>
    /// The internal batch size (rows per pass, a multiple of <paramref name="batchSize"/>) for <paramref name="budget"/>,
    /// probing with <paramref name="probe"/>, which runs one step of the batch, whose per-example tensors are
    /// <paramref name="perExample"/>; and the overrun when even <paramref name="fewestSteps"/> steps (the smallest pass
    /// the method can make) need more than a default budget.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// The budget was given (<c>MaxMemoryBytes</c>) and the smallest pass needs more: refused from the tensors' own bytes
    /// before any pass when they alone exceed it, otherwise after the probe (measured twice, since work on other threads
    /// counts too), before the steps.
    /// </exception>
    public static (int Rows, MemoryBudgetOverrun? Overrun) InternalBatchSize(
        Choice budget, long batchSize, int steps, Device device, IReadOnlyList<Tensor> perExample, Action probe, int fewestSteps = 1)
    {
        var pass = fewestSteps switch { 1 => "one integration step", 2 => "two integration points", _ => $"{fewestSteps} integration points" };
        var floor = fewestSteps * perExample.Sum(t => t.numel() * t.ElementSize);
        var overrun = Overrun(budget, floor, pass);
        if (!CanMeasure(device))
        {
            probe();
            return ((int)Math.Min(int.MaxValue, fewestSteps * batchSize), overrun);
        }

        var perStep = Math.Max(ScopedPeakGrowth(probe), floor / fewestSteps);
        if (perStep * fewestSteps > budget.Bytes && overrun is null)
        {
            // Confirmed by a second probe before it is refused or reported: another thread's work may have raised the peak.
            perStep = Math.Max(Math.Min(perStep, ScopedPeakGrowth(probe)), floor / fewestSteps);
        }

        overrun = Overrun(budget, perStep * fewestSteps, pass);
        var stepsPerPass = (int)Math.Clamp(budget.Bytes / perStep, fewestSteps, Math.Max(steps, fewestSteps));
        return ((int)Math.Min(int.MaxValue, stepsPerPass * batchSize), overrun);
    }

    /// <summary>
    /// Null when a pass of <paramref name="passBytes"/> fits <paramref name="budget"/>; otherwise the overrun of a default
    /// budget.
    /// </summary>
    /// <exception cref="ArgumentException">The budget was given and the pass does not fit it; the message names <c>MaxMemoryBytes</c>.</exception>
    public static MemoryBudgetOverrun? Overrun(Choice budget, long passBytes, string pass)
    {
        if (passBytes <= budget.Bytes)
        {
            return null;
        }

        if (budget.Given)
        {
            throw new ArgumentException(
                $"MaxMemoryBytes is {MemoryBudgetOverrun.Bytes(budget.Bytes)}, but {pass} of the whole batch alone needs about {MemoryBudgetOverrun.Bytes(passBytes)}: raise MaxMemoryBytes, attribute fewer or smaller inputs per call, or pass MemoryBudget.Unlimited to run whatever it costs.",
                "MaxMemoryBytes");
        }

        return new MemoryBudgetOverrun(budget.Bytes, passBytes, pass);
    }

    private static long ScopedPeakGrowth(Action probe) => PeakGrowth(() =>
    {
        using (torch.NewDisposeScope())
        {
            probe();
        }
    });

    /// <summary>
    /// How much the process's peak resident memory rose above its resident memory while <paramref name="action"/>
    /// ran, at least 1 byte; null where it cannot be measured (not Linux, or tensors on a GPU).
    /// </summary>
    public static long? PeakGrowth(Device device, Action action)
    {
        if (!CanMeasure(device))
        {
            action();
            return null;
        }

        return PeakGrowth(action);
    }

    private static long PeakGrowth(Action action)
    {
        lock (ProbeGate)
        {
            GC.Collect();
            var before = Read("VmRSS:");
            Reset();
            action();
            return Math.Max(Read("VmHWM:") - before, 1L);
        }
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
        return line is null ? 0 : long.Parse(line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    }
}
