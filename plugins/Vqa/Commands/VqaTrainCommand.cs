using System.Globalization;
using System.Text.Json;
using Captum.Plugins.Vqa.Scenes;

namespace Captum.Plugins.Vqa.Commands;

/// <summary>
/// <c>captum vqa-train</c>: trains the scenes model from scratch and writes its checkpoint (the file the plugin
/// ships as its default model) and a JSON record of the run.
/// </summary>
public sealed class VqaTrainCommand : IPluginCommand
{
    /// <summary>The checkpoint's file name in the output folder.</summary>
    public const string CheckpointFile = "scenes-vqa.pth";

    /// <inheritdoc />
    public string Name => "vqa-train";

    /// <inheritdoc />
    public string Description => $"Train the scenes VQA model from scratch (seeded, repeatable) and write {CheckpointFile} and training.json.";

    /// <inheritdoc />
    public IReadOnlyList<PluginCommandOption> Options { get; } =
    [
        new("seed", "The seed of the weights, the dropout and the training scenes.", PluginOptionKind.Integer, "1"),
        new("steps", "Optimisation steps.", PluginOptionKind.Integer, CommandValues.Invariant(new SceneTrainingOptions().Steps)),
        new("scenes-per-step", "Scenes per step; every question of each is asked.", PluginOptionKind.Integer, CommandValues.Invariant(new SceneTrainingOptions().ScenesPerStep)),
        new("learning-rate", "Adam's peak learning rate.", PluginOptionKind.Number, CommandValues.Invariant(new SceneTrainingOptions().LearningRate)),
        new("threads", "libtorch threads (fixed, so that runs repeat bit for bit).", PluginOptionKind.Integer, CommandValues.Invariant(new SceneTrainingOptions().Threads)),
        new("held-out-scenes", "Scenes of the held-out accuracy check after training.", PluginOptionKind.Integer, CommandValues.Invariant(new SceneTrainingOptions().HeldOutScenes)),
        new("out", $"The folder to write {CheckpointFile} and training.json to.", PluginOptionKind.Folder, Path.Combine("out", "vqa-train")),
    ];

    /// <inheritdoc />
    public int Run(PluginCommandContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var options = new SceneTrainingOptions
        {
            Seed = context.GetInteger("seed"),
            Steps = CommandValues.Positive(context, "steps"),
            ScenesPerStep = CommandValues.Positive(context, "scenes-per-step"),
            LearningRate = context.GetNumber("learning-rate") is > 0 and var lr ? lr : throw new ArgumentException("--learning-rate must be positive.", "learning-rate"),
            Threads = CommandValues.Positive(context, "threads"),
            HeldOutScenes = CommandValues.NonNegative(context, "held-out-scenes"),
        };
        var folder = context.GetText("out")!;
        OutputFolder.Check("out", folder, CheckpointFile, "training.json");
        var command = string.Create(
            CultureInfo.InvariantCulture,
            $"captum vqa-train --seed {options.Seed} --steps {options.Steps} --scenes-per-step {options.ScenesPerStep} --learning-rate {options.LearningRate:R} --threads {options.Threads} --held-out-scenes {options.HeldOutScenes}");
        context.Error.WriteLine($"vqa-train: {command}");
        var log = new List<Dictionary<string, object?>>();
        using var result = new TrainingRun(SceneTrainer.Train(
            options,
            new SynchronousProgress<SceneTrainingProgress>(p =>
            {
                context.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"step {p.Step}/{p.Steps}  loss {p.Loss:0.0000}  accuracy {p.Accuracy:0.000}  {p.Elapsed.TotalSeconds:0}s"));
                log.Add(new() { ["step"] = p.Step, ["loss"] = p.Loss, ["accuracy"] = p.Accuracy, ["seconds"] = Math.Round(p.Elapsed.TotalSeconds, 1) });
            }),
            context.CancellationToken));
        var trained = result.Value;

        Directory.CreateDirectory(folder);
        var checkpoint = Path.Combine(folder, CheckpointFile);
        var heldOut = trained.HeldOut;
        SceneCheckpoint.Save(trained.Model.Net, checkpoint, trained.Model.Transform.ImageSize, options.Baseline, new Dictionary<string, object?>
        {
            ["command"] = command,
            ["seed"] = options.Seed,
            ["steps"] = (long)options.Steps,
            ["scenesPerStep"] = (long)options.ScenesPerStep,
            ["learningRate"] = options.LearningRate,
            ["dropout"] = options.Dropout,
            ["fade"] = options.Fade,
            ["threads"] = (long)options.Threads,
            ["heldOutSeed"] = options.Seed + 1,
            ["heldOutQuestions"] = (long)heldOut.Questions,
            ["heldOutAccuracy"] = heldOut.Accuracy,
            ["heldOutAccuracyByKind"] = heldOut.ByKind.ToDictionary(kv => kv.Key.ToString(), kv => (object?)kv.Value),
        });
        var record = new Dictionary<string, object?>
        {
            ["command"] = command,
            ["checkpoint"] = checkpoint,
            ["checkpointBytes"] = new FileInfo(checkpoint).Length,
            ["trainingSeconds"] = Math.Round(trained.Elapsed.TotalSeconds, 1),
            ["heldOutSeed"] = options.Seed + 1,
            ["heldOutQuestions"] = heldOut.Questions,
            ["heldOutAccuracy"] = heldOut.Accuracy,
            ["heldOutAccuracyByKind"] = heldOut.ByKind.ToDictionary(kv => kv.Key.ToString(), kv => kv.Value),
            ["progress"] = log,
        };
        File.WriteAllText(Path.Combine(folder, "training.json"), JsonSerializer.Serialize(record, new JsonSerializerOptions { WriteIndented = true }));

        if (heldOut.Questions == 0)
        {
            context.Output.WriteLine("Held-out accuracy: not measured (--held-out-scenes 0)");
        }
        else
        {
            context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Held-out accuracy: {heldOut.Accuracy:0.0000} on {heldOut.Questions} questions of {options.HeldOutScenes} new scenes (seed {options.Seed + 1})"));
            context.Output.WriteLine("  " + string.Join(", ", heldOut.ByKind.Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key.ToString().ToLowerInvariant()} {kv.Value:0.000}"))));
        }

        context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Training time: {trained.Elapsed.TotalSeconds:0} s"));
        context.Output.WriteLine($"Checkpoint: {checkpoint}");
        return 0;
    }

    /// <summary>Owns the trained model until the command is done.</summary>
    private sealed class TrainingRun(SceneTrainingResult value) : IDisposable
    {
        public SceneTrainingResult Value { get; } = value;

        public void Dispose() => Value.Model.Dispose();
    }
}

/// <summary>An <see cref="IProgress{T}"/> that reports on the calling thread, in order (unlike <see cref="Progress{T}"/>).</summary>
internal sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
