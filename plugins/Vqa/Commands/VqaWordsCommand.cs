using System.Diagnostics;
using System.Globalization;
using Captum.Checkpoints;
using Captum.Plugins.Vqa.Scenes;

namespace Captum.Plugins.Vqa.Commands;

/// <summary>
/// <c>captum vqa-words</c>: on freshly generated scenes, compares the scenes model's word ranking by Layer Integrated
/// Gradients (vqa-eval's word test) with the words' exact Shapley values and with the drop when a word alone is
/// replaced by pad (<see cref="WordRanking"/>), and prints the agreement, optionally as JSON too.
/// </summary>
public sealed class VqaWordsCommand : IPluginCommand
{
    private static readonly (WordRankingMethod Method, string Label)[] Methods =
    [
        (WordRankingMethod.IntegratedGradients, "layer IG (vqa-eval)"),
        (WordRankingMethod.IntegratedGradientsWordsOnly, "layer IG, words only"),
        (WordRankingMethod.Shapley, "exact Shapley"),
        (WordRankingMethod.Drop, "drop, word alone padded"),
    ];

    private static readonly (WordRankingMethod First, WordRankingMethod Second, string Label)[] Pairs =
    [
        (WordRankingMethod.IntegratedGradients, WordRankingMethod.Shapley, "IG / Shapley"),
        (WordRankingMethod.IntegratedGradients, WordRankingMethod.Drop, "IG / drop"),
        (WordRankingMethod.Shapley, WordRankingMethod.Drop, "Shapley / drop"),
        (WordRankingMethod.IntegratedGradientsWordsOnly, WordRankingMethod.Shapley, "IG words only / Shapley"),
        (WordRankingMethod.IntegratedGradients, WordRankingMethod.IntegratedGradientsWordsOnly, "IG / IG words only"),
    ];

    /// <inheritdoc />
    public string Name => "vqa-words";

    /// <inheritdoc />
    public string Description => "Compare the scenes model's word ranking by Layer Integrated Gradients with exact Shapley values and single-word drops (pad as the removed word).";

    /// <inheritdoc />
    public IReadOnlyList<PluginCommandOption> Options { get; } =
    [
        new("scenes", "Scenes to generate (every question of each is ranked).", PluginOptionKind.Integer, CommandValues.Invariant(new WordRankingOptions().Scenes)),
        new("seed", "The scene stream (not the model's training seed or the one after it); default: vqa-eval's.", PluginOptionKind.Integer, CommandValues.Invariant(new WordRankingOptions().Seed)),
        new("steps", "Integration steps of Layer Integrated Gradients; default: vqa-eval's.", PluginOptionKind.Integer, CommandValues.Invariant(new WordRankingOptions().Steps)),
        new("checkpoint", "A scenes checkpoint (from vqa-train); default: the model that ships with the plugin.", PluginOptionKind.File),
        new("json", "Also write the figures and every question's word values to this JSON file.", PluginOptionKind.File),
    ];

