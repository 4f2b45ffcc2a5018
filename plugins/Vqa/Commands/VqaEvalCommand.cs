using System.Diagnostics;
using System.Globalization;
using Captum.Checkpoints;
using Captum.Plugins.Vqa.Scenes;

namespace Captum.Plugins.Vqa.Commands;

/// <summary>
/// <c>captum vqa-eval</c>: measures how well Layer Integrated Gradients explains the scenes model on freshly
/// generated scenes (<see cref="AttributionQuality"/>) and prints the figures, optionally as JSON too.
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
        new("json", "Also write the figures to this JSON file.", PluginOptionKind.File),
    ];

    /// <inheritdoc />
    public int Run(PluginCommandContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var options = new AttributionQualityOptions
        {
            Scenes = CommandValues.Positive(context, "scenes"),
            Seed = context.GetInteger("seed"),
            Steps = CommandValues.Positive(context, "steps"),
            Window = CommandValues.Positive(context, "window") is var w && w % 2 == 1 ? w : throw new ArgumentException($"--window must be odd, not {w}.", "window"),
            RandomWeightsSeed = context.GetInteger("random-weights-seed"),
        };
        var checkpointPath = context.GetText("checkpoint");
        if (checkpointPath is not null && !File.Exists(checkpointPath))
        {
            throw new ArgumentException($"--checkpoint: file not found: {checkpointPath}", "checkpoint");
        }

        using var checkpoint = checkpointPath is null ? SceneCheckpoint.LoadDefault() : TorchCheckpoint.Load(checkpointPath);
        var baseline = context.GetText("image-baseline") is { } name ? ImageBaselineNames.Parse(name, "image-baseline") : (ImageBaseline?)null;
        using var model = SceneCheckpoint.Build(checkpoint, new VqaModelOptions { ImageBaseline = baseline });
        var trainingSeed = checkpoint.TryGet("training", out var training) && training.TryGet("seed", out var seed) && seed.Kind == CheckpointValueKind.Integer
            ? seed.AsInt64()
            : (long?)null;
        if (trainingSeed is { } s && (options.Seed == s || options.Seed == s + 1))
        {
            context.Error.WriteLine($"vqa-eval: warning: the model was trained on scene stream {s} and checked on {s + 1}; seed {options.Seed} is not fresh.");
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
        var command = string.Create(
            CultureInfo.InvariantCulture,
            $"captum vqa-eval --scenes {options.Scenes} --seed {options.Seed} --steps {options.Steps} --window {options.Window} --random-weights-seed {options.RandomWeightsSeed} --image-baseline {baselineName}{(checkpointPath is null ? string.Empty : " --checkpoint " + checkpointPath)}");
        Print(context.Output, report, model.Name, command, baselineName);
        if (context.GetText("json") is { } jsonPath)
        {
            File.WriteAllText(jsonPath, Document(report, model.Name, command, trainingSeed, baselineName).ToJson());
            context.Output.WriteLine($"JSON: {jsonPath}");
        }

        return 0;
    }

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
