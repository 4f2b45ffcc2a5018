using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Captum.Plugins.TextGeneration.Stories;
using Captum.Runtime;

namespace Captum.Plugins.TextGeneration.Commands;

/// <summary>
/// <c>captum llm-eval</c>: on new stories, the story model's accuracy and, for each LLM attribution method, how often
/// the highest-attributed sentence is the supporting fact, against the same network with random weights and against
/// chance (<see cref="SupportingFactQuality"/>); printed, and with <c>--json</c> written as JSON.
/// </summary>
public sealed class LlmEvalCommand : IPluginCommand
{
    private static readonly SupportingFactOptions Defaults = new();

    /// <inheritdoc />
    public string Name => "llm-eval";

    /// <inheritdoc />
    public string Description => "Measure LLM attribution on the story model: how often each method's top sentence is the supporting fact, against random weights and chance.";

    /// <inheritdoc />
    public IReadOnlyList<PluginCommandOption> Options { get; } =
    [
        new("stories", "Stories to generate and explain.", PluginOptionKind.Integer, Defaults.Stories.ToString(CultureInfo.InvariantCulture)),
        new("seed", "The story stream (not the model's training stream or the one after it).", PluginOptionKind.Integer, Defaults.Seed.ToString(CultureInfo.InvariantCulture)),
        new("method", "A method to measure (repeatable); all of them when not given.", PluginOptionKind.Text)
        {
            Repeatable = true,
            AllowedValues = SupportingFactQuality.Methods,
        },
        new("steps", "Integration steps of layer-ig.", PluginOptionKind.Integer, Defaults.Steps.ToString(CultureInfo.InvariantCulture)),
        new("random-weights-seed", "The torch.manual_seed of the network with random weights.", PluginOptionKind.Integer, Defaults.RandomWeightsSeed.ToString(CultureInfo.InvariantCulture)),
        new("checkpoint", "A story model folder (from llm-train); default: the model that ships with the plugin.", PluginOptionKind.Folder),
        new("json", "Also write the figures to this JSON file.", PluginOptionKind.File),
        new("threads", "libtorch's thread count for this run (put back when it ends); default: libtorch's.", PluginOptionKind.Integer),
    ];

    /// <inheritdoc />
    /// <exception cref="ArgumentException">An option does not fit (a bad number, a missing or unreadable checkpoint folder, a --json file that cannot be written); the message starts with the option, e.g. <c>--checkpoint: </c>, and comes before any story is explained.</exception>
    public int Run(PluginCommandContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var methods = context.GetTexts("method");
        var options = new SupportingFactOptions
        {
            Stories = Positive(context, "stories"),
            Seed = context.GetInteger("seed"),
            Methods = methods.Count == 0 ? SupportingFactQuality.Methods : methods.Distinct().ToList(),
            Steps = Positive(context, "steps"),
            RandomWeightsSeed = context.GetInteger("random-weights-seed"),
        };
        var folder = context.GetText("checkpoint");
        if (folder is not null && !Directory.Exists(folder))
        {
            throw new ArgumentException($"--checkpoint: folder not found: {folder}", "checkpoint");
        }

        var json = context.GetText("json");
        if (json is not null)
        {
            OutputFolder.CheckFile("json", json);
        }

        var threads = context.GetText("threads") is null ? (int?)null : Positive(context, "threads");
        var command = string.Create(
            CultureInfo.InvariantCulture,
            $"captum llm-eval --stories {options.Stories} --seed {options.Seed}{string.Concat(methods.Count == 0 ? [] : options.Methods.Select(m => " --method " + m))} --steps {options.Steps} --random-weights-seed {options.RandomWeightsSeed}{(folder is null ? string.Empty : " --checkpoint " + folder)}");
        return TorchRuntime.WithThreads(threads, () => Evaluate(context, options, folder, json, (command, threads is not null)));
    }

