using System.Reflection;
using Captum.Explain;
using Captum.Plugins;

namespace Captum.Batch;

/// <summary>What <c>captum attribute-dataset</c> was asked to do (its options, before they are checked).</summary>
public sealed record AttributeDatasetRequest
{
    /// <summary>A plugin dataset's name (<see cref="IExampleDatasetProvider.Name"/>), or the path of a manifest file (<see cref="ManifestDataset"/>).</summary>
    public required string Dataset { get; init; }

    /// <summary>The number of examples; the dataset's default (a manifest: all its examples) when null.</summary>
    public int? Count { get; init; }

    /// <summary>The seed of a generated dataset.</summary>
    public long Seed { get; init; }

    /// <summary>The model provider; the plugin dataset's own model, or the only model, when null.</summary>
    public string? Model { get; init; }

    /// <summary>The model's files (name to path) and settings, as <see cref="IInterpretableModelProvider.Load"/> takes them.</summary>
    public IReadOnlyDictionary<string, string> ModelFiles { get; init; } = new Dictionary<string, string>();

    /// <inheritdoc cref="ModelFiles"/>
    public IReadOnlyDictionary<string, string> ModelSettings { get; init; } = new Dictionary<string, string>();

    /// <summary>The explanation method's name.</summary>
    public string Method { get; init; } = "layer-ig";

    /// <summary>Integration steps of path methods.</summary>
    public int Steps { get; init; } = 30;

    /// <summary>The method's internal batch size; its default when null.</summary>
    public int? InternalBatchSize { get; init; }

    /// <summary>Which class is explained.</summary>
    public TargetChoice Target { get; init; } = TargetChoice.Predicted;

    /// <summary>The heat map side of image summaries.</summary>
    public int Grid { get; init; } = ExplanationSummaries.DefaultGrid;

    /// <summary>The baselines (<see cref="BaselineChoice"/>'s name): the model's own unless given.</summary>
    public string Baseline { get; init; } = BaselineChoice.Model.Name;

    /// <summary>The output folder.</summary>
    public required string Out { get; init; }

    /// <summary>The <c>--shard-index</c> and <c>--shard-count</c> options; see <see cref="ShardAssignment.Resolve"/> for the environment's part.</summary>
    public int? ShardIndex { get; init; }

    /// <inheritdoc cref="ShardIndex"/>
    public int? ShardCount { get; init; }

    /// <inheritdoc cref="DatasetAttributionOptions.RowGroupSize"/>
    public int RowGroupSize { get; init; } = 16;

    /// <summary>The <c>--flush-seconds</c> option: <see cref="DatasetAttributionOptions.FlushAfter"/> in seconds. Default 30.</summary>
    public int FlushSeconds { get; init; } = (int)ShardedRunOptions.DefaultFlushAfter.TotalSeconds;
}

