using System.Diagnostics;
using System.Globalization;
using Captum.Batch;
using Captum.Checkpoints;
using Captum.Plugins.Vqa.Scenes;
using Captum.Runtime;

namespace Captum.Plugins.Vqa.Commands;

/// <summary>
/// <c>captum vqa-eval</c>: measures how well Layer Integrated Gradients explains the scenes model on freshly
/// generated scenes (<see cref="AttributionQuality"/>) and prints the figures, optionally as JSON too. With
/// <c>--out</c> a worker scores its shard of the scenes into a resumable output folder
/// (<see cref="AttributionQualityShards"/>); <c>--from</c> prints the report of a complete folder.
/// </summary>
public sealed class VqaEvalCommand : IPluginCommand
{
    /// <inheritdoc />
    public string Name => "vqa-eval";

    /// <inheritdoc />
    public string Description => "Measure attribution quality on generated scenes: accuracy, pointing game, mass on objects, word test, against a model with random weights.";

    /// <inheritdoc />
    public IReadOnlyList<PluginCommandOption> Options { get; } =
    [
        new("scenes", "Scenes to generate (every question of each is explained).", PluginOptionKind.Integer, CommandValues.Invariant(new AttributionQualityOptions().Scenes)),
        new("seed", "The scene stream (not the model's training seed or the one after it).", PluginOptionKind.Integer, CommandValues.Invariant(new AttributionQualityOptions().Seed)),
        new("steps", "Integration steps of Layer Integrated Gradients.", PluginOptionKind.Integer, CommandValues.Invariant(new AttributionQualityOptions().Steps)),
        new("window", "The side of the window the attribution magnitude is averaged over for the pointing game (odd).", PluginOptionKind.Integer, CommandValues.Invariant(new AttributionQualityOptions().Window)),
        new("random-weights-seed", "The torch.manual_seed of the randomised model.", PluginOptionKind.Integer, CommandValues.Invariant(new AttributionQualityOptions().RandomWeightsSeed)),
        new("checkpoint", "A scenes checkpoint (from vqa-train); default: the model that ships with the plugin.", PluginOptionKind.File),
        new("image-baseline", "zero (the tutorial's: ImageNet's mean colour) or median-color (a blank canvas of the image's median colour); default: the model's own.", PluginOptionKind.Text),
        new("json", "Also write the figures to this JSON file (not with --out).", PluginOptionKind.File),
        new("out", "Score this worker's shard of the scenes into this folder (run.json, shard-NNNNN/ of Parquet parts), resumable; then --from.", PluginOptionKind.Folder),
        new("shard-index", $"With --out: this worker's shard; default: ${ShardAssignment.KubernetesIndexVariable}, else ${ShardAssignment.SlurmIndexVariable} - ${ShardAssignment.SlurmMinVariable}, else 0.", PluginOptionKind.Integer),
        new("shard-count", $"With --out: the number of shards; default: ${ShardAssignment.ShardCountVariable}, else ${ShardAssignment.SlurmCountVariable} in a Slurm array, else 1.", PluginOptionKind.Integer),
        new("row-group-size", "With --out: scenes per Parquet part (a worker killed recomputes at most this many).", PluginOptionKind.Integer, CommandValues.Invariant(DefaultRowGroupSize)),
        new("flush-seconds", "With --out: write a part sooner, when its oldest scene finished this many seconds ago (a worker killed loses at most this much finished work).", PluginOptionKind.Integer, CommandValues.Invariant((int)ShardedRunOptions.DefaultFlushAfter.TotalSeconds)),
        new("threads", "libtorch's thread count for this run (put back when it ends); default: libtorch's.", PluginOptionKind.Integer),
        new("from", "Print (and with --json write) the report of a complete --out folder, from all its shards; exit 2 naming the missing scenes when one is incomplete. The run's options come from the folder.", PluginOptionKind.Folder),
    ];

    /// <summary>The options a report of a folder (<c>--from</c>) takes: every other is the run's, read from the folder (out and the shard's are refused on their own).</summary>
    private static readonly string[] ReportOptions = ["from", "json", "out", "shard-index", "shard-count"];

