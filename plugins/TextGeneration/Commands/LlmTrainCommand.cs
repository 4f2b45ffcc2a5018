using System.Globalization;
using System.Text.Json;
using Captum.Plugins.TextGeneration.Stories;

namespace Captum.Plugins.TextGeneration.Commands;

/// <summary>
/// <c>captum llm-train</c>: trains the story model from scratch (<see cref="StoryTrainer"/>) and writes it as a Hugging
/// Face folder (the one the plugin ships) with a JSON record of the run.
/// </summary>
public sealed class LlmTrainCommand : IPluginCommand
{
    /// <summary>The record of the run in the output folder.</summary>
    public const string RecordFile = "training.json";

    private static readonly StoryTrainingOptions Defaults = new();

    /// <inheritdoc />
    public string Name => "llm-train";

    /// <inheritdoc />
    public string Description => "Train the story model (a small GPT-2 answering \"where is X ?\") from scratch, seeded, and write it as a Hugging Face folder.";

    /// <inheritdoc />
    public IReadOnlyList<PluginCommandOption> Options { get; } =
    [
        new("seed", "The seed of the weights and the training stories; held-out stories are seed + 1.", PluginOptionKind.Integer, Invariant(Defaults.Seed)),
        new("steps", "Optimisation steps.", PluginOptionKind.Integer, Invariant(Defaults.Steps)),
        new("batch-size", "Stories per step.", PluginOptionKind.Integer, Invariant(Defaults.BatchSize)),
        new("learning-rate", "Adam's peak learning rate.", PluginOptionKind.Number, Invariant(Defaults.LearningRate)),
        new("weight-decay", "AdamW's weight decay of the matrices and embeddings (0: plain Adam).", PluginOptionKind.Number, Invariant(Defaults.WeightDecay)),
        new("warmup-steps", "Steps of linear learning-rate warm-up before the cosine decay.", PluginOptionKind.Integer, Invariant(Defaults.WarmupSteps)),
        new("plain-positions", "Start the position embeddings from GPT-2's random N(0, 0.02²) instead of sinusoids.", PluginOptionKind.Flag),
        new("no-early-answers", "Train only the question's last token to predict the answer, not also its key word (the person, the place).", PluginOptionKind.Flag),
        new("no-who-questions", "Do not also ask \"who went to the PLACE ?\" in the training sequences.", PluginOptionKind.Flag),
        new("layers", "Transformer blocks.", PluginOptionKind.Integer, Invariant(Defaults.Layers)),
        new("width", "Embedding width.", PluginOptionKind.Integer, Invariant(Defaults.Width)),
        new("heads", "Attention heads.", PluginOptionKind.Integer, Invariant(Defaults.Heads)),
        new("threads", "libtorch threads (fixed, so that runs repeat).", PluginOptionKind.Integer, Invariant(Defaults.Threads)),
        new("held-out-stories", "Stories of the held-out accuracy check after training.", PluginOptionKind.Integer, Invariant(Defaults.HeldOutStories)),
        new("out", "The folder to write config.json, model.safetensors, vocab.txt and training.json to.", PluginOptionKind.Folder, Path.Combine("out", "llm-train")),
    ];

