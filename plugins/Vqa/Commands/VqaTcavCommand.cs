using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using Captum.Concept;
using Captum.Plugins.Vqa.Scenes;
using Captum.Visualization;

namespace Captum.Plugins.Vqa.Commands;

using Concept = Captum.Concept.Concept;

/// <summary>
/// <c>captum vqa-tcav</c>: does the scenes model use the idea of red to answer "red" to "what color is the ...?"
/// questions? TCAV with concepts made from generated scenes (every object red; every object blue; every object a
/// circle, colours as generated; and, as a control, scenes as generated, which should not come out significant)
/// against random scenes, tested for significance per layer of the image path, in report.html and optionally a JSON
/// file.
/// </summary>
public sealed class VqaTcavCommand : IPluginCommand
{
    /// <summary>The image path's last layers: the backbone's last two batch norms and the backbone's output (after its ReLU, with the coordinate channels).</summary>
    public static readonly IReadOnlyList<string> Layers = ["resnet_layer4.bn3", "resnet_layer4.bn4", "resnet_layer4"];

    /// <summary>The answer explained.</summary>
    public const string Target = "red";

    private const string ConceptQuestion = "what color is the circle";

    /// <inheritdoc />
    public string Name => "vqa-tcav";

    /// <inheritdoc />
    public string Description => "TCAV on the scenes model: are the concepts red, blue and circle (and a control of random scenes) significant for answering \"red\", per layer of the image path.";

    /// <inheritdoc />
    public IReadOnlyList<PluginCommandOption> Options { get; } =
    [
        new("seed", "The scene streams: concept scenes from this seed, the inputs from seed + 1, the control concept from seed + 99, random concept i from seed + 100 + i.", PluginOptionKind.Integer, "7"),
        new("random-concepts", "How many random concepts the concepts are tested against (at least 3).", PluginOptionKind.Integer, "8"),
        new("test", "The null distribution: among-randoms (each random concept's own score against the others) or reference (Captum's tutorial: the first random concept's scores; too lenient).", PluginOptionKind.Text, "among-randoms"),
        new("examples", "Scenes per concept.", PluginOptionKind.Integer, "40"),
        new("inputs", "How many \"what color\" questions answered red are explained.", PluginOptionKind.Integer, "30"),
        new("alpha", "The significance level.", PluginOptionKind.Number, "0.05"),
        new("classifier-iterations", "The most full-batch steps of the linear classifier that trains each CAV.", PluginOptionKind.Integer, "1000"),
        new("out", "The folder of report.html.", PluginOptionKind.Folder, Path.Combine("out", "vqa-tcav")),
        new("json", "Also write the results to this JSON file.", PluginOptionKind.File),
    ];

