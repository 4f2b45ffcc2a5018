using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Captum.Batch;

/// <summary>
/// What a sharded <see cref="Captum.Attr.DataLoaderAttribution"/> run computes, as <c>run.json</c> of its output
/// folder records it: every worker writing to the folder must compute the same passes over the same loader with the
/// same model and metric, or their slices could not be joined. The caller describes the loader, the model and the
/// metric (names, versions, digests: whatever tells two runs apart); <see cref="ShardedDataLoaderAttribution"/>
/// adds what it reads from the loader (<see cref="FeatureCount"/>, <see cref="PerturbationsPerPass"/>) and the
/// shard count.
/// </summary>
/// <remarks>
/// The descriptions are the caller's promise: the loader's batches, the model's weights and the Reduce and ToMetric
/// functions cannot be compared from here, so a changed model under an unchanged description goes unnoticed. Put a
/// digest of the weights and of the data in <see cref="ModelDigest"/> and <see cref="LoaderDigest"/> when you can.
/// </remarks>
public sealed record DataLoaderRunSpec
{
    /// <summary>The <see cref="Kind"/> of a DataLoaderAttribution run folder.</summary>
    public const string RunKind = "data-loader-attribution";

    /// <summary>What kind of run the folder holds: always <see cref="RunKind"/> (an attribute-dataset folder has none).</summary>
    [JsonInclude]
    public string Kind { get; internal init; } = RunKind;

    /// <summary>The file format's version.</summary>
    [JsonInclude]
    public int Format { get; internal init; } = 1;

    /// <summary>The data loader: the data set, split, batch size, order, and anything else that changes the batches.</summary>
    public required string Loader { get; init; }

    /// <summary>A digest of the loader's data (e.g. a manifest's SHA-256); null when none is given.</summary>
    public string? LoaderDigest { get; init; }

    /// <summary>The model: its name and version.</summary>
    public required string Model { get; init; }

    /// <summary>A digest of the model's weights; null when none is given.</summary>
    public string? ModelDigest { get; init; }

    /// <summary>The metric: what Reduce and ToMetric compute (e.g. "accuracy"); null when none is given.</summary>
    public string? Metric { get; init; }

    /// <summary>Anything else that changes the result (baselines, feature mask, input roles), name to value.</summary>
    public SortedDictionary<string, string> Settings { get; init; } = new(StringComparer.Ordinal);

    /// <summary>The number of features (the largest feature id + 1); set by the run from the loader's first batch.</summary>
    [JsonInclude]
    public int FeatureCount { get; internal init; }

    /// <summary>Features ablated per pass, as the run groups them (the options' value, at most the feature count); set by the run.</summary>
    [JsonInclude]
    public int PerturbationsPerPass { get; internal init; } = 1;

    /// <summary>
    /// The SHA-256 of the run's <c>feature-ids.safetensors</c> (which feature each attributed element belongs to), as
    /// every worker computes it from the loader's first batch and the feature mask; set by the run. Workers whose
    /// feature ids differ (another mask with as many features) are refused, and the merge checks the file against it.
    /// Null in a folder written before it was recorded.
    /// </summary>
    [JsonInclude]
    public string? FeatureIdsSha256 { get; internal init; }

    /// <summary>The number of shards the passes are split into; set by the run from its shard.</summary>
    [JsonInclude]
    public int ShardCount { get; internal init; } = 1;

    /// <summary>The number of passes that ablate features: ceil(<see cref="FeatureCount"/> / <see cref="PerturbationsPerPass"/>).</summary>
    [JsonIgnore]
    public int PassCount => (FeatureCount + PerturbationsPerPass - 1) / Math.Max(PerturbationsPerPass, 1);

    /// <summary>
    /// What differs between this spec and <paramref name="other"/> (the folder's), one phrase per field, e.g.
    /// "feature count: the folder has 12, this run 10"; empty when they are the same run.
    /// </summary>
    public IReadOnlyList<string> Differences(DataLoaderRunSpec other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return new SpecDifferences()
            .Compare("kind", other.Kind, Kind)
            .Compare("format", other.Format, Format)
            .Compare("loader", other.Loader, Loader)
            .Compare("loader digest", other.LoaderDigest, LoaderDigest)
            .Compare("model", other.Model, Model)
            .Compare("model digest", other.ModelDigest, ModelDigest)
            .Compare("metric", other.Metric, Metric)
            .Compare("settings", other.Settings, Settings)
            .Compare("feature count", other.FeatureCount, FeatureCount)
            .Compare("perturbations per pass", other.PerturbationsPerPass, PerturbationsPerPass)

            // A folder written before the digest was recorded has none: its workers are not refused for it.
            .Compare("feature ids (their SHA-256)", other.FeatureIdsSha256, other.FeatureIdsSha256 is null ? null : FeatureIdsSha256)
            .Compare("shard count", other.ShardCount, ShardCount)
            .ToList();
    }

    /// <summary>
    /// Records this spec in <paramref name="folder"/>'s <c>run.json</c>, or, when the folder already has one, checks
    /// it is the same run. Safe when several workers start at once (written under a temporary name, linked into
    /// place only if none exists).
    /// </summary>
    /// <exception cref="ArgumentException">The folder holds another run (of this kind or another); the message names every difference.</exception>
    /// <exception cref="InvalidDataException">The folder's run.json is not readable.</exception>
    public void RecordOrCheck(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        if (RunSpecFile.TryCreate(this, folder))
        {
            return;
        }

        var differences = Differences(Read(folder, anyKind: true));
        if (differences.Count > 0)
        {
            throw new ArgumentException(
                $"the output folder {folder} holds another run ({string.Join("; ", differences)}): give another folder, or the same loader, model, metric and options.",
                "outFolder");
        }
    }

