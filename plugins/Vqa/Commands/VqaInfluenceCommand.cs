using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Captum.Checkpoints;
using Captum.Influence;
using Captum.Plugins.Vqa.Scenes;
using Captum.Visualization;

namespace Captum.Plugins.Vqa.Commands;

/// <summary>
/// <c>captum vqa-influence</c>: for answers the scenes model gets wrong, the training questions that most lowered
/// (proponents) and most raised (opponents) the loss of the answer the model gave, by TracInCPFast on the classifier's last layer
/// over the scenes the model was trained on (regenerated from the checkpoint's training seed), in report.html and
/// influence.json.
/// </summary>
/// <remarks>
/// Only the final weights are kept by <c>vqa-train</c>, so TracIn's sum has one term: the ranking Pruthi et al. use
/// when only the last checkpoint exists. The training stream is long (steps × scenes per step); the command takes its
/// first <c>--training-scenes</c> scenes, every question of each, in the order training drew them.
/// </remarks>
public sealed class VqaInfluenceCommand : IPluginCommand
{
    /// <summary>The classifier's last layer: TracInCPFast's final fully-connected layer.</summary>
    public const string FinalLayer = "classifier.lin2";

    /// <inheritdoc />
    public string Name => "vqa-influence";

    /// <inheritdoc />
    public string Description => "For wrong answers of the scenes model, the training questions that most influenced them (TracInCPFast), in a report.";

    /// <inheritdoc />
    public IReadOnlyList<PluginCommandOption> Options { get; } =
    [
        new("checkpoint", "A scenes checkpoint written by vqa-train; default: the scenes model that ships with the plugin.", PluginOptionKind.File),
        new("training-scenes", "How many scenes of the training stream, from its start (every question of each).", PluginOptionKind.Integer, "400"),
        new("test-seed", "The seed of the scenes searched for wrong answers; default: the checkpoint's held-out seed.", PluginOptionKind.Integer),
        new("test-scenes", "How many test scenes to search.", PluginOptionKind.Integer, "300"),
        new("wrong", "How many wrong answers to explain.", PluginOptionKind.Integer, "2"),
        new("k", "How many proponents and opponents per wrong answer.", PluginOptionKind.Integer, "5"),
        new("batch-size", "Training questions per pass.", PluginOptionKind.Integer, "256"),
        new("out", "The folder of report.html and influence.json.", PluginOptionKind.Folder, Path.Combine("out", "vqa-influence")),
    ];

