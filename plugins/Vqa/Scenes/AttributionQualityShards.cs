using System.Diagnostics;
using System.Text.Json.Serialization;
using Captum.Batch;

namespace Captum.Plugins.Vqa.Scenes;

/// <summary>
/// <see cref="AttributionQuality"/> as a sharded, resumable run on Captum.Batch's engine (<see cref="ShardedRun"/>):
/// each worker scores its shard of the scenes (a scene is the unit: one <see cref="SceneScoreRow"/> per scene) into an
/// output folder, and <see cref="ReportAsync"/> aggregates a complete folder into the report
/// <see cref="AttributionQuality.Evaluate"/> gives in one process, figure for figure.
/// </summary>
/// <remarks>
/// The folder is laid out as every sharded run's (<c>run.json</c>, then <c>shard-NNNNN/</c> with Parquet parts,
/// <c>manifest.json</c> and <c>worker.lock</c>); its <c>run.json</c> is an <see cref="AttributionQualityRunSpec"/>.
/// </remarks>
public static class AttributionQualityShards
{
    /// <summary>What writes such folders, as messages name it.</summary>
    public const string Producer = "captum vqa-eval --out";

    /// <summary>
    /// Scores every scene of <paramref name="shard"/> not yet complete in <paramref name="outFolder"/> and records it.
    /// Cancelling writes the scenes already done, then throws <see cref="OperationCanceledException"/>.
    /// </summary>
    /// <param name="outFolder">The output folder (created when missing).</param>
    /// <param name="spec">What the run computes; recorded in (or checked against) the folder's run.json.</param>
    /// <param name="shard">This worker's shard; its count must be <paramref name="spec"/>'s.</param>
    /// <param name="model">The trained scenes model, loaded from the checkpoint <paramref name="spec"/> names, with its image baseline.</param>
    /// <param name="options">Scenes per part file and progress.</param>
    /// <param name="cancellationToken">Stops the work after writing what is done.</param>
    /// <exception cref="ArgumentException">The arguments do not fit together, or the folder holds another run (the message names the difference).</exception>
    /// <exception cref="InvalidOperationException">Another worker holds the shard.</exception>
    /// <exception cref="IOException">A write failed (the parts written before it stay complete and readable).</exception>
    public static async Task<ShardResult> RunShardAsync(
        string outFolder,
        AttributionQualityRunSpec spec,
        ShardAssignment shard,
        VqaModel model,
        ShardedRunOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(outFolder);
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(shard);
        ArgumentNullException.ThrowIfNull(model);
        var quality = spec.ToOptions();
        if (shard.Count != spec.ShardCount)
        {
            throw new ArgumentException($"the shard count is {shard.Count}, but the run is split into {spec.ShardCount}.", nameof(shard));
        }

        if (quality.Scenes < 1 || quality.Steps < 1 || quality.Window < 1 || quality.Window % 2 == 0)
        {
            throw new ArgumentException("spec: Scenes and Steps must be at least 1, Window odd and positive.", nameof(spec));
        }

        var baseline = ImageBaselineNames.Name(model.Options.ImageBaseline ?? ImageBaseline.Zero);
        if (baseline != spec.ImageBaseline || model.Name != spec.Model)
        {
            throw new ArgumentException($"the model is {model.Name} with image baseline {baseline}, the run's {spec.Model} with {spec.ImageBaseline}.", nameof(model));
        }

        var checkedOptions = options ?? new ShardedRunOptions();
        ShardedRun.CheckArguments(shard, spec.Scenes, checkedOptions.RowGroupSize, checkedOptions.FlushAfter);
        RunSpecFile.RecordOrCheck(spec, outFolder, Producer);
        using var random = SceneCheckpoint.Randomized(model, quality.RandomWeightsSeed);
        return await ShardedRun.RunShardAsync(
            outFolder,
            shard,
            spec.Scenes,
            (index, token) =>
            {
                var watch = Stopwatch.StartNew();
                var scores = AttributionQuality.ScoreScene(model, random, index, quality, token);
                return SceneScoreRow.From(scores, watch.Elapsed.TotalMilliseconds);
            },
            options,
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Checks that every shard of <paramref name="folder"/> is complete and, when it is, aggregates the scores of all
    /// its scenes, in scene order, into the report (<see cref="AttributionQuality.Aggregate"/>).
    /// </summary>
    /// <param name="folder">The output folder of <c>captum vqa-eval --out</c>.</param>
    /// <param name="cancellationToken">Cancels the reading.</param>
    /// <returns>The run's spec, its shards' status, and the report (null when scenes are missing: the status names them).</returns>
    /// <exception cref="ArgumentException">The folder is not an output folder of vqa-eval.</exception>
    /// <exception cref="InvalidDataException">A file is unreadable or a part does not hold the scenes its manifest says.</exception>
    public static async Task<AttributionQualityFolder> ReportAsync(string folder, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        if (!Directory.Exists(folder))
        {
            throw new ArgumentException($"folder not found: {folder}", nameof(folder));
        }

        var spec = RunSpecFile.Read<AttributionQualityRunSpec>(folder, Producer);
        var status = ShardedRun.Check(folder, spec.Scenes, spec.ShardCount, "scenes");
        if (!status.Complete)
        {
            return new AttributionQualityFolder(spec, status, null);
        }

        var scenes = new List<SceneScores>(spec.Scenes);
        await foreach (var row in ShardedRun.ReadRowsAsync<SceneScoreRow>(status, cancellationToken).ConfigureAwait(false))
        {
            scenes.Add(row.ToScores());
        }

        return new AttributionQualityFolder(spec, status, AttributionQuality.Aggregate(spec.ToOptions(), scenes));
    }
}
