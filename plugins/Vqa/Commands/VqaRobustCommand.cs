using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Captum.Checkpoints;
using Captum.Plugins.Vqa.Scenes;
using Captum.Visualization;

namespace Captum.Plugins.Vqa.Commands;

/// <summary>
/// <c>captum vqa-robust</c>: attacks a generated scene's image with PGD at growing radii and reports, per question,
/// how the scenes model's answer and its Layer Integrated Gradients explanation change: the answer and its
/// probability, the clean answer's probability, whether the attribution still points at the deciding objects, and
/// how similar it stays to the clean attribution; with the perturbed images, the perturbations and the heat maps in
/// report.html and the figures in robust.json (see <see cref="SceneRobustness"/>).
/// </summary>
public sealed class VqaRobustCommand : IPluginCommand
{
    /// <inheritdoc />
    public string Name => "vqa-robust";

    /// <inheritdoc />
    public string Description => "Attacks a scene with PGD at growing radii: how the scenes model's answer and its attribution's pointing change, in a report.";

    /// <inheritdoc />
    public IReadOnlyList<PluginCommandOption> Options { get; } =
    [
        new("checkpoint", "A scenes checkpoint written by vqa-train; default: the scenes model that ships with the plugin.", PluginOptionKind.File),
        new("seed", "The scene stream.", PluginOptionKind.Integer, CommandValues.Invariant(new AttributionQualityOptions().Seed)),
        new("scene", "The (first) scene's index in the stream.", PluginOptionKind.Integer, "0"),
        new("scenes", "How many scenes, from --scene on.", PluginOptionKind.Integer, "1"),
        new("question", "One of the scene's questions (with --scenes 1); default: every question of each scene about its objects.", PluginOptionKind.Text),
        new("radii", "The Linf radii in 1/255 of the pixel range, comma-separated, from 0 (the clean image).", PluginOptionKind.Text, "0,1,2,4,8,16"),
        new("attack-steps", "PGD's steps per radius (step size 2.5 x radius / steps).", PluginOptionKind.Integer, CommandValues.Invariant(new SceneRobustnessOptions().AttackSteps)),
        new("steps", "Layer Integrated Gradients' steps per explanation.", PluginOptionKind.Integer, CommandValues.Invariant(new SceneRobustnessOptions().ExplanationSteps)),
        new("window", "The pointing game's window (odd).", PluginOptionKind.Integer, CommandValues.Invariant(new SceneRobustnessOptions().Window)),
        new("out", "The folder of report.html and robust.json.", PluginOptionKind.Folder, Path.Combine("out", "vqa-robust")),
    ];

    /// <inheritdoc />
    /// <exception cref="ArgumentException">An option is out of range, the question is not the scene's, or the checkpoint is not a scenes checkpoint; the message names the option.</exception>
    public int Run(PluginCommandContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var seed = context.GetInteger("seed");
        var sceneIndex = CommandValues.NonNegative(context, "scene");
        var sceneCount = CommandValues.Positive(context, "scenes");
        if (context.GetText("question") is not null && sceneCount > 1)
        {
            throw new ArgumentException("--question asks about one scene: give --scenes 1 with it.", "question");
        }

        var options = new SceneRobustnessOptions
        {
            Radii = ParseRadii(context.GetText("radii")!),
            AttackSteps = CommandValues.Positive(context, "attack-steps"),
            ExplanationSteps = CommandValues.Positive(context, "steps"),
            Window = CommandValues.Positive(context, "window") is var w && w % 2 == 1 ? w : throw new ArgumentException($"--window must be odd, not {w}.", "window"),
        };
        var folder = context.GetText("out")!;
        OutputFolder.Check("out", folder, "report.html", "robust.json");
        var path = context.GetText("checkpoint");
        if (path is not null && !File.Exists(path))
        {
            throw new ArgumentException($"--checkpoint: file not found: {path}", "checkpoint");
        }

        var scenes = Enumerable.Range(sceneIndex, sceneCount).Select(i => new SceneGenerator().Generate(seed, i)).ToList();
        var questions = scenes.SelectMany(scene => Questions(scene, context.GetText("question")).Select(q => (Scene: scene, Question: q))).ToList();
        using var scope = torch.NewDisposeScope();
        using var checkpoint = path is null ? SceneCheckpoint.LoadDefault() : TorchCheckpoint.Load(path);
        if (!SceneCheckpoint.IsSceneCheckpoint(checkpoint))
        {
            throw new ArgumentException($"--checkpoint: {path} is not a scenes checkpoint written by vqa-train.", "checkpoint");
        }

        using var model = SceneCheckpoint.Build(checkpoint, new VqaModelOptions());
        var watch = Stopwatch.StartNew();
        var results = new List<Attacked>();
        try
        {
            foreach (var (scene, question) in questions)
            {
                context.Error.WriteLine($"vqa-robust: scene {scene.Index}, \"{question.Text}\" at {options.Radii.Count} radii");
                results.Add(new Attacked(scene, question, SceneRobustness.Attack(model, scene, question, options, context.CancellationToken)));
            }

            Directory.CreateDirectory(folder);
            var reportPath = Path.Combine(folder, "report.html");
            Report(seed, results, options).Save(reportPath);
            var jsonPath = Path.Combine(folder, "robust.json");
            File.WriteAllText(jsonPath, Json(model.Name, seed, results, options, watch.Elapsed.TotalSeconds));
            Print(context.Output, results, options);
            context.Output.WriteLine($"Report: {reportPath}");
            context.Output.WriteLine($"JSON: {jsonPath}");
            return 0;
        }
        finally
        {
            foreach (var outcome in results.SelectMany(r => r.Outcomes))
            {
                outcome.Dispose();
            }
        }
    }