    /// <summary>Reads <paramref name="folder"/>'s <c>run.json</c>.</summary>
    /// <exception cref="ArgumentException">The folder has none, or it is of another kind of run.</exception>
    /// <exception cref="InvalidDataException">It is not readable.</exception>
    public static DataLoaderRunSpec Read(string folder) => Read(folder, anyKind: false);

    private static DataLoaderRunSpec Read(string folder, bool anyKind)
    {
        ArgumentNullException.ThrowIfNull(folder);
        var path = Path.Combine(folder, AttributionRunSpec.FileName);
        if (!File.Exists(path))
        {
            throw new ArgumentException($"{folder} has no {AttributionRunSpec.FileName}: it is not an output folder of a sharded DataLoaderAttribution.", nameof(folder));
        }

        try
        {
            var text = File.ReadAllText(path);
            using (var document = JsonDocument.Parse(text))
            {
                var kind = document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("kind", out var k) && k.ValueKind == JsonValueKind.String
                    ? k.GetString()
                    : null;
                if (kind != RunKind)
                {
                    // Another kind of run (an attribute-dataset folder has no kind): only the kind is worth naming.
                    var other = new DataLoaderRunSpec { Kind = kind ?? "attribute-dataset", Loader = string.Empty, Model = string.Empty };
                    return anyKind
                        ? other
                        : throw new ArgumentException($"{folder} holds a run of kind {(other.Kind is null ? "none" : $"'{other.Kind}'")}, not a sharded DataLoaderAttribution.", nameof(folder));
                }
            }

            return JsonSerializer.Deserialize<DataLoaderRunSpec>(text, AttributionRunSpec.Json)
                ?? throw new InvalidDataException($"{path} is empty.");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{path} is not a readable run spec: {ex.Message}", ex);
        }
    }
}

/// <summary>
/// A DataLoaderAttribution shard's <c>manifest.json</c>: which of the shard's passes are complete (each a part file),
/// whether its unperturbed metric is, the SHA-256 of each of those files, and whether the whole shard is. Only what
/// it lists counts; it is replaced atomically after each file is renamed into place.
/// </summary>
public sealed record DataLoaderShardManifest
{
    /// <summary>The file name in a shard's folder.</summary>
    public const string FileName = "manifest.json";

    /// <summary>The file name of the shard's unperturbed metric.</summary>
    public const string UnperturbedFileName = "unperturbed.safetensors";

    /// <summary>The shard.</summary>
    public required int ShardIndex { get; init; }

    /// <summary>The number of shards of the run.</summary>
    public required int ShardCount { get; init; }

    /// <summary>The shard's first pass (passes that ablate features, numbered from 0).</summary>
    public required int FirstPass { get; init; }

    /// <summary>One past the shard's last pass.</summary>
    public required int EndPass { get; init; }

    /// <summary>Whether the shard needs the unperturbed metric: it has a pass, or the run has no pass and this is shard 0 (the metric then gives the result's m).</summary>
    public required bool NeedsUnperturbed { get; init; }

    /// <summary>Whether <see cref="UnperturbedFileName"/> is complete.</summary>
    public bool HasUnperturbed { get; init; }

    /// <summary>Whether every pass of [<see cref="FirstPass"/>, <see cref="EndPass"/>) is in a listed part (and the unperturbed metric, when needed, is there).</summary>
    public bool Complete { get; init; }

    /// <summary>The complete passes, in the order written.</summary>
    public List<int> Passes { get; init; } = [];

    /// <summary>
    /// The SHA-256 (lowercase hex) of each listed file as written, by file name (<see cref="PartName"/> of a pass,
    /// <see cref="UnperturbedFileName"/>), by which a file damaged after writing is recognised. Empty in manifests
    /// written before it was recorded: their files are checked by shape only.
    /// </summary>
    public SortedDictionary<string, string> Sha256 { get; init; } = new(StringComparer.Ordinal);

    /// <summary>The passes of the shard no part holds, ascending.</summary>
    public IReadOnlyList<int> Missing()
    {
        var done = Passes.ToHashSet();
        return [.. Enumerable.Range(FirstPass, EndPass - FirstPass).Where(p => !done.Contains(p))];
    }

    /// <summary>The SHA-256 recorded for <paramref name="fileName"/> when it was written; null when none was (an older manifest).</summary>
    public string? Sha256Of(string fileName) => Sha256 is not null && Sha256.TryGetValue(fileName, out var digest) ? digest : null;

    /// <summary>The part file name of pass <paramref name="pass"/>: <c>pass-000000003.safetensors</c>.</summary>
    public static string PartName(int pass) => string.Create(CultureInfo.InvariantCulture, $"pass-{pass:D9}.safetensors");

    /// <summary>Reads a shard folder's manifest; null when it has none.</summary>
    /// <exception cref="InvalidDataException">The manifest is not readable.</exception>
    public static DataLoaderShardManifest? Read(string shardFolder)
    {
        var path = Path.Combine(shardFolder, FileName);
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<DataLoaderShardManifest>(File.ReadAllText(path), AttributionRunSpec.Json)
                ?? throw new InvalidDataException($"{path} is empty.");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{path} is not a readable shard manifest: {ex.Message}", ex);
        }
    }

    /// <summary>Replaces the shard folder's manifest with this one (temporary file, then rename).</summary>
    public void Write(string shardFolder) =>
        AtomicFile.WriteAllText(Path.Combine(shardFolder, FileName), JsonSerializer.Serialize(this, AttributionRunSpec.Json));
}
