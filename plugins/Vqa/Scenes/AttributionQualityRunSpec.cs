using System.Diagnostics;
using System.Text.Json.Serialization;
using Captum.Batch;

namespace Captum.Plugins.Vqa.Scenes;

/// <summary>
/// What a sharded <c>vqa-eval</c> run computes, as its folder's <c>run.json</c> records it: every worker must score
/// the same scenes with the same model and settings, or the scores could not be aggregated.
/// </summary>
public sealed record AttributionQualityRunSpec : IShardedRunSpec<AttributionQualityRunSpec>
{
    /// <summary>The file format's version.</summary>
    public int Format { get; init; } = 1;

    /// <inheritdoc cref="AttributionQualityOptions.Scenes"/>
    public required int Scenes { get; init; }

    /// <inheritdoc cref="AttributionQualityOptions.Seed"/>
    public long Seed { get; init; }

    /// <inheritdoc cref="AttributionQualityOptions.Steps"/>
    public int Steps { get; init; }

    /// <inheritdoc cref="AttributionQualityOptions.Window"/>
    public int Window { get; init; }

    /// <inheritdoc cref="AttributionQualityOptions.RandomWeightsSeed"/>
    public long RandomWeightsSeed { get; init; }

    /// <summary>The image baseline's name (<see cref="ImageBaselineNames"/>): the one given, or the model's own.</summary>
    public required string ImageBaseline { get; init; }

    /// <summary>The model's name.</summary>
    public required string Model { get; init; }

    /// <summary>The SHA-256 (hex) of the checkpoint file: what identifies the weights.</summary>
    public required string CheckpointDigest { get; init; }

    /// <summary>
    /// The checkpoint file as the first worker gave it (full path); null for the model that ships with the plugin.
    /// Recorded for the report's command line, not compared: workers on other machines may mount the same file elsewhere.
    /// </summary>
    public string? Checkpoint { get; init; }

    /// <summary>The seed the checkpoint's model was trained with, when it records one (the report names it).</summary>
    public long? TrainingSeed { get; init; }

    /// <summary>The number of shards the scenes are split into.</summary>
    public int ShardCount { get; init; } = 1;

    /// <summary>The scenes are the run's units.</summary>
    int IShardedRunSpec<AttributionQualityRunSpec>.Count => Scenes;

    /// <summary>The spec of a run of <paramref name="options"/>.</summary>
    /// <param name="options">Scenes, seed, steps, window, random weights' seed.</param>
    /// <param name="model">The trained model (its name and image baseline are recorded).</param>
    /// <param name="checkpointDigest">The checkpoint file's SHA-256 (hex).</param>
    /// <param name="checkpoint">The checkpoint file's path; null for the shipped model.</param>
    /// <param name="trainingSeed">The checkpoint's training seed, if it records one.</param>
    /// <param name="shardCount">The number of shards.</param>
    public static AttributionQualityRunSpec For(AttributionQualityOptions options, VqaModel model, string checkpointDigest, string? checkpoint, long? trainingSeed, int shardCount)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(model);
        return new AttributionQualityRunSpec
        {
            Scenes = options.Scenes,
            Seed = options.Seed,
            Steps = options.Steps,
            Window = options.Window,
            RandomWeightsSeed = options.RandomWeightsSeed,
            ImageBaseline = ImageBaselineNames.Name(model.Options.ImageBaseline ?? Vqa.ImageBaseline.Zero),
            Model = model.Name,
            CheckpointDigest = checkpointDigest,
            Checkpoint = checkpoint,
            TrainingSeed = trainingSeed,
            ShardCount = shardCount,
        };
    }

    /// <summary>The options the run measures with.</summary>
    public AttributionQualityOptions ToOptions() => new()
    {
        Scenes = Scenes,
        Seed = Seed,
        Steps = Steps,
        Window = Window,
        RandomWeightsSeed = RandomWeightsSeed,
    };

    /// <inheritdoc />
    public IReadOnlyList<string> Differences(AttributionQualityRunSpec other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return new SpecDifferences()
            .Compare("format", other.Format, Format)
            .Compare("scenes", other.Scenes, Scenes)
            .Compare("seed", other.Seed, Seed)
            .Compare("steps", other.Steps, Steps)
            .Compare("window", other.Window, Window)
            .Compare("random weights seed", other.RandomWeightsSeed, RandomWeightsSeed)
            .Compare("image baseline", other.ImageBaseline, ImageBaseline)
            .Compare("model", other.Model, Model)
            .Compare("checkpoint digest", other.CheckpointDigest, CheckpointDigest)
            .Compare("shard count", other.ShardCount, ShardCount)
            .ToList();
    }
}
