using Captum.Golden;
using Xunit;
using Xunit.Abstractions;

namespace Captum.Tests.Golden;

/// <summary>Every golden case reproduces Captum 0.8.0's attributions and deltas within the README's tolerance.</summary>
public sealed class GoldenAttributionTests(ITestOutputHelper output)
{
    public static TheoryData<string> Cases() => GoldenData.FileNames();

    [Theory]
    [MemberData(nameof(Cases))]
    public void Attribute_GoldenCase_MatchesCaptum(string file)
    {
        var outcome = GoldenRunner.RunFile(Path.Combine(GoldenCase.GoldenDirectory(), file));
        if (outcome.Status == GoldenStatus.Skipped)
        {
            // Cases of methods a later issue implements are reported, not hidden: the reason is printed.
            output.WriteLine($"SKIPPED {outcome.Name}: {outcome.Message}");
            Assert.DoesNotContain(GoldenCase.Load(file).Method, GoldenRunner.Implemented);
            return;
        }

        Assert.True(outcome.Status == GoldenStatus.Passed, $"{outcome.Name}: {outcome.Message}");
    }

    [Fact]
    public void RunAll_IntegratedGradientsCases_NoneSkipped()
    {
        var outcomes = GoldenRunner.RunAll(GoldenCase.DiscoverFiles());
        var integrated = outcomes.Where(o => o.Name.StartsWith("ig_", StringComparison.Ordinal) || o.Name.StartsWith("lig_", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(integrated);
        Assert.All(integrated, o => Assert.NotEqual(GoldenStatus.Skipped, o.Status));
    }
}
