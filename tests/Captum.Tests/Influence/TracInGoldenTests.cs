using Captum.Golden;
using Xunit;

namespace Captum.Tests.Influence;

/// <summary>
/// Captum 0.8.0's TracInCP and TracInCPFast answers (../shared/golden/captum-0.8.0-modules: scores, top-k proponents,
/// self influence) are replayed by the golden runner (Captum.Golden's TracInMethod), in
/// <see cref="Captum.Tests.Golden.GoldenAttributionTests"/> as by scripts/golden.sh; here, that the folder holds every
/// kind of call and the runner replays each.
/// </summary>
public sealed class TracInGoldenTests
{
    [Fact]
    public void Cases_IncludeEveryKindOfCall()
    {
        var files = GoldenCase.DiscoverFiles(GoldenCase.ModulesDirectory())
            .Where(f => GoldenCase.Peek(f).Method is "TracInCP" or "TracInCPFast")
            .Select(Path.GetFileName)
            .ToList();

        Assert.Contains(files, n => n!.Contains("self_influence", StringComparison.Ordinal));
        Assert.Contains(files, n => n!.Contains("proponents", StringComparison.Ordinal));
        Assert.Contains(files, n => n!.Contains("fast", StringComparison.Ordinal));
        Assert.Contains("TracInCP", GoldenRunner.Implemented);
        Assert.Contains("TracInCPFast", GoldenRunner.Implemented);
    }
}
