using System.Text.Json;
using System.Text.Json.Serialization;

namespace Captum.Batch;

/// <summary>
/// What an attribution run computes, as <c>run.json</c> of its output folder records it: every worker writing to
/// the folder must compute the same thing, or its rows could not be merged. Settings that do not change a row
/// (row group size, threads) are not part of it.
/// </summary>
public sealed record AttributionRunSpec : IShardedRunSpec<AttributionRunSpec>
{
    /// <summary>The file format's version: 2 since model files are recorded by their SHA-256 rather than their path.</summary>
    public int Format { get; init; } = 2;

    /// <summary>The dataset: a plugin dataset's name, or a manifest file's name.</summary>
    public required string Dataset { get; init; }

    /// <summary>A manifest file's SHA-256 (hex); null for a plugin dataset.</summary>
    public string? DatasetDigest { get; init; }

    /// <summary>The number of examples attributed (the dataset's, or <c>--count</c>).</summary>
    public required int Count { get; init; }

    /// <summary>The seed the dataset was opened with.</summary>
    public long Seed { get; init; }

    /// <summary>The model provider's name.</summary>
    public required string Model { get; init; }

    /// <summary>
    /// The model's files: name to the SHA-256 (hex) of the file's contents (<see cref="ContentDigest.OfPath"/>), what
    /// identifies the weights wherever the file is mounted. Those given, and each default the provider reads from disk
    /// for one not given (<see cref="Captum.Plugins.ModelFile.DefaultPath"/>, e.g. the model a plugin ships beside its assembly).
    /// </summary>
    public SortedDictionary<string, string> ModelFiles { get; init; } = new(StringComparer.Ordinal);

    /// <summary>
    /// The model's files as the first worker gave them, or found them by default (name to path). Recorded for people,
    /// not compared: workers on other machines may mount the same file elsewhere.
    /// </summary>
    public SortedDictionary<string, string> ModelFilePaths { get; init; } = new(StringComparer.Ordinal);

    /// <summary>
    /// What built the model provider: its assembly's name and informational version, and the SHA-256 of the
    /// resources it embeds (<see cref="ContentDigest.OfResources"/>): what identifies a model that ships with its
    /// plugin, which no model file names. Null when not known.
    /// </summary>
    public string? ModelBuild { get; init; }

    /// <summary>The model's settings, as given.</summary>
    public SortedDictionary<string, string> ModelSettings { get; init; } = new(StringComparer.Ordinal);

    /// <summary>The explanation method's name (<c>--method</c>).</summary>
    public required string Method { get; init; }

    /// <summary>Integration steps of path methods.</summary>
    public int Steps { get; init; } = 30;

    /// <summary>The method's internal batch size; null for its default.</summary>
    public int? InternalBatchSize { get; init; }

    /// <summary>Which class is explained: the predicted one (<see cref="TargetChoice.Predicted"/>) or the expected label.</summary>
    [JsonConverter(typeof(JsonStringEnumConverter<TargetChoice>))]
    public TargetChoice Target { get; init; } = TargetChoice.Predicted;

    /// <summary>The heat map side of image summaries.</summary>
    public int Grid { get; init; } = Captum.Explain.ExplanationSummaries.DefaultGrid;

    /// <summary>The baselines (<see cref="Captum.Explain.BaselineChoice"/>'s name); a run.json without it is the model's own.</summary>
    public string Baseline { get; init; } = Captum.Explain.BaselineChoice.Model.Name;

    /// <summary>The number of shards the examples are split into.</summary>
    public int ShardCount { get; init; } = 1;

    internal static JsonSerializerOptions Json => RunSpecFile.Json;

    /// <summary>The file name of a run's spec in its output folder.</summary>
    public const string FileName = RunSpecFile.FileName;

