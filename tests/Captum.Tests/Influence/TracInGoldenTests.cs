using System.Text.Json.Nodes;
using Captum.Golden;
using Captum.Influence;
using Captum.TestData;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Influence;

/// <summary>
/// Captum 0.8.0's TracInCP and TracInCPFast answers (../shared/golden/captum-0.8.0-modules, method TracInCP or
/// TracInCPFast: scores, top-k proponents, self influence), replayed. The files are discovered, not listed.
/// </summary>
public sealed class TracInGoldenTests
{
    public static TheoryData<string> Cases() => new(CaseFiles());

    private static List<string> CaseFiles() =>
        Directory.GetFiles(Folder(), "*.json")
            .Order(StringComparer.Ordinal)
            .Where(f => JsonNode.Parse(File.ReadAllText(f))?["method"]?.GetValue<string>() is "TracInCP" or "TracInCPFast")
            .Select(Path.GetFileName)
            .Select(n => n!)
            .ToList();

    [Fact]
    public void Cases_IncludeEveryKindOfCall()
    {
        var names = CaseFiles();

        Assert.Contains(names, n => n.Contains("self_influence", StringComparison.Ordinal));
        Assert.Contains(names, n => n.Contains("proponents", StringComparison.Ordinal));
        Assert.Contains(names, n => n.Contains("fast", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void TracIn_GoldenCase_MatchesCaptum(string file)
    {
        using var scope = torch.NewDisposeScope();
        var golden = new InfluenceGoldenCase(Path.Combine(Folder(), file));
        var (mlp, train, test, checkpoints, call, expected) = (golden.Model, golden.Train, golden.Test, golden.Checkpoints, golden.Call, golden.Expected);

        Func<InfluenceBatch, Tensor> influence;
        Func<int, bool, MostInfluentialResult> top;
        Func<Tensor> self;
        if (golden.Root["method"]!.GetValue<string>() == "TracInCPFast")
        {
            var fast = new TracInCPFast(mlp, golden.Constructor["final_fc_layer"]!.GetValue<string>(), train, checkpoints);
            (influence, top, self) = (t => fast.Influence(t), (k, p) => fast.MostInfluential(test, k, p), () => fast.SelfInfluence());
        }
        else
        {
            var tracin = new TracInCP(mlp, train, checkpoints, new TracInCPOptions { Layers = golden.Layers });
            (influence, top, self) = (t => tracin.Influence(t), (k, p) => tracin.MostInfluential(test, k, p), () => tracin.SelfInfluence());
        }

        if (call["self_influence"]?.GetValue<bool>() == true)
        {
            AssertClose(self(), GoldenCase.ReadTensor(expected["self_influence"]!));
        }
        else if (call["k"] is JsonValue k)
        {
            using var result = top(k.GetValue<int>(), call["proponents"]?.GetValue<bool>() ?? true);
            Assert.Equal(GoldenCase.ReadTensor(expected["indices"]!).data<long>().ToArray(), result.Indices.data<long>().ToArray());
            AssertClose(result.Scores, GoldenCase.ReadTensor(expected["scores"]!));
        }
        else
        {
            AssertClose(influence(test), GoldenCase.ReadTensor(expected["scores"]!));
        }
    }

    private static string Folder() => SharedData.Locate(Path.Combine("golden", "captum-0.8.0-modules"), "CAPTUM_GOLDEN_MODULES_DIR");

    /// <summary>The golden README's tolerance: |a - e| &lt;= 1e-4 + 1e-3 |e| elementwise.</summary>
    private static void AssertClose(Tensor actual, Tensor expected) =>
        TensorAssert.AllClose(actual, expected, 1e-4, 1e-3);
}
