using System.Diagnostics;
using System.Globalization;
using Captum.Influence;
using Captum.Plugins.Vqa;
using Captum.Plugins.Vqa.Commands;
using Captum.Plugins.Vqa.Scenes;
using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Bench;

/// <summary>
/// How the influence methods' time and memory grow with the training set: the shipped scenes model, its training
/// questions regenerated (2,500 to 10,000), the influence of 8 test questions on all of them, one checkpoint (or
/// --checkpoints C copies of it, which cost what C different checkpoints cost). --size N and --method NAME (the first word of a
/// row's method name) run one row, so that each can be measured in a process of its own.
/// </summary>
internal static class InfluenceScale
{
    private static string? selectedMethod;
    private static int checkpointsUsed;

    public static int Run(int checkpointCount, int onlySize, string? onlyMethod)
    {
        using var scope = torch.NewDisposeScope();
        using var model = VqaModel.LoadDefault(new VqaModelOptions());
        var net = model.Net;
        net.eval();
        var state = net.state_dict().ToDictionary(p => p.Key, p => p.Value.detach().clone());
        (selectedMethod, checkpointsUsed) = (onlyMethod, Math.Max(1, checkpointCount));
        var checkpoints = Enumerable.Range(0, Math.Max(1, checkpointCount)).Select(_ => TrainingCheckpoint.FromStateDict(state)).ToArray();
        var all = new SceneGenerator().GenerateMany(1, 4000).SelectMany(s => s.Questions.Select(q => new SceneItem(s, q))).ToList();
        var testItems = new SceneGenerator().GenerateMany(2, 4).SelectMany(s => s.Questions.Select(q => new SceneItem(s, q))).Take(8).ToList();
        var test = SceneInfluenceData.Batch(testItems);

        Console.WriteLine("| method | training questions | checkpoints | seconds | peak RSS MB |");
        Console.WriteLine("| --- | --- | --- | --- | --- |");
        foreach (var n in onlySize > 0 ? [onlySize] : new[] { 2500, 5000, 10000 })
        {
            if (all.Count < n)
            {
                throw new InvalidOperationException($"only {all.Count} questions generated");
            }

            var train = new SceneInfluenceData(all.Take(n).ToList(), 256);
            Measure("TracInCPFast (classifier.lin2)", n, () => new TracInCPFast(net, VqaInfluenceCommand.FinalLayer, train, checkpoints).Influence(test));
            Measure("TracInCP (classifier.lin2 weight and bias)", n, () => new TracInCP(net, train, checkpoints, new TracInCPOptions { Layers = [VqaInfluenceCommand.FinalLayer] }).Influence(test));
            Measure("TracInCPFastRandProj (projection 64), construction and influence", n, () =>
            {
                using var method = new TracInCPFastRandProj(net, VqaInfluenceCommand.FinalLayer, train, checkpoints, new TracInCPFastRandProjOptions { ProjectionDim = 64, Seed = 0 });
                return method.Influence(test);
            });
            Measure("SimilarityInfluence (classifier.lin1, cosine), top 5", n, () =>
                new SimilarityInfluence(net, ["classifier.lin1"], train.Select(b => b.Inputs)).MostSimilar(test.Inputs, 5)["classifier.lin1"].Scores);
        }

        return 0;
    }

    private static void Measure(string method, int n, Func<Tensor> run)
    {
        if (selectedMethod is { } only && method.Split(' ')[0] != only)
        {
            return;
        }

        GC.Collect();
        ProcessMemory.ResetPeak();
        var watch = Stopwatch.StartNew();
        using (torch.NewDisposeScope())
        {
            run().Dispose();
        }

        watch.Stop();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {method} | {n} | {checkpointsUsed} | {watch.Elapsed.TotalSeconds:F2} | {ProcessMemory.PeakKb() / 1024.0:F0} |"));
    }
}
