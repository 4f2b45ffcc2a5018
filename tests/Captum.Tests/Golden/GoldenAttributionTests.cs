using Captum.Golden;
using Xunit;

namespace Captum.Tests.Golden;

/// <summary>
/// Every golden case reproduces Captum 0.8.0's answers within the README's tolerance: the attribution cases, and the
/// modules folder's robustness, LLM attribution and influence cases. Every method of both folders is replayed, so no
/// case is skipped (the runner skips, with the method's name, only cases of a method it does not know).
/// </summary>
public sealed class GoldenAttributionTests
{
    private static readonly string[] RobustnessMethods = ["FGSM", "PGD"];

    public static TheoryData<string> Cases() => GoldenData.FileNames();

    public static TheoryData<string> ModuleCases() => GoldenData.ModuleFileNames();

    [Theory]
    [MemberData(nameof(Cases))]
    public void Attribute_GoldenCase_MatchesCaptum(string file) =>
        AssertPasses(Path.Combine(GoldenCase.GoldenDirectory(), file));

    [Theory]
    [MemberData(nameof(ModuleCases))]
    public void Run_GoldenModulesCase_MatchesCaptum(string file) =>
        AssertPasses(Path.Combine(GoldenCase.ModulesDirectory(), file));

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
    public void Peek_ModulesFolder_EveryMethodIsReplayed()
    {
        var methods = GoldenCase.DiscoverFiles(GoldenCase.ModulesDirectory()).Select(f => GoldenCase.Peek(f).Method).Distinct().ToList();
        Assert.All(methods, m => Assert.Contains(m, GoldenRunner.Implemented));
    }

    [Fact]
    public void RunFile_UnknownMethod_IsSkippedWithItsName()
    {
        var folder = Directory.CreateTempSubdirectory("captum-golden-").FullName;
        try
        {
            var file = Path.Combine(folder, "unknown.json");
            File.WriteAllText(file, """{"name": "unknown_case", "method": "NoSuchMethod"}""");

            var outcome = GoldenRunner.RunFile(file);

            Assert.Equal(GoldenStatus.Skipped, outcome.Status);
            Assert.Equal("NoSuchMethod", outcome.Method);
            Assert.Contains("NoSuchMethod", outcome.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void RunFile_LLMCaseWithAnUnknownArgument_FailsNamingIt()
    {
        var outcome = RunEdited("LLMAttribution.FeatureAblation", root => root["attribute"]!["no_such_argument"] = 1);

        Assert.Equal(GoldenStatus.Failed, outcome.Status);
        Assert.Contains("no_such_argument", outcome.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RunFile_LLMCaseWithAnotherAnswer_FailsOnTheSequenceAttribution()
    {
        var outcome = RunEdited("LLMAttribution.FeatureAblation", root =>
        {
            var data = root["expected"]!["seq_attr"]!["data"]!.AsArray();
            data[0] = data[0]!.GetValue<double>() + 1;
        });

        Assert.Equal(GoldenStatus.Failed, outcome.Status);
        Assert.StartsWith("seq_attr[0]: element 0", outcome.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RunFile_TracInCaseWithOtherIndices_FailsOnTheIndices()
    {
        var outcome = RunEdited(
            "TracInCP",
            root =>
            {
                var data = root["expected"]!["indices"]!["data"]!.AsArray();
                data[0] = data[0]!.GetValue<long>() + 1;
            },
            root => root["expected"]!["indices"] is not null);

        Assert.Equal(GoldenStatus.Failed, outcome.Status);
        Assert.StartsWith("indices: ", outcome.Message, StringComparison.Ordinal);
    }

    /// <summary>Runs a copy of the first modules case of <paramref name="method"/> (that <paramref name="where"/> accepts), edited.</summary>
    private static GoldenOutcome RunEdited(string method, Action<System.Text.Json.Nodes.JsonObject> edit, Func<System.Text.Json.Nodes.JsonObject, bool>? where = null)
    {
        var root = GoldenCase.DiscoverFiles(GoldenCase.ModulesDirectory())
            .Where(f => GoldenCase.Peek(f).Method == method)
            .Select(GoldenCase.ReadRoot)
            .First(r => where?.Invoke(r) ?? true);
        edit(root);
        var folder = Directory.CreateTempSubdirectory("captum-golden-").FullName;
        try
        {
            var file = Path.Combine(folder, "edited.json");
            File.WriteAllText(file, root.ToJsonString());
            return GoldenRunner.RunFile(file);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
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

    private static void AssertPasses(string path)
    {
        var outcome = GoldenRunner.RunFile(path);
        Assert.True(outcome.Status == GoldenStatus.Passed, $"{outcome.Name}: {outcome.Status} {outcome.Message}");
    }
}
