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

        ShardedRun.CheckArguments(shard, spec.Scenes, (options ?? new ShardedRunOptions()).RowGroupSize);
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

/// <summary>What <see cref="AttributionQualityShards.ReportAsync"/> found in a vqa-eval output folder.</summary>
/// <param name="Spec">The run's spec (its run.json).</param>
/// <param name="Status">Which scenes are present and which are missing, per shard.</param>
/// <param name="Report">The report of the whole run; null when scenes are missing.</param>
public sealed record AttributionQualityFolder(AttributionQualityRunSpec Spec, ShardedRunStatus Status, AttributionQualityReport? Report);

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

/// <summary>
/// One scene's row of a sharded vqa-eval run (Parquet columns named as the JSON properties): the scores of each of
/// its questions for the trained and the randomised model, in question order.
/// </summary>
/// <remarks>
/// A row per scene rather than per question: the scene is the unit of work (its image is prepared once for all its
/// questions) and of resumption, and the engine's parts hold one row per unit, which is what lets it check a part
/// holds exactly the units its manifest says. DuckDB or pandas flatten the lists when a row per question is wanted.
/// </remarks>
public sealed class SceneScoreRow : IShardRow
{
    /// <summary>The scene's index in the scene stream.</summary>
    [JsonPropertyName("index")]
    public int Index { get; set; }

    /// <summary>The trained model's score of every question.</summary>
    [JsonPropertyName("trained")]
    public List<QuestionScoreRow> Trained { get; set; } = [];

    /// <summary>The randomised model's score of every question.</summary>
    [JsonPropertyName("random")]
    public List<QuestionScoreRow> Random { get; set; } = [];

    /// <summary>Wall-clock milliseconds spent on the scene (the one column that differs between runs).</summary>
    [JsonPropertyName("timeMs")]
    public double TimeMs { get; set; }

    /// <summary>A scene either scores or stops the run: no row has an error.</summary>
    bool IShardRow.HasError => false;

    /// <summary>The row of a scene's scores.</summary>
    public static SceneScoreRow From(SceneScores scores, double timeMs)
    {
        ArgumentNullException.ThrowIfNull(scores);
        return new SceneScoreRow
        {
            Index = scores.Index,
            Trained = [.. scores.Trained.Select(QuestionScoreRow.From)],
            Random = [.. scores.Random.Select(QuestionScoreRow.From)],
            TimeMs = timeMs,
        };
    }

    /// <summary>The scene's scores back.</summary>
    /// <exception cref="InvalidDataException">A question's kind is unknown.</exception>
    public SceneScores ToScores() => new(Index, [.. Trained.Select(q => q.ToScore())], [.. Random.Select(q => q.ToScore())]);
}

/// <summary>A <see cref="QuestionScore"/> as a Parquet struct (the fields of the record, camelCase; the kind by name).</summary>
public sealed class QuestionScoreRow
{
    /// <summary>The question's kind, lower case (<see cref="QuestionKind"/>).</summary>
    [JsonPropertyName("kind")]
    public string Kind { get; set; } = "";

    /// <inheritdoc cref="QuestionScore.Correct"/>
    [JsonPropertyName("correct")]
    public bool Correct { get; set; }

    /// <inheritdoc cref="QuestionScore.HasObjects"/>
    [JsonPropertyName("hasObjects")]
    public bool HasObjects { get; set; }

    /// <inheritdoc cref="QuestionScore.Pointed"/>
    [JsonPropertyName("pointed")]
    public bool Pointed { get; set; }

    /// <inheritdoc cref="QuestionScore.Mass"/>
    [JsonPropertyName("mass")]
    public double Mass { get; set; }

    /// <inheritdoc cref="QuestionScore.Area"/>
    [JsonPropertyName("area")]
    public double Area { get; set; }

    /// <inheritdoc cref="QuestionScore.ObjectShare"/>
    [JsonPropertyName("objectShare")]
    public double ObjectShare { get; set; }

    /// <inheritdoc cref="QuestionScore.WordHit"/>
    [JsonPropertyName("wordHit")]
    public bool WordHit { get; set; }

    /// <inheritdoc cref="QuestionScore.TopWord"/>
    [JsonPropertyName("topWord")]
    public string TopWord { get; set; } = "";

    /// <inheritdoc cref="QuestionScore.WordChance"/>
    [JsonPropertyName("wordChance")]
    public double WordChance { get; set; }

    /// <inheritdoc cref="QuestionScore.Delta"/>
    [JsonPropertyName("delta")]
    public double Delta { get; set; }

    /// <summary>The row of a score.</summary>
    public static QuestionScoreRow From(QuestionScore score)
    {
        ArgumentNullException.ThrowIfNull(score);
        return new QuestionScoreRow
        {
            Kind = score.Kind.ToString().ToLowerInvariant(),
            Correct = score.Correct,
            HasObjects = score.HasObjects,
            Pointed = score.Pointed,
            Mass = score.Mass,
            Area = score.Area,
            ObjectShare = score.ObjectShare,
            WordHit = score.WordHit,
            TopWord = score.TopWord,
            WordChance = score.WordChance,
            Delta = score.Delta,
        };
    }

    /// <summary>The score back.</summary>
    /// <exception cref="InvalidDataException">The kind is unknown.</exception>
    public QuestionScore ToScore() => new(
        Enum.TryParse<QuestionKind>(Kind, ignoreCase: true, out var kind) && Enum.IsDefined(kind)
            ? kind
            : throw new InvalidDataException($"a question score has the unknown kind '{Kind}'."),
        Correct,
        HasObjects,
        Pointed,
        Mass,
        Area,
        ObjectShare,
        WordHit,
        TopWord,
        WordChance,
        Delta);
}
