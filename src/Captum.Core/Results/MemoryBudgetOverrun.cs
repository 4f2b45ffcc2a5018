using System.Globalization;

namespace Captum;

/// <summary>
/// Says that a call's smallest pass (one integration step, or one perturbation, of the whole batch) was measured to
/// need more memory than the default memory budget: the call ran anyway, one step or perturbation per pass, beyond the
/// budget. (A budget the caller gives, <c>MaxMemoryBytes</c>, is never exceeded this way: such a call is refused.)
/// </summary>
/// <param name="BudgetBytes">The default budget of the call (<c>MemoryBudget.DefaultBytes</c>, a quarter of the memory available unless a test changed it).</param>
/// <param name="PassBytes">What the smallest pass needs: the growth of the process's peak memory measured while one ran, and at least its inputs' bytes.</param>
/// <param name="Pass">What the smallest pass holds: <c>one integration step</c>, <c>two integration points</c>, <c>one perturbation</c>.</param>
public sealed record MemoryBudgetOverrun(long BudgetBytes, long PassBytes, string Pass)
{
    /// <summary>One sentence for a person: what was measured, against what budget, and that the call ran anyway.</summary>
    public string Message => string.Create(
        CultureInfo.InvariantCulture,
        $"{Pass} of the whole batch needs about {Bytes(PassBytes)}, more than the default memory budget of {Bytes(BudgetBytes)}; it ran anyway, one at a time, beyond the budget");

    /// <summary>A byte count for a person: bytes, KiB, MiB or GiB, to three significant figures.</summary>
    public static string Bytes(long bytes) => bytes switch
    {
        < 1L << 10 => string.Create(CultureInfo.InvariantCulture, $"{bytes} bytes"),
        < 1L << 20 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:G3} KiB"),
        < 1L << 30 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024):G3} MiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024 * 1024):G3} GiB"),
    };
}