    /// <summary>The default scenes per part file of <c>--out</c>.</summary>
    public const int DefaultRowGroupSize = 4;

    /// <summary>Exit code of a cancelled <c>--out</c> worker (the scenes done are written; running again continues).</summary>
    public const int CancelledExitCode = 130;

    /// <inheritdoc />
    public int Run(PluginCommandContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var (outFolder, fromFolder) = (context.GetText("out"), context.GetText("from"));
        if (outFolder is not null && fromFolder is not null)
        {
            throw new ArgumentException("--out and --from do not go together: --out computes a shard, --from reports a complete folder.", "from");
        }

        if (outFolder is null && (context.GetText("shard-index") is not null || context.GetText("shard-count") is not null))
        {
            throw new ArgumentException("--shard-index and --shard-count go with --out.", context.GetText("shard-index") is null ? "shard-count" : "shard-index");
        }

        if (context.GetText("json") is { } jsonPath)
        {
            if (outFolder is not null)
            {
                throw new ArgumentException("--json goes with --from (the report of the whole run) or a run without --out.", "json");
            }

            if (fromFolder is not null)
            {
                // The report reads the run's files: it must not overwrite one (also through a link to the folder).
                ShardedRun.CheckNotRunFile("json", jsonPath, fromFolder, "vqa-eval --from reads and vqa-eval --out writes", "the JSON file");
            }

            OutputFolder.CheckFile("json", jsonPath);
        }

        if (fromFolder is not null)
        {
            // The report is of the run the folder holds: an option of another run would be ignored, and its figures
            // taken for those of the options given.
            if (Options.Select(o => o.Name).Except(ReportOptions).FirstOrDefault(context.IsGiven) is { } other)
            {
                throw new ArgumentException($"--{other} does not go with --from: the report is of the run in {fromFolder} as it was computed (its run.json), and --from computes nothing.", other);
            }

            return ReportFolder(context, fromFolder);
        }

        var options = new AttributionQualityOptions
        {
            Scenes = CommandValues.Positive(context, "scenes"),
            Seed = context.GetInteger("seed"),
            Steps = CommandValues.Positive(context, "steps"),
            Window = CommandValues.Positive(context, "window") is var w && w % 2 == 1 ? w : throw new ArgumentException($"--window must be odd, not {w}.", "window"),
            RandomWeightsSeed = context.GetInteger("random-weights-seed"),
        };
        var shard = outFolder is null ? null : ShardAssignment.Resolve(Whole(context, "shard-index"), Whole(context, "shard-count"));
        var parts = new ShardedRunOptions
        {
            RowGroupSize = CommandValues.Positive(context, "row-group-size"),
            FlushAfter = ShardedRun.FlushSecondsOption(context.GetInteger("flush-seconds")),
        };
        var threads = context.GetText("threads") is null ? (int?)null : CommandValues.Positive(context, "threads");
        var checkpointPath = context.GetText("checkpoint");
        if (checkpointPath is not null && !File.Exists(checkpointPath))
        {
            throw new ArgumentException($"--checkpoint: file not found: {checkpointPath}", "checkpoint");
        }

        return TorchRuntime.WithThreads(threads, () => Evaluate(context, options, checkpointPath, outFolder, shard, parts));
    }

