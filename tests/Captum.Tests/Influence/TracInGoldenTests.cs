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
        var root = JsonNode.Parse(File.ReadAllText(Path.Combine(Folder(), file)))!.AsObject();
        var model = root["model"]!.AsObject();
        var config = model["config"]!.AsObject();
        var mlp = new GoldenMlp(config["sizes"]!.AsArray().Select(s => s!.GetValue<long>()).ToArray(), config["activation"]!.GetValue<string>());
        var rate = model["learning_rate"]?.GetValue<double>() ?? 1.0;
        var checkpoints = model["checkpoints"]!.AsArray()
            .Select((c, i) => TrainingCheckpoint.FromStateDict(
                c!.AsObject().ToDictionary(p => p.Key, p => GoldenCase.ReadTensor(p.Value!)), rate, $"checkpoint {i}"))
            .ToList();
        var constructor = root["constructor"]!.AsObject();
        var train = InfluenceData.Batches(Tensor(root, "train", "inputs"), Tensor(root, "train", "labels"), constructor["batch_size"]!.GetValue<int>());
        var test = new InfluenceBatch(Tensor(root, "test", "inputs"), Tensor(root, "test", "labels"));
        var call = root["call"]!.AsObject();
        var expected = root["expected"]!.AsObject();

        Func<InfluenceBatch, Tensor> influence;
        Func<int, bool, MostInfluentialResult> top;
        Func<Tensor> self;
        if (root["method"]!.GetValue<string>() == "TracInCPFast")
        {
            var fast = new TracInCPFast(mlp, constructor["final_fc_layer"]!.GetValue<string>(), train, checkpoints);
            (influence, top, self) = (t => fast.Influence(t), (k, p) => fast.MostInfluential(test, k, p), () => fast.SelfInfluence());
        }
        else
        {
            var layers = constructor["layers"] is JsonArray l ? l.Select(x => (Captum.Layers.LayerReference)x!.GetValue<string>()).ToList() : null;
            var tracin = new TracInCP(mlp, train, checkpoints, new TracInCPOptions { Layers = layers });
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

    private static Tensor Tensor(JsonObject root, string set, string name) => GoldenCase.ReadTensor(root[set]![name]!);

    /// <summary>The golden README's tolerance: |a - e| &lt;= 1e-4 + 1e-3 |e| elementwise.</summary>
    private static void AssertClose(Tensor actual, Tensor expected) =>
        TensorAssert.AllClose(actual, expected, 1e-4, 1e-3);
}
