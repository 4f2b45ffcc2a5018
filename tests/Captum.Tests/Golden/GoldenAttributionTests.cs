using Captum.Golden;
using Xunit;
using Xunit.Abstractions;

namespace Captum.Tests.Golden;

/// <summary>
/// Every golden case reproduces Captum 0.8.0's answers within the README's tolerance: the attribution cases and the
/// robustness cases of the modules folder. Cases of methods the runner does not replay (the modules folder's LLM and
/// influence cases) are skipped with the method's name, never failed.
/// </summary>
public sealed class GoldenAttributionTests(ITestOutputHelper output)
{
    private static readonly string[] RobustnessMethods = ["FGSM", "PGD"];

    public static TheoryData<string> Cases() => GoldenData.FileNames();

    public static TheoryData<string> ModuleCases() => GoldenData.ModuleFileNames();

    [Theory]
    [MemberData(nameof(Cases))]
    public void Attribute_GoldenCase_MatchesCaptum(string file) =>
        AssertPassesOrIsSkippedByName(Path.Combine(GoldenCase.GoldenDirectory(), file));

    [Theory]
    [MemberData(nameof(ModuleCases))]
    public void Run_GoldenModulesCase_MatchesCaptumOrIsSkippedWithItsMethod(string file) =>
        AssertPassesOrIsSkippedByName(Path.Combine(GoldenCase.ModulesDirectory(), file));

    [Fact]
    public void RunAll_IntegratedGradientsCases_NoneSkipped()
    {
        var outcomes = GoldenRunner.RunAll(GoldenCase.DiscoverFiles());
        var integrated = outcomes.Where(o => o.Name.StartsWith("ig_", StringComparison.Ordinal) || o.Name.StartsWith("lig_", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(integrated);
        Assert.All(integrated, o => Assert.NotEqual(GoldenStatus.Skipped, o.Status));
    }

    [Fact]
    public void Peek_AttributionFolder_EveryMethodIsReplayed()
    {
        var methods = GoldenCase.DiscoverFiles().Select(f => GoldenCase.Peek(f).Method).Distinct().ToList();
        Assert.All(methods, m => Assert.Contains(m, GoldenRunner.Implemented));
    }

    [Fact]
    public void RunAll_RobustnessCases_NoneSkippedAndAllPass()
    {
        var files = GoldenCase.DiscoverFiles(GoldenCase.ModulesDirectory())
            .Where(f => RobustnessMethods.Contains(GoldenCase.Peek(f).Method))
            .ToList();
        Assert.Contains(files, f => GoldenCase.Peek(f).Method == "FGSM");
        Assert.Contains(files, f => GoldenCase.Peek(f).Method == "PGD");

        var outcomes = GoldenRunner.RunAll(files);

        Assert.All(outcomes, o => Assert.True(o.Status == GoldenStatus.Passed, $"{o.Name}: {o.Status} {o.Message}"));
    }

    private void AssertPassesOrIsSkippedByName(string path)
    {
        var outcome = GoldenRunner.RunFile(path);
        if (outcome.Status == GoldenStatus.Skipped)
        {
            // Cases of methods this runner does not replay are reported, not hidden: the reason names the method.
            var method = GoldenCase.Peek(path).Method;
            output.WriteLine($"SKIPPED {outcome.Name}: {outcome.Message}");
            Assert.DoesNotContain(method, GoldenRunner.Implemented);
            Assert.Equal(method, outcome.Method);
            Assert.Contains(method, outcome.Message, StringComparison.Ordinal);
            return;
        }

        Assert.True(outcome.Status == GoldenStatus.Passed, $"{outcome.Name}: {outcome.Message}");
    }
}