    /// <summary>Parses radii given in 1/255 of the pixel range into [0, 1] pixel units.</summary>
    private static double[] ParseRadii(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var radii = new double[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out var level) || !double.IsFinite(level) || level < 0 || level > 255)
            {
                throw new ArgumentException($"--radii: '{parts[i]}' is not a number of 1/255 steps in [0, 255] (give e.g. 0,2,4,8).", "radii");
            }

            radii[i] = level / 255.0;
        }

        if (radii[0] != 0)
        {
            throw new ArgumentException("--radii must start with 0: the clean image the other radii are compared with.", "radii");
        }

        for (var i = 1; i < radii.Length; i++)
        {
            if (radii[i] <= radii[i - 1])
            {
                throw new ArgumentException($"--radii must grow from one to the next: '{parts[i]}' follows '{parts[i - 1]}' (give each radius once, smallest first, e.g. 0,2,4,8).", "radii");
            }
        }

        return radii;
    }

    private static List<SceneQuestion> Questions(Scene scene, string? text)
    {
        if (text is null)
        {
            var about = scene.Questions.Where(q => q.DecidingObjects.Count > 0).ToList();
            return about.Count > 0 ? about : [.. scene.Questions];
        }

        var normalized = string.Join(' ', text.Trim().TrimEnd('?').Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToLowerInvariant();
        return scene.Questions.FirstOrDefault(q => q.Text == normalized) is { } question
            ? [question]
            : throw new ArgumentException($"--question: scene {scene.Index} has no question \"{text}\"; its questions are: {string.Join("; ", scene.Questions.Select(q => q.Text))}.", "question");
    }

    private static string Level(double radius) => (radius * 255).ToString("0.##", CultureInfo.InvariantCulture) + "/255";

    private static void Print(TextWriter output, List<Attacked> results, SceneRobustnessOptions options)
    {
        foreach (var (scene, question, outcomes) in results)
        {
            output.WriteLine($"Scene {scene.Index}: {question.Text}? (expected {question.Answer})");
            output.WriteLine("  radius    answer       p      p(clean)  pointed  cosine");
            foreach (var o in outcomes)
            {
                output.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"  {Level(o.Radius),-9} {o.Answer,-12} {o.Probability,-6:0.000} {o.CleanAnswerProbability,-9:0.000} {(o.Pointed is { } p ? (p ? "yes" : "no") : "-"),-8} {o.CosineToClean:0.00}"));
            }
        }

        if (results.Count > 1)
        {
            output.WriteLine($"All {results.Count} questions:");
            output.WriteLine("  radius    flipped  pointed  mean cosine");
            foreach (var s in Summary(results, options))
            {
                output.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"  {Level(s.Radius),-9} {s.FlipRate,-8:0.00} {(s.PointingGame is { } g ? g.ToString("0.00", CultureInfo.InvariantCulture) : "-"),-8} {s.MeanCosine:0.00}"));
            }
        }
    }

    /// <summary>Per radius: the share of answers that differ from the clean one, the pointing game over the questions with deciding objects, the mean cosine to the clean attribution.</summary>
    private static IEnumerable<(double Radius, double FlipRate, double? PointingGame, double MeanCosine)> Summary(List<Attacked> results, SceneRobustnessOptions options) =>
        options.Radii.Select((radius, i) =>
        {
            var pointing = results.Select(r => r.Outcomes[i].Pointed).OfType<bool>().ToList();
            return (
                radius,
                results.Average(r => r.Outcomes[i].Answer != r.Outcomes[0].Answer ? 1.0 : 0.0),
                pointing.Count > 0 ? pointing.Average(p => p ? 1.0 : 0.0) : (double?)null,
                results.Average(r => r.Outcomes[i].CosineToClean));
        });

    private sealed record Attacked(Scene Scene, SceneQuestion Question, IReadOnlyList<RadiusOutcome> Outcomes);

    private static string Json(string model, long seed, List<Attacked> results, SceneRobustnessOptions options, double seconds) =>
        JsonSerializer.Serialize(
            new Dictionary<string, object?>
            {
                ["model"] = model,
                ["attack"] = "PGD",
                ["norm"] = "Linf",
                ["attackSteps"] = options.AttackSteps,
                ["stepSize"] = "2.5 * radius / attackSteps",
                ["explanation"] = "LayerIntegratedGradients",
                ["steps"] = options.ExplanationSteps,
                ["window"] = options.Window,
                ["seed"] = seed,
                ["seconds"] = Math.Round(seconds, 2),
                ["questions"] = results.Select(r => new Dictionary<string, object?>
                {
                    ["scene"] = r.Scene.Index,
                    ["question"] = r.Question.Text,
                    ["expected"] = r.Question.Answer,
                    ["kind"] = r.Question.Kind.ToString(),
                    ["byRadius"] = r.Outcomes.Select(o => new Dictionary<string, object?>
                    {
                        ["radius"] = o.Radius,
                        ["radius255"] = Math.Round(o.Radius * 255, 6),
                        ["answer"] = o.Answer,
                        ["probability"] = o.Probability,
                        ["cleanAnswerProbability"] = o.CleanAnswerProbability,
                        ["flipped"] = o.Answer != r.Outcomes[0].Answer,
                        ["largestChange"] = o.LargestChange,
                        ["pointed"] = o.Pointed,
                        ["massOnObjects"] = double.IsNaN(o.MassOnObjects) ? null : o.MassOnObjects,
                        ["cosineToClean"] = o.CosineToClean,
                        ["delta"] = double.IsNaN(o.Delta) ? null : o.Delta,
                    }).ToList(),
                }).ToList(),
                ["summary"] = Summary(results, options).Select(s => new Dictionary<string, object?>
                {
                    ["radius"] = s.Radius,
                    ["radius255"] = Math.Round(s.Radius * 255, 6),
                    ["flipRate"] = s.FlipRate,
                    ["pointingGame"] = s.PointingGame,
                    ["meanCosineToClean"] = s.MeanCosine,
                }).ToList(),
            },
            new JsonSerializerOptions { WriteIndented = true }) + "\n";

    private static HtmlReport Report(long seed, List<Attacked> results, SceneRobustnessOptions options)
    {
        var indices = results.Select(r => r.Scene.Index).Distinct().ToList();
        var report = new HtmlReport(indices.Count == 1 ? $"VQA scenes: scene {indices[0]} under PGD" : $"VQA scenes: scenes {indices[0]} to {indices[^1]} under PGD");
        report.AddParagraph(string.Create(
            CultureInfo.InvariantCulture,
            $"PGD (Linf, untargeted against the answer on the clean image, {options.AttackSteps} steps of 2.5 × radius / {options.AttackSteps}, pixels kept in [0, 1]) on the image, at each radius; each perturbed image is answered and explained with Layer Integrated Gradients ({options.ExplanationSteps} steps) towards its own answer. Pointed: the peak of the attribution magnitude ({options.Window} × {options.Window} window) lies on the objects the question is about. Cosine: the channel-summed attribution against the clean image's."));
        if (results.Count > 1)
        {
            report.AddHeading($"All {results.Count} questions");
            var rows = Summary(results, options).Select(x => string.Create(
                CultureInfo.InvariantCulture,
                $"<tr><td>{Level(x.Radius)}</td><td>{x.FlipRate:0.00}</td><td>{(x.PointingGame is { } g ? g.ToString("0.00", CultureInfo.InvariantCulture) : "–")}</td><td>{x.MeanCosine:0.00}</td></tr>"));
            report.AddRawHtml("<table><tr><th>radius</th><th>share of answers changed</th><th>pointing game</th><th>mean cosine to clean</th></tr>" + string.Concat(rows) + "</table>");
        }

        foreach (var (scene, question, outcomes) in results)
        {
            report.AddHeading($"Scene {scene.Index} (seed {seed}): \"{question.Text}?\" (expected {question.Answer})");
            report.AddRawHtml(Table(outcomes));
            var titles = outcomes.Select(o => o.Radius == 0 ? "clean" : "radius " + Level(o.Radius)).ToList();
            var images = VisualizationFigure.Subplots(outcomes.Count, new FigureSize(2.2 * outcomes.Count, 2.4));
            var changes = VisualizationFigure.Subplots(outcomes.Count, new FigureSize(2.2 * outcomes.Count, 2.4));
            var maps = VisualizationFigure.Subplots(outcomes.Count, new FigureSize(2.2 * outcomes.Count, 2.4));
            for (var i = 0; i < outcomes.Count; i++)
            {
                var o = outcomes[i];
                using var scope = torch.NewDisposeScope();
                ImageVisualizer.VisualizeImageAttr(o.Image, o.Image, TensorImageLayout.Chw, ImageVisualizationMethod.OriginalImage, VisualizationSign.All, panel: images.Panels[i], title: $"{titles[i]}: {o.Answer}");

                // The perturbation, stretched so that ±radius spans the whole grey scale.
                var change = o.Radius == 0 ? torch.full_like(o.Image, 0.5) : (((o.Image - outcomes[0].Image) / (2 * o.Radius)) + 0.5).clamp(0, 1);
                ImageVisualizer.VisualizeImageAttr(change, change, TensorImageLayout.Chw, ImageVisualizationMethod.OriginalImage, VisualizationSign.All, panel: changes.Panels[i], title: titles[i]);
                ImageVisualizer.VisualizeImageAttr(o.Attribution, o.Image, TensorImageLayout.Chw, ImageVisualizationMethod.BlendedHeatMap, VisualizationSign.AbsoluteValue, panel: maps.Panels[i], title: titles[i]);
            }

            report.AddFigure(images, "The image the model answers, and its answer.");
            report.AddFigure(changes, "The perturbation (mid grey: none; black and white: −radius and +radius).");
            report.AddFigure(maps, "The attribution magnitude of each answer over the image.");
        }

        return report;
    }

    private static string Table(IReadOnlyList<RadiusOutcome> outcomes)
    {
        var rows = outcomes.Select(o => string.Create(
            CultureInfo.InvariantCulture,
            $"<tr><td>{Level(o.Radius)}</td><td>{WebUtility.HtmlEncode(o.Answer)}</td><td>{o.Probability:0.000}</td><td>{o.CleanAnswerProbability:0.000}</td><td>{(o.Pointed is { } p ? (p ? "yes" : "no") : "–")}</td><td>{(double.IsNaN(o.MassOnObjects) ? "–" : o.MassOnObjects.ToString("0.00", CultureInfo.InvariantCulture))}</td><td>{o.CosineToClean:0.00}</td><td>{o.Delta:G3}</td></tr>"));
        return "<table><tr><th>radius</th><th>answer</th><th>probability</th><th>clean answer's probability</th><th>pointed</th><th>mass on objects</th><th>cosine to clean</th><th>convergence delta</th></tr>" + string.Concat(rows) + "</table>";
    }
}
