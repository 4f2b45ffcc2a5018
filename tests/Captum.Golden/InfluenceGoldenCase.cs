using System.Text.Json.Nodes;
using Captum.Influence;
using static TorchSharp.torch;

namespace Captum.Golden;

/// <summary>An influence golden case (the schema of ../shared/golden/captum-0.8.0-modules/README.md) read into the method's arguments.</summary>
internal sealed class InfluenceGoldenCase
{
    public InfluenceGoldenCase(string path)
        : this(JsonNode.Parse(File.ReadAllText(path))!.AsObject())
    {
    }

    /// <summary>Reads the case from its parsed file; every tensor is created here, so read it inside a dispose scope.</summary>
    public InfluenceGoldenCase(JsonObject root)
    {
        Root = root;
        var model = Root["model"]!.AsObject();
        var config = model["config"]!.AsObject();
        Model = new GoldenMlp(config["sizes"]!.AsArray().Select(s => s!.GetValue<long>()).ToArray(), config["activation"]!.GetValue<string>());
        var rate = model["learning_rate"]?.GetValue<double>() ?? 1.0;
        Checkpoints = model["checkpoints"]!.AsArray()
            .Select((c, i) => TrainingCheckpoint.FromStateDict(
                c!.AsObject().ToDictionary(p => p.Key, p => GoldenCase.ReadTensor(p.Value!)), rate, $"checkpoint {i}"))
            .ToList();
        Constructor = Root["constructor"]!.AsObject();
        BatchSize = Constructor["batch_size"]!.GetValue<int>();
        Train = Batches("train")!;
        Test = new InfluenceBatch(Tensor("test", "inputs"), Tensor("test", "labels"));
        Call = Root["call"]!.AsObject();
        Expected = Root["expected"]!.AsObject();
    }

    public JsonObject Root { get; }

    public GoldenMlp Model { get; }

    public List<TrainingCheckpoint> Checkpoints { get; }

    public JsonObject Constructor { get; }

    public int BatchSize { get; }

    public IReadOnlyList<InfluenceBatch> Train { get; }

    public InfluenceBatch Test { get; }

    public JsonObject Call { get; }

    public JsonObject Expected { get; }

    /// <summary>The constructor's <c>layers</c>, or null.</summary>
    public List<Captum.Layers.LayerReference>? Layers =>
        Constructor["layers"] is JsonArray l ? l.Select(x => (Captum.Layers.LayerReference)x!.GetValue<string>()).ToList() : null;

    /// <summary>A set of the case ("train", "hessian") in batches of the constructor's size, or null when the case has none.</summary>
    public IReadOnlyList<InfluenceBatch>? Batches(string set) =>
        Root[set] is null ? null : InfluenceData.Batches(Tensor(set, "inputs"), Tensor(set, "labels"), BatchSize);

    /// <summary>An expected tensor.</summary>
    public Tensor ExpectedTensor(string name) => GoldenCase.ReadTensor(Expected[name]!);

    private Tensor Tensor(string set, string name) => GoldenCase.ReadTensor(Root[set]![name]!);
}