    /// <inheritdoc />
    public int Run(PluginCommandContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var options = new StoryTrainingOptions
        {
            Seed = context.GetInteger("seed"),
            Steps = Int(context, "steps"),
            BatchSize = Int(context, "batch-size"),
            LearningRate = context.GetNumber("learning-rate"),
            WeightDecay = context.GetNumber("weight-decay"),
            WarmupSteps = Int(context, "warmup-steps"),
            SinusoidalPositions = !context.GetFlag("plain-positions"),
            EarlyAnswers = !context.GetFlag("no-early-answers"),
            WhoQuestions = !context.GetFlag("no-who-questions"),
            Layers = Int(context, "layers"),
            Width = Int(context, "width"),
            Heads = Int(context, "heads"),
            Threads = Int(context, "threads"),
            HeldOutStories = Int(context, "held-out-stories"),
        };
        try
        {
            options.Validate();
        }
        catch (ArgumentException ex)
        {
            // "LearningRate must be ..." becomes "--learning-rate: must be ...".
            var option = OptionName(ex.ParamName);
            var message = ErrorMessages.OneLine(ex);
            throw new ArgumentException(
                option is null ? message : $"--{option}: {(message.StartsWith(ex.ParamName + " ", StringComparison.Ordinal) ? message[(ex.ParamName!.Length + 1)..] : message)}",
                option,
                ex);
        }

        var folder = context.GetText("out")!;
        OutputFolder.Check("out", folder, "config.json", "model.safetensors", "vocab.txt", RecordFile);
        var command = string.Create(
            CultureInfo.InvariantCulture,
            $"captum llm-train --seed {options.Seed} --steps {options.Steps} --batch-size {options.BatchSize} --learning-rate {options.LearningRate:R} --weight-decay {options.WeightDecay:R} --warmup-steps {options.WarmupSteps}{(options.SinusoidalPositions ? string.Empty : " --plain-positions")}{(options.EarlyAnswers ? string.Empty : " --no-early-answers")}{(options.WhoQuestions ? string.Empty : " --no-who-questions")} --layers {options.Layers} --width {options.Width} --heads {options.Heads} --threads {options.Threads} --held-out-stories {options.HeldOutStories}");
        context.Error.WriteLine($"llm-train: {command}");
        var log = new List<Dictionary<string, object>>();
        var result = StoryTrainer.Train(
            options,
            new SynchronousProgress<StoryTrainingProgress>(p =>
            {
                context.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"step {p.Step}/{p.Steps}  loss {p.Loss:0.0000}  accuracy {p.Accuracy:0.000}  {p.Elapsed.TotalSeconds:0}s"));
                log.Add(new() { ["step"] = p.Step, ["loss"] = p.Loss, ["accuracy"] = p.Accuracy, ["seconds"] = Math.Round(p.Elapsed.TotalSeconds, 1) });
            }),
            context.CancellationToken);
        using var model = result.Model;
        var parameters = model.Network.parameters().Sum(p => p.numel());
        model.Save(folder, new Dictionary<string, string>
        {
            ["command"] = command,
            ["heldOutAccuracy"] = result.HeldOutAccuracy.ToString("R", CultureInfo.InvariantCulture),
        });
        var record = new Dictionary<string, object>
        {
            ["command"] = command,
            ["seed"] = options.Seed,
            ["parameters"] = parameters,
            ["modelBytes"] = new FileInfo(Path.Combine(folder, "model.safetensors")).Length,
            ["trainingSeconds"] = Math.Round(result.Elapsed.TotalSeconds, 1),
            ["heldOutSeed"] = options.Seed + 1,
            ["heldOutStories"] = result.HeldOutStories,
            ["heldOutAccuracy"] = result.HeldOutAccuracy,
            ["progress"] = log,
        };
        File.WriteAllText(Path.Combine(folder, RecordFile), JsonSerializer.Serialize(record, new JsonSerializerOptions { WriteIndented = true }) + "\n");

        context.Output.WriteLine(result.HeldOutStories == 0
            ? "Held-out accuracy: not measured (--held-out-stories 0)"
            : string.Create(CultureInfo.InvariantCulture, $"Held-out accuracy: {result.HeldOutAccuracy:0.0000} on {result.HeldOutStories} new stories (seed {options.Seed + 1})"));
        context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Parameters: {parameters}; training time: {result.Elapsed.TotalSeconds:0} s"));
        context.Output.WriteLine($"Model: {folder}");
        return 0;
    }

    private static int Int(PluginCommandContext context, string name) =>
        context.GetInteger(name) is >= int.MinValue and <= int.MaxValue and var value ? (int)value : throw new ArgumentException($"--{name}: out of range.", name);

    /// <summary>The option of a <see cref="StoryTrainingOptions"/> property: "BatchSize" to "batch-size".</summary>
    private static string? OptionName(string? property) =>
        property is null ? null : string.Concat(property.Select((c, i) => char.IsUpper(c) ? (i > 0 ? "-" : string.Empty) + char.ToLowerInvariant(c) : c.ToString()));

    private static string Invariant(IFormattable value) => value.ToString(null, CultureInfo.InvariantCulture);
}

/// <summary>An <see cref="IProgress{T}"/> that reports on the calling thread, in order (unlike <see cref="Progress{T}"/>).</summary>
internal sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
