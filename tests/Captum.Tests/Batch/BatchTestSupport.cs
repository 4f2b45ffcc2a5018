using System.Text.Json;
using Captum.Batch;
using Captum.Explain;
using Captum.Plugins;
using Captum.Plugins.Vqa;
using Captum.Plugins.Vqa.Scenes;

namespace Captum.Tests.Batch;

/// <summary>The shipped scenes model, loaded once per test class.</summary>
public sealed class ScenesModelFixture : IDisposable
{
    public VqaModel Model { get; } = VqaModel.LoadDefault();

    public void Dispose() => Model.Dispose();
}

internal static class BatchTestSupport
{
    /// <summary>Few steps: the tests check the bookkeeping, not the attributions' quality.</summary>
    public const int Steps = 2;

    public static AttributionRunSpec Spec(int count, int shards = 1, string method = "layer-ig", long seed = 0) => new()
    {
        Dataset = "scenes",
        Count = count,
        Seed = seed,
        Model = "vqa",
        Method = method,
        Steps = Steps,
        ShardCount = shards,
    };

    public static IExampleDataset Scenes(int count, long seed = 0) => new SceneDataset().Open(new ExampleDatasetOptions { Count = count, Seed = seed });

    public static Task<ShardResult> Run(string folder, AttributionRunSpec spec, ShardAssignment shard, VqaModel model, DatasetAttributionOptions? options = null, CancellationToken cancellationToken = default)
    {
        var dataset = Scenes(spec.Count, spec.Seed);
        return DatasetAttribution.RunShardAsync(folder, spec, shard, dataset, model, ExplanationStrategies.BuiltIn.Get(spec.Method), options, cancellationToken)
            .ContinueWith(t =>
            {
                dataset.Dispose();
                return t;
            }, TaskScheduler.Default).Unwrap();
    }

    /// <summary>A row as text without its time, the one column that differs between runs.</summary>
    public static string Canonical(AttributionRow row)
    {
        var time = row.TimeMs;
        row.TimeMs = 0;
        var text = JsonSerializer.Serialize(row);
        row.TimeMs = time;
        return text;
    }

    public static async Task<List<string>> MergedRows(string folder, string file)
    {
        var report = await ResultMerger.MergeAsync(folder, file);
        Xunit.Assert.True(report.Complete, string.Join("; ", report.Problems));
        return [.. (await DatasetAttribution.ReadPartAsync(file)).Select(Canonical)];
    }
}
