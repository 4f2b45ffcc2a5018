using Captum.Explain;

namespace Captum.Plugins.Vqa.Scenes;

/// <summary>
/// Measures whether Layer Integrated Gradients on the image and the question's words (the attribution the
/// <c>captum vqa</c> command shows) points at the evidence that decides a scene question, which generated scenes
/// know: the pointing game, the positive attribution mass on the deciding objects against their area, and the word
/// test; and the same for the model with random weights, which must fall to chance (Adebayo et al., "Sanity Checks
/// for Saliency Maps", 2018). Both models explain the correct answer; the trained model's figures count the questions
/// it answered correctly, the random model's every question.
/// </summary>
public static class AttributionQuality
{
    /// <summary>
    /// Evaluates <paramref name="model"/> (a scenes model) and its randomised twin: <see cref="ScoreScene"/> for
    /// every scene, then <see cref="Aggregate"/>.
    /// </summary>
    /// <param name="model">The trained scenes model.</param>
    /// <param name="options">Scenes, seed, steps, window.</param>
    /// <param name="progress">Receives the number of scenes done.</param>
    /// <param name="cancellationToken">Stops between questions.</param>
    /// <exception cref="ArgumentException">An option is out of range, or the model is not a scenes model; the message names it.</exception>
    public static AttributionQualityReport Evaluate(VqaModel model, AttributionQualityOptions? options = null, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new AttributionQualityOptions();
        Check(options);
        using var random = SceneCheckpoint.Randomized(model, options.RandomWeightsSeed);
        var scenes = new List<SceneScores>(options.Scenes);
        for (var index = 0; index < options.Scenes; index++)
        {
            scenes.Add(ScoreScene(model, random, index, options, cancellationToken));
            progress?.Report(index + 1);
        }

        return Aggregate(options, scenes);
    }

    /// <summary>
    /// Scores every question of scene <paramref name="index"/> of <paramref name="options"/>' scene stream with the
    /// trained model and with its randomised twin: the per-scene step of <see cref="Evaluate"/>, which a sharded
    /// run computes scene by scene on several workers.
    /// </summary>
    /// <param name="model">The trained scenes model.</param>
    /// <param name="randomized">Its randomised twin, <see cref="SceneCheckpoint.Randomized"/> with <see cref="AttributionQualityOptions.RandomWeightsSeed"/>.</param>
    /// <param name="index">The scene, in [0, <see cref="AttributionQualityOptions.Scenes"/>).</param>
    /// <param name="options">Seed, steps, window (and scenes, for the range of <paramref name="index"/>).</param>
    /// <param name="cancellationToken">Stops between questions.</param>
    /// <exception cref="ArgumentException">An option or the index is out of range, or the model is not a scenes model; the message names it.</exception>
    public static SceneScores ScoreScene(VqaModel model, VqaModel randomized, int index, AttributionQualityOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(randomized);
        ArgumentNullException.ThrowIfNull(options);
        Check(options);
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, options.Scenes);
        var trained = new List<QuestionScore>();
        var random = new List<QuestionScore>();
        var scene = new SceneGenerator().Generate(options.Seed, index);
        SceneQuestions.ForScene(
            model,
            scene,
            (question, prepared, target) =>
            {
                var mask = scene.MaskOf(question.DecidingObjects);
                var objectShare = question.DecidingObjects.Count == 0 ? 0.0
                    : mask.Count(m => m) / (double)scene.MaskOf(Enumerable.Range(0, scene.Objects.Count)).Count(m => m);
                trained.Add(Score(model, prepared, question, target, mask, objectShare, options));
                random.Add(Score(randomized, prepared, question, target, mask, objectShare, options));
            },
            cancellationToken);