    /// <inheritdoc />
    /// <exception cref="ArgumentException">An option is out of range, or the checkpoint is not a scenes checkpoint; the message names the option.</exception>
    public int Run(PluginCommandContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var trainingScenes = CommandValues.Positive(context, "training-scenes");
        var testScenes = CommandValues.Positive(context, "test-scenes");
        var wrong = CommandValues.Positive(context, "wrong");
        var k = CommandValues.Positive(context, "k");
        var batchSize = CommandValues.Positive(context, "batch-size");
        var folder = context.GetText("out")!;
        OutputFolder.Check("out", folder, "report.html", "influence.json");
        var path = context.GetText("checkpoint");
        if (path is not null && !File.Exists(path))
        {
            throw new ArgumentException($"--checkpoint: file not found: {path}", "checkpoint");
        }

        using var scope = torch.NewDisposeScope();
        using var checkpoint = path is null ? SceneCheckpoint.LoadDefault() : TorchCheckpoint.Load(path);
        if (!SceneCheckpoint.IsSceneCheckpoint(checkpoint) || !checkpoint.TryGet("training", out var training) || !training.TryGet("seed", out var seedValue))
        {
            throw new ArgumentException($"--checkpoint: {path} is not a scenes checkpoint written by vqa-train (it has no training seed to regenerate the training scenes from).", "checkpoint");
        }

        var trainingSeed = Convert.ToInt64(seedValue.Raw, CultureInfo.InvariantCulture);
        var testSeed = context.GetText("test-seed") is null
            ? (training.TryGet("heldOutSeed", out var held) ? Convert.ToInt64(held.Raw, CultureInfo.InvariantCulture) : trainingSeed + 1)
            : context.GetInteger("test-seed");
        using var model = SceneCheckpoint.Build(checkpoint, new VqaModelOptions());
        var net = model.Net;
        net.eval();

        var wrongAnswers = FindWrong(model, testSeed, testScenes, wrong);
        if (wrongAnswers.Count == 0)
        {
            context.Output.WriteLine($"The model answers all {testScenes} test scenes (seed {testSeed}) right: nothing to explain; search more with --test-scenes.");
            return 0;
        }

        var generator = new SceneGenerator();
        var trainingItems = generator.GenerateMany(trainingSeed, trainingScenes)
            .SelectMany(scene => scene.Questions.Select(q => new SceneItem(scene, q)))
            .ToList();
        if (k > trainingItems.Count)
        {
            throw new ArgumentException($"--k: {k} proponents and opponents asked of {trainingItems.Count} training questions ({trainingScenes} scenes); give at most {trainingItems.Count}, or more --training-scenes.", "k");
        }

        var state = net.state_dict().ToDictionary(p => p.Key, p => p.Value.detach().clone());
        var tracin = new TracInCPFast(net, FinalLayer, new SceneInfluenceData(trainingItems, batchSize), [TrainingCheckpoint.FromStateDict(state, 1.0, "final weights")]);
        context.Error.WriteLine($"vqa-influence: {wrongAnswers.Count} wrong answers against {trainingItems.Count} training questions of {trainingScenes} scenes (seed {trainingSeed})");

        var watch = Stopwatch.StartNew();
        var results = new List<(SceneItem Item, string Predicted, double Probability, long[] Proponents, float[] ProponentScores, long[] Opponents, float[] OpponentScores)>();
        foreach (var (item, predicted, probability) in wrongAnswers)
        {
            using var itemScope = torch.NewDisposeScope();
            // The test label is the model's own answer: proponents are the training questions that pushed it there.
            var asked = SceneInfluenceData.Batch([item]);
            var batch = asked with { Labels = torch.tensor(new[] { model.AnswerIndices[predicted] }) };
            var progress = new StepProgress(context.Error, $"training questions for \"{item.Question.Text}\"");
            using var scores = tracin.Influence(batch, progress, context.CancellationToken);
            progress.Done();
            var (proponents, proponentScores) = Top(scores, k, largest: true);
            var (opponents, opponentScores) = Top(scores, k, largest: false);
            results.Add((item, predicted, probability, proponents, proponentScores, opponents, opponentScores));
        }

        var seconds = watch.Elapsed.TotalSeconds;
        Directory.CreateDirectory(folder);
        var reportPath = Path.Combine(folder, "report.html");
        Report(results, trainingItems, trainingScenes, trainingSeed).Save(reportPath);
        var jsonPath = Path.Combine(folder, "influence.json");
        File.WriteAllText(jsonPath, JsonSerializer.Serialize(
            new Dictionary<string, object?>
            {
                ["method"] = "TracInCPFast",
                ["finalLayer"] = FinalLayer,
                ["trainingSeed"] = trainingSeed,
                ["trainingScenes"] = trainingScenes,
                ["trainingQuestions"] = trainingItems.Count,
                ["testSeed"] = testSeed,
                ["seconds"] = Math.Round(seconds, 2),
                ["wrongAnswers"] = results.Select(r => new Dictionary<string, object?>
                {
                    ["scene"] = r.Item.Scene.Index,
                    ["question"] = r.Item.Question.Text,
                    ["answer"] = r.Item.Question.Answer,
                    ["predicted"] = r.Predicted,
                    ["probability"] = r.Probability,
                    ["proponents"] = Describe(r.Proponents, r.ProponentScores, trainingItems),
                    ["opponents"] = Describe(r.Opponents, r.OpponentScores, trainingItems),
                }).ToList(),
            },
            new JsonSerializerOptions { WriteIndented = true }) + "\n");

        foreach (var r in results)
        {
            context.Output.WriteLine($"Scene {r.Item.Scene.Index}: {r.Item.Question.Text}? expected {r.Item.Question.Answer}, answered {r.Predicted} ({r.Probability.ToString("0.###", CultureInfo.InvariantCulture)})");
            var first = trainingItems[(int)r.Proponents[0]];
            context.Output.WriteLine($"  training question that most supports it: scene {first.Scene.Index}, \"{first.Question.Text}\" -> {first.Question.Answer} (score {r.ProponentScores[0].ToString("G4", CultureInfo.InvariantCulture)})");
        }

        context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Influence: {results.Count} x {trainingItems.Count} training questions in {seconds:0.0} s"));
        context.Output.WriteLine($"Report: {reportPath}");
        context.Output.WriteLine($"JSON: {jsonPath}");
        return 0;
    }

    private static (long[] Indices, float[] Scores) Top(Tensor scores, int k, bool largest)
    {
        var (values, indices) = torch.topk(scores[0], k, largest: largest);
        return (indices.data<long>().ToArray(), values.data<float>().ToArray());
    }

    /// <summary>The first <paramref name="count"/> questions of the test scenes the model answers wrongly, with its answer and probability.</summary>
    private static List<(SceneItem Item, string Predicted, double Probability)> FindWrong(VqaModel model, long seed, int scenes, int count)
    {
        var items = new SceneGenerator().GenerateMany(seed, scenes).SelectMany(s => s.Questions.Select(q => new SceneItem(s, q))).ToList();
        var found = new List<(SceneItem, string, double)>();
        using var noGrad = torch.no_grad();
        foreach (var chunk in items.Chunk(256))
        {
            using var scope = torch.NewDisposeScope();
            using var batch = SceneBatch.Create(chunk, model.Encoder, model.AnswerIndices);
            var probabilities = torch.nn.functional.softmax(batch.Logits(model.Net), 1);
            var (best, index) = probabilities.max(1);
            var predicted = index.data<long>().ToArray();
            var p = best.data<float>().ToArray();
            var expected = batch.Answers.data<long>().ToArray();
            for (var i = 0; i < chunk.Length && found.Count < count; i++)
            {
                if (predicted[i] != expected[i])
                {
                    found.Add((chunk[i], model.Labels[(int)predicted[i]], p[i]));
                }
            }

            if (found.Count == count)
            {
                break;
            }
        }

        return found;
    }

    private static List<Dictionary<string, object?>> Describe(long[] indices, float[] scores, List<SceneItem> items) =>
        indices.Select((index, i) => new Dictionary<string, object?>
        {
            ["trainingIndex"] = index,
            ["scene"] = items[(int)index].Scene.Index,
            ["question"] = items[(int)index].Question.Text,
            ["answer"] = items[(int)index].Question.Answer,
            ["score"] = scores[i],
        }).ToList();

    private static HtmlReport Report(
        List<(SceneItem Item, string Predicted, double Probability, long[] Proponents, float[] ProponentScores, long[] Opponents, float[] OpponentScores)> results,
        List<SceneItem> training,
        int trainingScenes,
        long trainingSeed)
    {
        var report = new HtmlReport("VQA scenes: which training questions taught the wrong answers");
        report.AddParagraph(string.Create(
            CultureInfo.InvariantCulture,
            $"TracInCPFast on {FinalLayer} at the model's final weights, over {training.Count} training questions of the first {trainingScenes} training scenes (seed {trainingSeed}). Each test question is scored against the answer the model gave: proponents are the training questions whose training step lowered the loss of that wrong answer the most (they taught it), opponents those that raised it the most (they argued for another answer)."));
        foreach (var r in results)
        {
            report.AddHeading($"Scene {r.Item.Scene.Index}: \"{r.Item.Question.Text}\"");
            report.AddParagraph(string.Create(CultureInfo.InvariantCulture, $"Expected {r.Item.Question.Answer}; the model answered {r.Predicted} with probability {r.Probability:0.###}."));
            report.AddRawHtml(SceneThumbnail.Html(r.Item.Scene, 128, "the test scene"));
            report.AddHeading("Proponents", 3);
            report.AddRawHtml(Table(r.Proponents, r.ProponentScores, training));
            report.AddHeading("Opponents", 3);
            report.AddRawHtml(Table(r.Opponents, r.OpponentScores, training));
        }

        return report;
    }

    private static string Table(long[] indices, float[] scores, List<SceneItem> training)
    {
        var rows = indices.Select((index, i) =>
        {
            var item = training[(int)index];
            return string.Create(
                CultureInfo.InvariantCulture,
                $"<tr><td>{SceneThumbnail.Html(item.Scene, 64, $"training scene {item.Scene.Index}")}</td><td>{WebUtility.HtmlEncode(item.Question.Text)}</td><td>{WebUtility.HtmlEncode(item.Question.Answer)}</td><td>{scores[i]:G4}</td><td>{item.Scene.Index}</td></tr>");
        });
        return "<table><tr><th>scene</th><th>question</th><th>answer</th><th>score</th><th>index</th></tr>" + string.Concat(rows) + "</table>";
    }
}