    /// <inheritdoc />
    /// <exception cref="ArgumentException">An option is out of range, or --out or --json cannot be written; the message names it, and nothing is computed.</exception>
    public int Run(PluginCommandContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var seed = context.GetInteger("seed");
        var randomCount = CommandValues.Positive(context, "random-concepts");
        if (randomCount < 3)
        {
            throw new ArgumentException($"--random-concepts must be at least 3 (the t-test needs two degrees of freedom, or two scores a side), not {randomCount}.", "random-concepts");
        }

        var test = context.GetText("test") switch
        {
            "among-randoms" => TCAVSignificanceTest.AmongRandomConcepts,
            "reference" => TCAVSignificanceTest.AgainstReferenceRandomConcept,
            var other => throw new ArgumentException($"--test must be among-randoms or reference, not '{other}'.", "test"),
        };

        var examples = CommandValues.Positive(context, "examples");
        var inputCount = CommandValues.Positive(context, "inputs");
        var alpha = double.Parse(context.GetText("alpha")!, CultureInfo.InvariantCulture);
        if (!(alpha > 0 && alpha < 1))
        {
            throw new ArgumentException($"--alpha must be in (0, 1), not {alpha}.", "alpha");
        }

        var iterations = CommandValues.Positive(context, "classifier-iterations");
        var folder = context.GetText("out")!;
        OutputFolder.Check("out", folder, "report.html");
        var jsonPath = context.GetText("json");
        if (jsonPath is not null)
        {
            OutputFolder.CheckFile("json", jsonPath);
        }

        using var scope = torch.NewDisposeScope();
        using var model = VqaModel.LoadDefault(new VqaModelOptions());
        var net = model.Net;
        net.eval();
        var generator = new SceneGenerator();
        var red = model.AnswerIndices[Target];

        // The inputs: "what color is the <shape>" questions whose answer is red.
        var items = new List<SceneItem>();
        for (var index = 0; items.Count < inputCount; index++)
        {
            var scene = generator.Generate(seed + 1, index);
            items.AddRange(scene.Questions.Where(q => q.Kind == QuestionKind.Color && q.Answer == Target).Select(q => new SceneItem(scene, q)).Take(inputCount - items.Count));
        }

        using var batch = SceneBatch.Create(items, model.Encoder, model.AnswerIndices);
        var images = batch.Images.index_select(0, batch.ImageIndex);
        long answeredRed;
        using (torch.no_grad())
        {
            answeredRed = (net.call(images, batch.Questions, batch.Lengths).argmax(1) == red).sum().item<long>();
        }

        var sources = new List<(Concept Concept, Func<int, Scene> Scene)>
        {
            Make(0, "red", i => SceneConcepts.InColor(generator.Generate(seed, i), SceneColor.Red)),
            Make(1, "blue", i => SceneConcepts.InColor(generator.Generate(seed, i), SceneColor.Blue)),
            Make(2, "circle", i => SceneConcepts.InShape(generator.Generate(seed, i), SceneShape.Circle)),
            Make(3, "control", i => generator.Generate(seed + 99, i)),
        };
        var randoms = Enumerable.Range(0, randomCount)
            .Select(r => Make(100 + r, $"random{r}", i => generator.Generate(seed + 100 + r, i)))
            .ToList();

        (Concept Concept, Func<int, Scene> Scene) Make(int id, string name, Func<int, Scene> scene)
        {
            IEnumerable<Inputs> Batches()
            {
                for (var start = 0; start < examples; start += 16)
                {
                    var conceptItems = Enumerable.Range(start, Math.Min(16, examples - start))
                        .Select(i => new SceneItem(scene(i), new SceneQuestion(ConceptQuestion, Target, QuestionKind.Color, [], 4)))
                        .ToList();
                    var conceptBatch = SceneBatch.Create(conceptItems, model.Encoder, model.AnswerIndices);
                    yield return Inputs.Of(conceptBatch.Images.index_select(0, conceptBatch.ImageIndex), conceptBatch.Questions, conceptBatch.Lengths);
                }
            }

            return (new Concept(id, name, Batches()), scene);
        }

        using var tcav = new TCAV(net, Layers.Select(l => (Captum.Layers.LayerReference)l).ToList(), new LinearConceptClassifier { MaxIterations = iterations });
        var options = new TCAVOptions { Target = red, Progress = new TcavProgress(context.Error) };
        var results = new List<ConceptSignificance>();
        foreach (var (concept, _) in sources)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            results.AddRange(tcav.TestSignificance(Inputs.Of(images, batch.Questions, batch.Lengths), concept, randoms.Select(r => r.Concept).ToList(), options, alpha, test: test, cancellationToken: context.CancellationToken));
        }

        var json = new TcavJson(
            seed,
            randomCount,
            test == TCAVSignificanceTest.AmongRandomConcepts ? "among-randoms" : "reference",
            examples,
            items.Count,
            answeredRed,
            alpha,
            [.. results.Select(r => new TcavJsonResult(r.Concept.Name, Target, r.Layer, r.Mean, r.PValue, r.IsSignificant, r.StandardDeviation, r.RandomMean, r.RandomStandardDeviation, r.Scores, r.RandomScores))]);
        Directory.CreateDirectory(folder);
        var reportPath = Path.Combine(folder, "report.html");
        Report(json, sources.Concat(randoms).ToList(), items).Save(reportPath);
        if (jsonPath is not null)
        {
            OutputFolder.WriteFile(jsonPath, JsonSerializer.Serialize(json, new JsonSerializerOptions { WriteIndented = true }) + "\n");
        }

        context.Output.WriteLine($"TCAV for the answer \"{Target}\" on {items.Count} \"what color\" questions (the model answers red to {answeredRed}), against {randomCount} random concepts:");
        foreach (var r in json.Results)
        {
            context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {r.Concept,-7} {r.Layer,-18} score {r.Score:0.00} (random {r.RandomMean:0.00} ± {r.RandomStd:0.00})  p = {r.PValue:G3}  {(r.Significant ? "significant" : "not significant")}"));
        }

        context.Output.WriteLine($"Report: {reportPath}");
        if (jsonPath is not null)
        {
            context.Output.WriteLine($"JSON: {jsonPath}");
        }