        return new SceneScores(index, trained, random);
    }

    /// <summary>
    /// The report of the scores of every scene, in scene order (the aggregation step of <see cref="Evaluate"/>): the
    /// same scores in the same order give the same figures to the last bit.
    /// </summary>
    /// <param name="options">How the scores were measured (recorded in the report).</param>
    /// <param name="scenes">Every scene's scores, in scene order.</param>
    /// <exception cref="ArgumentException">There are no questions.</exception>
    public static AttributionQualityReport Aggregate(AttributionQualityOptions options, IEnumerable<SceneScores> scenes)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(scenes);
        var trained = new List<QuestionScore>();
        var randomized = new List<QuestionScore>();
        foreach (var scene in scenes)
        {
            trained.AddRange(scene.Trained);
            randomized.AddRange(scene.Random);
        }

        if (trained.Count == 0)
        {
            throw new ArgumentException("scenes: there are no questions to aggregate.", nameof(scenes));
        }

        var correct = trained.Where(s => s.Correct).ToList();
        var kinds = Enum.GetValues<QuestionKind>().Where(k => trained.Any(s => s.Kind == k)).ToList();
        return new AttributionQualityReport(
            options,
            trained.Count(s => s.Correct) / (double)trained.Count,
            AttributionFigures.Of(correct),
            AttributionFigures.Of(randomized),
            kinds.ToDictionary(k => k, k => AttributionFigures.Of(correct.Where(s => s.Kind == k).ToList())),
            kinds.ToDictionary(k => k, k => AttributionFigures.Of(randomized.Where(s => s.Kind == k).ToList())),
            kinds.ToDictionary(k => k, k => trained.Count(s => s.Kind == k && s.Correct) / (double)trained.Count(s => s.Kind == k)));
    }

    private static void Check(AttributionQualityOptions options)
    {
        if (options.Scenes < 1 || options.Steps < 1 || options.Window < 1 || options.Window % 2 == 0)
        {
            throw new ArgumentException("options: Scenes and Steps must be at least 1, Window odd and positive.", nameof(options));
        }
    }

    /// <summary>Explains the correct answer with Layer Integrated Gradients and scores the explanation.</summary>
    private static QuestionScore Score(VqaModel model, PreparedInput prepared, SceneQuestion question, long target, bool[] mask, double objectShare, AttributionQualityOptions options)
    {
        using var explanation = ModelExplainer.Explain(model, prepared, new ExplanationOptions { Steps = options.Steps, Target = target });
        var image = explanation.Inputs.Single(i => i.Display is ImageDisplay).Attribution;
        var words = explanation.Inputs.Single(i => i.Display is TextDisplay).TokenAttributions!;
        var hasObjects = question.DecidingObjects.Count > 0;
        var (pointed, mass, area) = hasObjects ? ImageScores(image, mask, options.Window) : (false, 0.0, 0.0);
        var top = Enumerable.Range(0, words.Count).MaxBy(i => words[i]);
        return new QuestionScore(
            question.Kind,
            explanation.PredictedIndex == target,
            hasObjects,
            pointed,
            mass,
            area,
            objectShare,
            top == question.KeyWordIndex,
            question.Words[top],
            1.0 / words.Count,
            explanation.Delta);
    }

    /// <summary>
    /// The pointing game (is the peak of the attribution magnitude, summed over channels and averaged over a
    /// <paramref name="window"/>-wide square, on the mask?), the share of positive attribution (summed over channels)
    /// on the mask, and the mask's share of the image.
    /// </summary>
    /// <param name="attribution">The image attribution, [3, H, W].</param>
    /// <param name="mask">The deciding objects' pixels, H * W flags.</param>
    /// <param name="window">The smoothing window's side (odd).</param>
    public static (bool Pointed, double Mass, double Area) ImageScores(Tensor attribution, bool[] mask, int window)
    {
        ArgumentNullException.ThrowIfNull(attribution);
        ArgumentNullException.ThrowIfNull(mask);
        using var scope = torch.NewDisposeScope();
        var (h, w) = (attribution.shape[1], attribution.shape[2]);
        if (mask.Length != h * w)
        {
            throw new ArgumentException($"mask has {mask.Length} pixels, the attribution {h} x {w}.", nameof(mask));
        }

        var cpu = attribution.detach().cpu().to(ScalarType.Float64);
        var magnitude = cpu.sum(dim: 0).abs().reshape(1, 1, h, w);
        var smoothed = torch.nn.functional.avg_pool2d(magnitude, window, stride: 1, padding: window / 2, count_include_pad: false).reshape(-1);
        var peak = smoothed.argmax().item<long>();
        var positive = torch.nn.functional.relu(cpu.sum(dim: 0)).reshape(-1);
        var onMask = torch.tensor(mask, device: torch.CPU).to(ScalarType.Float64);
        var total = positive.sum().item<double>();
        var mass = total > 0 ? (positive * onMask).sum().item<double>() / total : 0.0;
        return (mask[peak], mass, mask.Count(m => m) / (double)mask.Length);
    }
}