    /// <summary>
    /// The run of checked options. The command printed is <paramref name="commandLine"/>'s text, with
    /// <c>--threads</c> when it was given: libtorch's thread count while the stories are explained.
    /// </summary>
    private static int Evaluate(PluginCommandContext context, SupportingFactOptions options, string? folder, string? json, (string Text, bool Threads) commandLine)
    {
        using var model = LoadModel(folder);
        var trainingSeed = TrainingSeed(folder ?? StoryModel.DefaultFolder);
        if (trainingSeed is { } s && (options.Seed == s || options.Seed == s + 1))
        {
            context.Error.WriteLine($"llm-eval: warning: the model was trained on story stream {s} and checked on {s + 1}; seed {options.Seed} is not fresh.");
        }

        var watch = Stopwatch.StartNew();
        var report = SupportingFactQuality.Evaluate(
            model,
            options,
            new SynchronousProgress<int>(done =>
            {
                if (done % 10 == 0 || done == options.Stories)
                {
                    context.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"llm-eval: {done}/{options.Stories} stories  {watch.Elapsed.TotalSeconds:0}s"));
                }
            }),
            context.CancellationToken);

        var command = commandLine.Threads ? string.Create(CultureInfo.InvariantCulture, $"{commandLine.Text} --threads {torch.get_num_threads()}") : commandLine.Text;
        Print(context.Output, report, command);
        if (json is not null)
        {
            OutputFolder.WriteFile(json, JsonSerializer.Serialize(Document(report, command, trainingSeed), new JsonSerializerOptions { WriteIndented = true }) + "\n");
            context.Output.WriteLine($"JSON: {json}");
        }

        return 0;
    }

    /// <summary>
    /// The JSON document: the accuracy and the headline method's figures first (feature-ablation, Captum's default, when
    /// measured), then every method's, each with the accuracy too (the model's, the same for every method: each method
    /// explains the same stories' correct answers).
    /// </summary>
    internal static Dictionary<string, object?> Document(SupportingFactReport report, string command, long? trainingSeed)
    {
        ArgumentNullException.ThrowIfNull(report);
        var (method, headline) = report.ByMethod.First();
        return new Dictionary<string, object?>
        {
            ["accuracy"] = report.Accuracy,
            ["supportingFact"] = headline.SupportingFact,
            ["randomSupportingFact"] = headline.RandomSupportingFact,
            ["chance"] = headline.Chance,
            ["method"] = method,
            ["byMethod"] = report.ByMethod.ToDictionary(
                kv => kv.Key,
                kv => new Dictionary<string, double>
                {
                    ["accuracy"] = report.Accuracy,
                    ["supportingFact"] = kv.Value.SupportingFact,
                    ["randomSupportingFact"] = kv.Value.RandomSupportingFact,
                    ["chance"] = kv.Value.Chance,
                }),
            ["stories"] = report.Options.Stories,
            ["seed"] = report.Options.Seed,
            ["steps"] = report.Options.Steps,
            ["randomWeightsSeed"] = report.Options.RandomWeightsSeed,
            ["trainingSeed"] = trainingSeed,
            ["attribution"] = "each sentence a TextTemplateInput value removed (empty string), towards the correct answer's log probability; layer-ig, layer-gradient-x-activation, layer-gradient-shap: the sum of the sentence's token attributions (TextTokenInput, [pad] baseline)",
            ["command"] = command,
        };
    }

    private static void Print(TextWriter output, SupportingFactReport report, string command)
    {
        string F(double v) => v.ToString("0.000", CultureInfo.InvariantCulture);
        output.WriteLine(command);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{report.Options.Stories} stories of seed {report.Options.Seed}; accuracy {F(report.Accuracy)}"));
        output.WriteLine();
        output.WriteLine("top sentence is the supporting fact   trained   random weights   chance");
        foreach (var (method, figures) in report.ByMethod)
        {
            output.WriteLine($"{method,-37}{F(figures.SupportingFact)}     {F(figures.RandomSupportingFact)}            {F(figures.Chance)}");
        }
    }

    /// <summary>The story model of <paramref name="folder"/> (the shipped one when null); its errors name --checkpoint.</summary>
    private static StoryModel LoadModel(string? folder)
    {
        try
        {
            return StoryModel.Load(folder);
        }
        catch (ArgumentException e) when (!e.Message.StartsWith("--", StringComparison.Ordinal))
        {
            throw ErrorMessages.Renamed(e, "checkpoint", "--checkpoint");
        }
    }

    /// <summary>The training seed recorded in a model folder's training.json, if any.</summary>
    private static long? TrainingSeed(string folder)
    {
        var path = Path.Combine(folder, LlmTrainCommand.RecordFile);
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path));
            return document.RootElement.TryGetProperty("seed", out var seed) && seed.TryGetInt64(out var value) ? value : null;
        }
        catch (Exception ex) when (ex is IOException or JsonException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static int Positive(PluginCommandContext context, string name) =>
        context.GetInteger(name) is >= 1 and <= int.MaxValue and var value ? (int)value : throw new ArgumentException($"--{name}: must be a positive whole number.", name);
}