        return 0;
    }

    private static HtmlReport Report(TcavJson json, List<(Concept Concept, Func<int, Scene> Scene)> concepts, List<SceneItem> items)
    {
        var report = new HtmlReport("VQA scenes: which concepts the answer \"red\" rests on (TCAV)");
        report.AddParagraph(string.Create(
            CultureInfo.InvariantCulture,
            $"TCAV sign-count scores for the answer \"{Target}\" on {json.Inputs} \"what color is the ...\" questions whose answer is red (the model answers red to {json.InputsAnsweredRed}), with the gradients of the red logit in each layer, each concept of {json.Examples} generated scenes scored against {json.RandomConcepts} random concepts. {(json.Test == "reference" ? $"As in Captum's TCAV tutorial, the first random concept is the reference: it is scored against each of the others (the null distribution), and a two-sided Welch t-test at alpha {json.Alpha} says whether the concept's mean score differs from the reference's; this test leaves out how much random concepts differ from each other, and comes out significant too often." : $"Each random concept is scored against the others and the concept too (the null distribution: the scores random concepts get), and a two-sided t-test at alpha {json.Alpha} says whether the concept's score is one a random concept could have.")} The control concept is random scenes from a stream of its own: it should not be significant. A score near 1 means moving the layer towards the concept raises \"red\" for nearly every question; near 0, lowers it."));
        var rows = json.Results.Select(r => string.Create(
            CultureInfo.InvariantCulture,
            $"<tr><td>{WebUtility.HtmlEncode(r.Concept)}</td><td>{WebUtility.HtmlEncode(r.Layer)}</td><td>{r.Score:0.00} ± {r.ScoreStd:0.00}</td><td>{r.RandomMean:0.00} ± {r.RandomStd:0.00}</td><td>{r.PValue:G3}</td><td>{(r.Significant ? "yes" : "no")}</td></tr>"));
        var nullHeader = json.Test == "reference"
            ? "the reference random concept's score (mean ± sd of its scores against the others)"
            : "random concepts' scores (mean ± sd of their scores, each a mean against the others: compare the concept's mean with this spread)";
        report.AddRawHtml($"<table><tr><th>concept</th><th>layer</th><th>score (mean ± sd of its scores against each random concept)</th><th>{WebUtility.HtmlEncode(nullHeader)}</th><th>p</th><th>significant</th></tr>" + string.Concat(rows) + "</table>");
        report.AddHeading("Example scenes of each concept");
        foreach (var (concept, scene) in concepts)
        {
            report.AddHeading(concept.Name, 3);
            report.AddRawHtml(string.Concat(Enumerable.Range(0, Math.Min(6, json.Examples)).Select(i => SceneThumbnail.Html(scene(i), 64, $"{concept.Name} example {i}"))));
        }

        report.AddHeading("Some of the questions explained");
        report.AddRawHtml(string.Concat(items.Take(6).Select(i => SceneThumbnail.Html(i.Scene, 64, i.Question.Text))));
        return report;
    }

    private sealed class TcavProgress(TextWriter error) : IProgress<TCAVProgress>
    {
        private readonly bool interactive = ReferenceEquals(error, Console.Error) && !Console.IsErrorRedirected;

        public void Report(TCAVProgress value)
        {
            if (interactive)
            {
                error.Write($"\r{value.Stage}: {value.CompletedSteps}/{value.TotalSteps}      ");
            }
        }
    }

    private sealed record TcavJson(
        [property: JsonPropertyName("seed")] long Seed,
        [property: JsonPropertyName("randomConcepts")] int RandomConcepts,
        [property: JsonPropertyName("test")] string Test,
        [property: JsonPropertyName("examples")] int Examples,
        [property: JsonPropertyName("inputs")] int Inputs,
        [property: JsonPropertyName("inputsAnsweredRed")] long InputsAnsweredRed,
        [property: JsonPropertyName("alpha")] double Alpha,
        [property: JsonPropertyName("results")] IReadOnlyList<TcavJsonResult> Results);

    private sealed record TcavJsonResult(
        [property: JsonPropertyName("concept")] string Concept,
        [property: JsonPropertyName("target")] string Target,
        [property: JsonPropertyName("layer")] string Layer,
        [property: JsonPropertyName("score")] double Score,
        [property: JsonPropertyName("pValue")] double PValue,
        [property: JsonPropertyName("significant")] bool Significant,
        [property: JsonPropertyName("scoreStd")] double ScoreStd,
        [property: JsonPropertyName("randomMean")] double RandomMean,
        [property: JsonPropertyName("randomStd")] double RandomStd,
        [property: JsonPropertyName("scores")] IReadOnlyList<double> Scores,
        [property: JsonPropertyName("randomScores")] IReadOnlyList<double> RandomScores);
}
