using System.Text.Json.Nodes;
using Captum.Influence;
using static TorchSharp.torch;

namespace Captum.Golden.Methods;

/// <summary>
/// The influence cases (captum.influence's TracInCP and TracInCPFast, in shared/golden/captum-0.8.0-modules): the MLP
/// started from each checkpoint with its learning rate, over the case's training set in batches of its batch size;
/// influence scores, top-k proponents or opponents (indices exactly, scores with the README's tolerance) or self
/// influence, as the case's call asks.
/// </summary>
internal sealed class TracInMethod : IGoldenFileMethod
{
    public IReadOnlyCollection<string> Methods => ["TracInCP", "TracInCPFast"];

    public IReadOnlyCollection<string> AttributeKeys => ["k", "proponents", "self_influence"];

    public void Run(JsonObject root, List<string> failures)
    {
        var golden = new InfluenceGoldenCase(root);
        var loss = golden.Constructor["loss"]?.GetValue<string>();
        if (loss is not (null or "cross_entropy_none" or "cross_entropy_sum"))
        {
            throw new InvalidOperationException($"constructor.loss '{loss}' is not Captum's cross entropy (the only loss the cases use)");
        }

        Func<InfluenceBatch, Tensor> influence;
        Func<int, bool, MostInfluentialResult> top;
        Func<Tensor> self;
        if (golden.Root["method"]!.GetValue<string>() == "TracInCPFast")
        {
            var layer = golden.Constructor["final_fc_layer"]?.GetValue<string>() ?? throw new InvalidOperationException("constructor.final_fc_layer is missing");
            var fast = new TracInCPFast(golden.Model, layer, golden.Train, golden.Checkpoints);
            (influence, top, self) = (t => fast.Influence(t), (k, p) => fast.MostInfluential(golden.Test, k, p), () => fast.SelfInfluence());
        }
        else
        {
            var tracin = new TracInCP(golden.Model, golden.Train, golden.Checkpoints, new TracInCPOptions { Layers = golden.Layers });
            (influence, top, self) = (t => tracin.Influence(t), (k, p) => tracin.MostInfluential(golden.Test, k, p), () => tracin.SelfInfluence());
        }

        if (GoldenArguments.Bool(golden.Call, "self_influence"))
        {
            GoldenArguments.Compare("self_influence", [self()], [golden.ExpectedTensor("self_influence")], failures);
        }
        else if (GoldenArguments.Int(golden.Call, "k") is { } k)
        {
            using var result = top(k, GoldenArguments.Bool(golden.Call, "proponents", true));
            var indices = result.Indices.data<long>().ToArray();
            var expectedIndices = golden.ExpectedTensor("indices").data<long>().ToArray();
            if (!indices.SequenceEqual(expectedIndices))
            {
                failures.Add($"indices: [{string.Join(", ", indices)}], expected [{string.Join(", ", expectedIndices)}]");
            }

            GoldenArguments.Compare("scores", [result.Scores], [golden.ExpectedTensor("scores")], failures);
        }
        else
        {
            GoldenArguments.Compare("scores", [influence(golden.Test)], [golden.ExpectedTensor("scores")], failures);
        }
    }
}