/// <summary>
/// Runs an <see cref="AttributeDatasetRequest"/> against the datasets, models and methods a host offers: checks
/// every option first (shard, method, dataset, model), then loads the model, opens the dataset and runs this
/// worker's shard (<see cref="DatasetAttribution.RunShardAsync"/>).
/// </summary>
public static class DatasetJob
{
    /// <summary>Runs the request; see <see cref="DatasetAttribution.RunShardAsync"/> for what is written and thrown.</summary>
    /// <param name="request">The options.</param>
    /// <param name="datasets">The datasets the plugins offer.</param>
    /// <param name="models">The models the plugins offer.</param>
    /// <param name="strategies">The explanation methods.</param>
    /// <param name="environment">Reads an environment variable (the shard's defaults); the process's when null.</param>
    /// <param name="progress">Receives progress after every example.</param>
    /// <param name="cancellationToken">Stops after writing the examples done.</param>
    /// <exception cref="ArgumentException">An option is invalid; the message names it.</exception>
    public static async Task<ShardResult> RunAsync(
        AttributeDatasetRequest request,
        IReadOnlyList<IExampleDatasetProvider> datasets,
        IReadOnlyList<IInterpretableModelProvider> models,
        ExplanationStrategyRegistry strategies,
        Func<string, string?>? environment = null,
        IProgress<DatasetProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(datasets);
        ArgumentNullException.ThrowIfNull(models);
        ArgumentNullException.ThrowIfNull(strategies);
        OutputFolder.Check("out", request.Out);
        var outFolder = Path.GetFullPath(request.Out);
        var shard = ShardAssignment.Resolve(request.ShardIndex, request.ShardCount, environment);
        var strategy = strategies.Get(request.Method, "method");
        Positive(request.Steps, "steps");
        Positive(request.Grid, "grid");
        Positive(request.RowGroupSize, "row-group-size");
        ShardedRun.FlushSecondsOption(request.FlushSeconds);
        BaselineChoice.Parse(request.Baseline, "baseline");
        if (request.InternalBatchSize is { } b)
        {
            Positive(b, "internal-batch-size");
        }

        if (request.Count is { } c)
        {
            Positive(c, "count");
        }

        var datasetProvider = datasets.FirstOrDefault(d => string.Equals(d.Name, request.Dataset, StringComparison.OrdinalIgnoreCase));
        if (datasetProvider is null && !File.Exists(request.Dataset))
        {
            throw new ArgumentException(
                $"--dataset: no plugin offers a dataset named '{request.Dataset}' and no manifest file has that path; datasets: {(datasets.Count == 0 ? "none" : string.Join(", ", datasets.Select(d => d.Name)))}.",
                "dataset");
        }

        var modelName = request.Model ?? datasetProvider?.ModelName ?? (models.Count == 1 ? models[0].Name
            : throw new ArgumentException($"--model: a manifest dataset needs the model it is for; models: {string.Join(", ", models.Select(m => m.Name))}.", "model"));
        if (datasetProvider is not null && !string.Equals(modelName, datasetProvider.ModelName, StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"--model: the dataset '{datasetProvider.Name}' holds inputs of the model '{datasetProvider.ModelName}', not '{modelName}'.", "model");
        }

        var modelProvider = models.FirstOrDefault(m => string.Equals(m.Name, modelName, StringComparison.OrdinalIgnoreCase))
            ?? throw new ArgumentException($"--model: no plugin offers a model named '{modelName}'; models: {string.Join(", ", models.Select(m => m.Name))}.", "model");
        var (fileDigests, filePaths) = ModelFileDigests(modelProvider, request.ModelFiles);
        using var model = modelProvider.Load(request.ModelFiles, request.ModelSettings);
        using var dataset = datasetProvider is not null
            ? datasetProvider.Open(new ExampleDatasetOptions { Count = request.Count, Seed = request.Seed })
            : OpenManifest(request, model);
        var spec = new AttributionRunSpec
        {
            Dataset = datasetProvider?.Name ?? Path.GetFileName(request.Dataset),
            DatasetDigest = (dataset as ManifestDataset)?.Digest,
            Count = dataset.Count,
            Seed = datasetProvider is null ? 0 : request.Seed,
            Model = modelProvider.Name,
            ModelFiles = fileDigests,
            ModelFilePaths = filePaths,
            ModelBuild = BuildOf(modelProvider),
            ModelSettings = new(request.ModelSettings.ToDictionary(), StringComparer.Ordinal),
            Method = strategy.Name,
            Steps = request.Steps,
            InternalBatchSize = request.InternalBatchSize,
            Target = request.Target,
            Grid = request.Grid,
            Baseline = request.Baseline,
            ShardCount = shard.Count,
        };
        return await DatasetAttribution.RunShardAsync(
            outFolder,
            spec,
            shard,
            dataset,
            model,
            strategy,
            new DatasetAttributionOptions { RowGroupSize = request.RowGroupSize, FlushAfter = ShardedRun.FlushSecondsOption(request.FlushSeconds), Progress = progress },
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The SHA-256 and full path of every model file the model loads, before it loads: those given, and the
    /// <see cref="ModelFile.DefaultPath"/> of each one not given (the model a plugin ships beside its assembly). A
    /// missing file is named by its option.
    /// </summary>
    private static (SortedDictionary<string, string> Digests, SortedDictionary<string, string> Paths) ModelFileDigests(
        IInterpretableModelProvider provider, IReadOnlyDictionary<string, string> files)
    {
        var (digests, paths) = (new SortedDictionary<string, string>(StringComparer.Ordinal), new SortedDictionary<string, string>(StringComparer.Ordinal));
        foreach (var (name, path) in files)
        {
            if (!provider.Files.Any(f => f.Name == name))
            {
                throw new ArgumentException(
                    $"--model-file {name}: the model '{provider.Name}' reads no file of that name; {(provider.Files.Count == 0 ? "it reads none" : $"its files: {string.Join(", ", provider.Files.Select(f => f.Name))}")}.",
                    "model-file");
            }

            if (!File.Exists(path) && !Directory.Exists(path))
            {
                throw new ArgumentException($"--model-file {name}={path}: no file or folder has that path.", "model-file");
            }

            (digests[name], paths[name]) = (ContentDigest.OfPath(path), Path.GetFullPath(path));
        }

        foreach (var file in provider.Files.Where(f => f.DefaultPath is not null && !files.ContainsKey(f.Name)))
        {
            var path = file.DefaultPath!;
            if (!File.Exists(path) && !Directory.Exists(path))
            {
                throw new ArgumentException(
                    $"--model-file {file.Name}: not given, and the model '{provider.Name}' reads it by default from {path}, which does not exist; give --model-file {file.Name}=PATH.",
                    "model-file");
            }

            (digests[file.Name], paths[file.Name]) = (ContentDigest.OfPath(path), Path.GetFullPath(path));
        }

        return (digests, paths);
    }

    /// <summary>
    /// What built <paramref name="provider"/>: its assembly's name, informational version and embedded resources'
    /// SHA-256, e.g. "Captum.Plugins.Vqa 1.0.0+4f2c…, resources 9ab1…".
    /// </summary>
    internal static string BuildOf(IInterpretableModelProvider provider)
    {
        var assembly = provider.GetType().Assembly;
        var version = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            ?? assembly.GetName().Version?.ToString()
            ?? "unversioned";
        return $"{assembly.GetName().Name} {version}, resources {ContentDigest.OfResources(assembly) ?? "none"}";
    }

    private static void Positive(int value, string name)
    {
        if (value < 1)
        {
            throw new ArgumentException($"--{name} must be at least 1, not {value}.", name);
        }
    }

    /// <summary>The request's manifest, its count error said about --count.</summary>
    private static ManifestDataset OpenManifest(AttributeDatasetRequest request, IInterpretableModel model)
    {
        try
        {
            return ManifestDataset.Open(request.Dataset, model.RawInputs, request.Count);
        }
        catch (ArgumentException e) when (e.ParamName == "count")
        {
            throw ErrorMessages.Renamed(e, "count", "--count");
        }
        catch (ArgumentException e) when (e.ParamName == "dataset")
        {
            throw ErrorMessages.Renamed(e, "dataset", "--dataset");
        }
    }
}
