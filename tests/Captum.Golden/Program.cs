using Captum.Golden;

// scripts/golden.sh [DIR...]: per folder, one line per failing or skipped case, then the folder's summary line;
// with several folders, a last line for all of them. Non-zero exit on failures.
// Without arguments: the attribution cases ($CAPTUM_GOLDEN_DIR or shared/golden/captum-0.8.0), then the other
// modules' cases ($CAPTUM_GOLDEN_MODULES_DIR or shared/golden/captum-0.8.0-modules).
// Before any model is built: the kernel check switches off libtorch's oneDNN where it computes wrong numbers on this
// CPU, and the first line says so, as `captum plugins` does.
Captum.Runtime.TorchRuntime.EnsureAvailable();
if (Captum.Runtime.TorchRuntime.KernelWarning is { } warning)
{
    Console.WriteLine($"libtorch: {warning}");
}

var directories = args.Length > 0 ? args : [GoldenCase.GoldenDirectory(), GoldenCase.ModulesDirectory()];
var all = new List<GoldenOutcome>();
foreach (var directory in directories)
{
    if (!Directory.Exists(directory))
    {
        Console.Error.WriteLine($"golden: no such folder: {directory}");
        return 2;
    }

    var outcomes = GoldenRunner.RunAll(GoldenCase.DiscoverFiles(directory));
    foreach (var o in outcomes.Where(o => o.Status == GoldenStatus.Failed))
    {
        Console.WriteLine($"FAILED {o.Name}: {o.Message}");
    }

    foreach (var o in outcomes.Where(o => o.Status == GoldenStatus.Skipped))
    {
        Console.WriteLine($"skipped {o.Name}: {o.Message}");
    }

    Console.WriteLine($"golden {Path.GetFileName(Path.TrimEndingDirectorySeparator(directory))}: {Summary(outcomes)}");
    all.AddRange(outcomes);
}

if (directories.Length > 1)
{
    Console.WriteLine($"golden: {Summary(all)}");
}

return all.Any(o => o.Status == GoldenStatus.Failed) ? 1 : 0;

static string Summary(IReadOnlyCollection<GoldenOutcome> outcomes)
{
    var passed = outcomes.Count(o => o.Status == GoldenStatus.Passed);
    var failed = outcomes.Count(o => o.Status == GoldenStatus.Failed);
    var skipped = outcomes.Where(o => o.Status == GoldenStatus.Skipped).ToList();
    var line = $"{outcomes.Count} cases, {passed} passed, {failed} failed, {skipped.Count} skipped";
    var methods = skipped.GroupBy(o => o.Method).Select(g => $"{g.Key} {g.Count()}").ToList();
    return methods.Count == 0 ? line : $"{line} ({string.Join(", ", methods)})";
}