    /// <summary>
    /// What differs between this spec and <paramref name="other"/> (the folder's), one phrase per field, e.g.
    /// "method: the folder has 'occlusion', this run 'layer-ig'"; empty when they are the same run.
    /// </summary>
    public IReadOnlyList<string> Differences(AttributionRunSpec other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return new SpecDifferences()
            .Compare("format", other.Format, Format)
            .Compare("dataset", other.Dataset, Dataset)
            .Compare("dataset digest", other.DatasetDigest, DatasetDigest)
            .Compare("count", other.Count, Count)
            .Compare("seed", other.Seed, Seed)
            .Compare("model", other.Model, Model)
            .CompareEach("model file", "SHA-256", other.ModelFiles, ModelFiles)
            .Compare("model build", other.ModelBuild, ModelBuild)
            .Compare("model settings", other.ModelSettings, ModelSettings)
            .Compare("method", other.Method, Method)
            .Compare("steps", other.Steps, Steps)
            .Compare("internal batch size", other.InternalBatchSize, InternalBatchSize)
            .Compare("target", other.Target, Target)
            .Compare("grid", other.Grid, Grid)
            .Compare("baseline", other.Baseline, Baseline)
            .Compare("shard count", other.ShardCount, ShardCount)
            .ToList();
    }

    /// <summary>
    /// Records this spec in <paramref name="folder"/>'s <c>run.json</c>, or, when the folder already has one, checks
    /// it is the same run (<see cref="RunSpecFile.RecordOrCheck"/>).
    /// </summary>
    /// <exception cref="ArgumentException">The folder holds a different run; the message names every difference.</exception>
    /// <exception cref="InvalidDataException">The folder's run.json is not readable.</exception>
    public void RecordOrCheck(string folder) => RunSpecFile.RecordOrCheck(this, folder, Producer);

    /// <summary>
    /// Records this spec in the shard folder <paramref name="shardFolder"/> (its own copy of <c>run.json</c>, what
    /// its parts are computed for), or, when it has one, checks it is the same run. The output folder's run.json
    /// alone does not keep runs apart: deleted and written anew by a worker of other options (other model files),
    /// it would let that worker resume the parts of the run before.
    /// </summary>
    /// <exception cref="ArgumentException">The shard's parts were computed for another run; the message names the shard and every difference (parameter "out").</exception>
    /// <exception cref="InvalidDataException">The shard's run.json is not readable.</exception>
    public void RecordOrCheckShard(string shardFolder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(shardFolder);
        if (RunSpecFile.TryCreate(this, shardFolder))
        {
            return;
        }

        var differences = Differences(ReadShard(shardFolder)!);
        if (differences.Count > 0)
        {
            throw new ArgumentException(
                $"{shardFolder} holds examples computed for another run than this one ({string.Join("; ", differences)}): the output folder's {FileName} was replaced after they were written; delete {shardFolder} to compute them again, or give another --out folder.",
                "out");
        }
    }

    /// <summary>The run a shard folder's parts were computed for (<see cref="RecordOrCheckShard"/>); null when it records none (a folder of an older version).</summary>
    /// <exception cref="InvalidDataException">The shard's run.json is not readable.</exception>
    public static AttributionRunSpec? ReadShard(string shardFolder) =>
        File.Exists(Path.Combine(shardFolder, FileName)) ? RunSpecFile.Read<AttributionRunSpec>(shardFolder, Producer) : null;

    /// <summary>Reads <paramref name="folder"/>'s <c>run.json</c>.</summary>
    /// <exception cref="ArgumentException">The folder has none (it is not an attribute-dataset output folder).</exception>
    /// <exception cref="InvalidDataException">It is not readable.</exception>
    public static AttributionRunSpec Read(string folder) => RunSpecFile.Read<AttributionRunSpec>(folder, Producer);

    private const string Producer = "captum attribute-dataset";
}

/// <summary>Which class an attribution run explains.</summary>
public enum TargetChoice
{
    /// <summary>The class the model predicts.</summary>
    Predicted,

    /// <summary>The example's expected label (a row without one, or with one the model does not know, gets an error).</summary>
    Expected,
}
