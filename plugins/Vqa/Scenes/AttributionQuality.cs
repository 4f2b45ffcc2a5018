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
    /// <summary>Evaluates <paramref name="model"/> (a scenes model) and its randomised twin.</summary>
    /// <param name="model">The trained scenes model.</param>
    /// <param name="options">Scenes, seed, steps, window.</param>
    /// <param name="progress">Receives the number of scenes done.</param>
    /// <param name="cancellationToken">Stops between questions.</param>
    /// <exception cref="ArgumentException">An option is out of range, or the model is not a scenes model; the message names it.</exception>
    public static AttributionQualityReport Evaluate(VqaModel model, AttributionQualityOptions? options = null, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new AttributionQualityOptions();
        if (options.Scenes < 1 || options.Steps < 1 || options.Window < 1 || options.Window % 2 == 0)
        {
            throw new ArgumentException("options: Scenes and Steps must be at least 1, Window odd and positive.", nameof(options));
        }

        using var random = SceneCheckpoint.Randomized(model, options.RandomWeightsSeed);
        var trained = new List<QuestionScore>();
        var randomized = new List<QuestionScore>();
        var generator = new SceneGenerator();
        for (var index = 0; index < options.Scenes; index++)
        {
            var scene = generator.Generate(options.Seed, index);
            using var scope = torch.NewDisposeScope();
            using var image = scene.ToImage();
            var (original, normalized) = model.Transform.Apply(image, model.Options.Device);
            foreach (var question in scene.Questions)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var questionScope = torch.NewDisposeScope();
                var target = model.AnswerIndices.TryGetValue(question.Answer, out var t)
                    ? t
                    : throw new ArgumentException($"model has no answer '{question.Answer}': it is not a scenes model.", nameof(model));
                var mask = scene.MaskOf(question.DecidingObjects);
                var objectShare = question.DecidingObjects.Count == 0 ? 0.0
                    : mask.Count(m => m) / (double)scene.MaskOf(Enumerable.Range(0, scene.Objects.Count)).Count(m => m);
                var prepared = model.Prepare(original, normalized, question.Text);
                trained.Add(Score(model, prepared, question, target, mask, objectShare, options));
                randomized.Add(Score(random, prepared, question, target, mask, objectShare, options));
            }

            progress?.Report(index + 1);
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
