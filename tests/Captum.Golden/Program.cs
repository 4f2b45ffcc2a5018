using Captum.Golden;

// scripts/golden.sh [DIR]: one line per failing case, then the summary line; non-zero exit on failures.
var directory = args.Length > 0 ? args[0] : GoldenCase.GoldenDirectory();
if (!Directory.Exists(directory))
{
    Console.Error.WriteLine($"golden: no such folder: {directory}");
    return 2;
}

var files = Directory.GetFiles(directory, "*.json").OrderBy(f => f, StringComparer.Ordinal).ToList();
var outcomes = GoldenRunner.RunAll(files);
foreach (var o in outcomes.Where(o => o.Status == GoldenStatus.Failed))
{
    Console.WriteLine($"FAILED {o.Name}: {o.Message}");
}

foreach (var o in outcomes.Where(o => o.Status == GoldenStatus.Skipped))
{
    Console.WriteLine($"skipped {o.Name}: {o.Message}");
}

var passed = outcomes.Count(o => o.Status == GoldenStatus.Passed);
var failed = outcomes.Count(o => o.Status == GoldenStatus.Failed);
var skipped = outcomes.Count(o => o.Status == GoldenStatus.Skipped);
Console.WriteLine($"golden: {outcomes.Count} cases, {passed} passed, {failed} failed, {skipped} skipped");
return failed > 0 ? 1 : 0;