    /// <inheritdoc />
    /// <exception cref="ArgumentException">An option is out of range, the checkpoint is missing or not a scenes checkpoint, or --json cannot be written; the message names the option, and no scene is ranked.</exception>
    public int Run(PluginCommandContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var options = new WordRankingOptions
        {
            Scenes = CommandValues.Positive(context, "scenes"),
            Seed = context.GetInteger("seed"),
            Steps = CommandValues.Positive(context, "steps"),
        };
        var checkpointPath = context.GetText("checkpoint");
        if (checkpointPath is not null && !File.Exists(checkpointPath))
        {
            throw new ArgumentException($"--checkpoint: file not found: {checkpointPath}", "checkpoint");
        }

        var jsonPath = context.GetText("json");
        if (jsonPath is not null)
        {
            OutputFolder.CheckFile("json", jsonPath);
        }

        using var checkpoint = checkpointPath is null ? SceneCheckpoint.LoadDefault() : TorchCheckpoint.Load(checkpointPath);
        if (!SceneCheckpoint.IsSceneCheckpoint(checkpoint))
        {
            throw new ArgumentException($"--checkpoint: {checkpointPath} is not a scenes checkpoint written by vqa-train.", "checkpoint");
        }

        using var model = SceneCheckpoint.Build(checkpoint, new VqaModelOptions());
        var (trainingSeed, warning) = SceneCheckpoint.TrainingSeed(checkpoint, options.Seed, "vqa-words");
        if (warning is not null)
        {
            context.Error.WriteLine(warning);
        }

        var watch = Stopwatch.StartNew();
        var report = WordRanking.Evaluate(
            model,
            options,
            new SynchronousProgress<int>(done =>
            {
                if (done % 25 == 0 || done == options.Scenes)
                {
                    context.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"vqa-words: {done}/{options.Scenes} scenes  {watch.Elapsed.TotalSeconds:0}s"));
                }
            }),
            context.CancellationToken);

        var command = string.Create(
            CultureInfo.InvariantCulture,
            $"captum vqa-words --scenes {options.Scenes} --seed {options.Seed} --steps {options.Steps}{(checkpointPath is null ? string.Empty : " --checkpoint " + checkpointPath)}");
        Print(context.Output, report, model.Name, command);
        if (jsonPath is not null)
        {
            OutputFolder.WriteFile(jsonPath, VqaWordsDocument.Of(report, command, model.Name, trainingSeed).ToJson());
            context.Output.WriteLine($"JSON: {jsonPath}");
        }

        return 0;
    }

    private static void Print(TextWriter output, WordRankingReport report, string model, string command)
    {
        static string F(double v) => double.IsNaN(v) ? "  -  " : v.ToString("0.000", CultureInfo.InvariantCulture);
        var overall = report.Overall;
        output.WriteLine(command);
        output.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"Word rankings on {model}: {report.Options.Scenes} scenes of seed {report.Options.Seed}, {report.Items.Count} questions, {overall.Questions} answered correctly (counted below); towards the correct answer's logit, a removed word replaced by pad"));
        output.WriteLine();
        output.WriteLine("method                     key word first   commonest first words");
        foreach (var (method, label) in Methods)
        {
            var tops = overall.Methods[method];
            var words = string.Join(", ", tops.TopWords.Take(4).Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key} {kv.Value:0.00}")));
            output.WriteLine($"{label,-27}{F(tops.KeyWordTop),-17}{words}");
        }

        output.WriteLine($"{"chance (1 / words)",-27}{F(overall.WordChance)}");
        output.WriteLine();
        output.WriteLine("pair                       top-1 agreement  mean Spearman");
        foreach (var (first, second, label) in Pairs)
        {
            var pair = overall.Pair(first, second);
            output.WriteLine($"{label,-27}{F(pair.TopAgreement),-17}{F(pair.MeanSpearman)}");
        }

        output.WriteLine();
        output.WriteLine("by kind     questions  key word first (IG, IG words only, Shapley, drop)   top-1 IG/Shapley IG/drop Shapley/drop   Spearman IG/Shapley IG/drop Shapley/drop");
        foreach (var (kind, figures) in report.ByKind)
        {
            var keys = string.Join(" ", Methods.Select(m => F(figures.Methods[m.Method].KeyWordTop)));
            var top = string.Join(" ", Pairs.Take(3).Select(p => F(figures.Pair(p.First, p.Second).TopAgreement)));
            var rho = string.Join(" ", Pairs.Take(3).Select(p => F(figures.Pair(p.First, p.Second).MeanSpearman)));
            output.WriteLine($"{kind.ToString().ToLowerInvariant(),-12}{figures.Questions,-11}{keys,-50}{top,-40}{rho}");
        }

        output.WriteLine();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Shapley efficiency: max |sum of values - (f(words) - f(all pad))| = {report.EfficiencyMaxError:G3}"));
    }
}