    /// <summary>The run of checked options, in one process or, with a shard, as an <c>--out</c> worker.</summary>
    private static int Evaluate(PluginCommandContext context, AttributionQualityOptions options, string? checkpointPath, string? outFolder, ShardAssignment? shard, ShardedRunOptions parts)
    {
        using var checkpoint = checkpointPath is null ? SceneCheckpoint.LoadDefault() : TorchCheckpoint.Load(checkpointPath);
        var baseline = context.GetText("image-baseline") is { } name ? ImageBaselineNames.Parse(name, "image-baseline") : (ImageBaseline?)null;
        using var model = SceneCheckpoint.Build(checkpoint, new VqaModelOptions { ImageBaseline = baseline });
        var (trainingSeed, warning) = SceneCheckpoint.TrainingSeed(checkpoint, options.Seed, "vqa-eval");
        if (warning is not null)
        {
            context.Error.WriteLine(warning);
        }

        if (shard is not null)
        {
            var spec = AttributionQualityRunSpec.For(options, model, Digest(checkpointPath), checkpointPath, trainingSeed, shard.Count);
            return RunShard(context, outFolder!, spec, shard, model, parts);
        }

        var watch = Stopwatch.StartNew();
        var report = AttributionQuality.Evaluate(
            model,
            options,
            new SynchronousProgress<int>(done =>
            {
                if (done % 50 == 0 || done == options.Scenes)
                {
                    context.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"vqa-eval: {done}/{options.Scenes} scenes  {watch.Elapsed.TotalSeconds:0}s"));
                }
            }),
            context.CancellationToken);

        var baselineName = ImageBaselineNames.Name(model.Options.ImageBaseline ?? ImageBaseline.Zero);
        Write(context, report, model.Name, checkpointPath, trainingSeed, baselineName);
        return 0;
    }

    /// <summary>Prints the report (and writes the JSON file when asked): the same for one process and for a merged folder.</summary>
    private static void Write(PluginCommandContext context, AttributionQualityReport report, string modelName, string? checkpointPath, long? trainingSeed, string baselineName)
    {
        var options = report.Options;
        var command = string.Create(
            CultureInfo.InvariantCulture,
            $"captum vqa-eval --scenes {options.Scenes} --seed {options.Seed} --steps {options.Steps} --window {options.Window} --random-weights-seed {options.RandomWeightsSeed} --image-baseline {baselineName}{(checkpointPath is null ? string.Empty : " --checkpoint " + checkpointPath)}");
        Print(context.Output, report, modelName, command, baselineName);
        if (context.GetText("json") is { } jsonPath)
        {
            OutputFolder.WriteFile(jsonPath, Document(report, modelName, command, trainingSeed, baselineName).ToJson());
            context.Output.WriteLine($"JSON: {jsonPath}");
        }
    }

    private static int RunShard(PluginCommandContext context, string outFolder, AttributionQualityRunSpec spec, ShardAssignment shard, VqaModel model, ShardedRunOptions parts)
    {
        // The CLI cancels the context's token on SIGTERM as on Ctrl+C (Kubernetes evicting a pod, Slurm preempting a
        // task): the scenes done are written before the worker exits.
        var cancellationToken = context.CancellationToken;
        try
        {
            var result = AttributionQualityShards.RunShardAsync(
                outFolder,
                spec,
                shard,
                model,
                parts with { Progress = new ProgressLines(context.Error, "vqa-eval: ", "scenes") },
                cancellationToken).GetAwaiter().GetResult();
            context.Output.WriteLine($"{result.Describe("scenes", withErrors: false)} in {outFolder}");
            context.Output.WriteLine($"when every shard is complete: captum vqa-eval --from {outFolder}");
            return 0;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            context.Error.WriteLine("vqa-eval: cancelled; the scenes done are written: run the same command again to continue.");
            return CancelledExitCode;
        }
    }

    private static int ReportFolder(PluginCommandContext context, string folder)
    {
        var found = AttributionQualityShards.ReportAsync(folder, context.CancellationToken).GetAwaiter().GetResult();
        if (found.Report is not { } report)
        {
            foreach (var problem in found.Status.Problems)
            {
                context.Output.WriteLine(problem);
            }

            context.Error.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"vqa-eval: {folder} is incomplete: {found.Status.Missing} of {found.Spec.Scenes} scenes missing; run the missing shards with the same options and --out, then --from again."));
            return 2;
        }

        Write(context, report, found.Spec.Model, found.Spec.Checkpoint, found.Spec.TrainingSeed, found.Spec.ImageBaseline);
        return 0;
    }

    /// <summary>The SHA-256 (hex) of the checkpoint file, or of the checkpoint that ships with the plugin.</summary>
    private static string Digest(string? checkpointPath)
    {
        using var stream = checkpointPath is null ? SceneCheckpoint.OpenDefault() : File.OpenRead(checkpointPath);
        return ContentDigest.Of(stream);
    }

    private static int? Whole(PluginCommandContext context, string name) =>
        context.GetText(name) is null ? null
            : context.GetInteger(name) is var value && value is >= int.MinValue and <= int.MaxValue ? (int)value
            : throw new ArgumentException($"--{name} is out of range: {value}.", name);

    /// <summary>The JSON document of a report: the headline figures first, then the details.</summary>
    internal static VqaEvalDocument Document(AttributionQualityReport report, string model, string command, long? trainingSeed, string imageBaseline)
    {
        ArgumentNullException.ThrowIfNull(report);
        var (t, r) = (report.Trained, report.Random);
        return new VqaEvalDocument(
            report.Accuracy,
            t.PointingGame,
            r.PointingGame,
            t.MassOnObjects,
            r.MassOnObjects,
            t.AreaOfObjects,
            t.ObjectShare,
            r.ObjectShare,
            t.WordTest,
            r.WordTest,
            t.WordChance,
            t.DeltaMedian,
            t.DeltaMean,
            t.DeltaP90,
            t.DeltaMax,
            r.DeltaMedian,
            r.DeltaMax,
            r.Questions,
            t.Questions,
            t.PointingQuestions,
            r.PointingQuestions,
            report.Options.Scenes,
            report.Options.Seed,
            report.Options.Steps,
            report.Options.Window,
            report.Options.RandomWeightsSeed,
            imageBaseline,
            "LayerIntegratedGradients on input_maps.v (image) and module.text.embedding (words), explaining the correct answer; baselines: the image baseline and pad tokens",
            model,
            trainingSeed,
            command,
            report.TrainedByKind.ToDictionary(
                kv => kv.Key.ToString().ToLowerInvariant(),
                kv => new VqaEvalKindFigures(
                    report.AccuracyByKind[kv.Key],
                    kv.Value.PointingGame,
                    report.RandomByKind[kv.Key].PointingGame,
                    kv.Value.MassOnObjects,
                    report.RandomByKind[kv.Key].MassOnObjects,
                    kv.Value.AreaOfObjects,
                    kv.Value.ObjectShare,
                    kv.Value.WordTest,
                    report.RandomByKind[kv.Key].WordTest,
                    kv.Value.WordChance,
                    kv.Value.TopWords,
                    report.RandomByKind[kv.Key].TopWords,
                    report.RandomByKind[kv.Key].Questions)));
    }

    private static void Print(TextWriter output, AttributionQualityReport report, string model, string command, string baselineName)
    {
        var (t, r) = (report.Trained, report.Random);
        string F(double v) => v.ToString("0.000", CultureInfo.InvariantCulture);
        output.WriteLine(command);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Layer Integrated Gradients ({report.Options.Steps} steps) on {model}: {report.Options.Scenes} scenes of seed {report.Options.Seed}, {r.Questions} questions; image baseline {baselineName}"));
        output.WriteLine();
        output.WriteLine("                        trained   random weights   chance");
        output.WriteLine($"accuracy                {F(report.Accuracy)}");
        output.WriteLine($"pointing game           {F(t.PointingGame)}     {F(r.PointingGame)}            {F(t.AreaOfObjects)} of the image, {F(t.ObjectShare)} of the objects' pixels");
        output.WriteLine($"mass on objects         {F(t.MassOnObjects)}     {F(r.MassOnObjects)}            {F(t.AreaOfObjects)} / {F(t.ObjectShare)}");
        output.WriteLine($"word test               {F(t.WordTest)}     {F(r.WordTest)}            {F(t.WordChance)}  (1 / words)");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"|convergence delta|     median {t.DeltaMedian:G3}, mean {t.DeltaMean:G3}, p90 {t.DeltaP90:G3}, max {t.DeltaMax:G3} (random weights: median {r.DeltaMedian:G3})"));
        output.WriteLine();
        output.WriteLine("by kind                 accuracy  pointing (random)  mass (area)      word test (random)");
        foreach (var (kind, figures) in report.TrainedByKind)
        {
            var random = report.RandomByKind[kind];
            output.WriteLine($"{kind.ToString().ToLowerInvariant(),-24}{F(report.AccuracyByKind[kind])}     {F(figures.PointingGame)} ({F(random.PointingGame)})      {F(figures.MassOnObjects)} ({F(figures.AreaOfObjects)})    {F(figures.WordTest)} ({F(random.WordTest)})");
        }
    }
}
