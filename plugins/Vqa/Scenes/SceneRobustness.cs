using Captum.Explain;
using Captum.Forward;
using Captum.Plugins.Vqa.Tutorial;
using Captum.Robust;

namespace Captum.Plugins.Vqa.Scenes;

/// <summary>
/// How a scenes model's answer and its image explanation hold up against an adversary: for each radius, PGD
/// (Linf, untargeted against the answer the model gives on the clean image) perturbs the scene's pixels within that
/// radius, and the perturbed image is answered and explained with Layer Integrated Gradients, as <c>captum vqa</c>
/// would explain it, and scored with the pointing game of <see cref="AttributionQuality"/>.
/// </summary>
/// <remarks>
/// The attack runs in pixel space ([0, 1], clamped there), before the ImageNet normalisation, so a radius of 8/255
/// means what it means in the adversarial-robustness literature. The loss PGD ascends is
/// <see cref="AttackLosses.CrossEntropy"/> of the model's logits and the clean answer (Captum's default loss, minus the
/// log of the output, is meant for probabilities). Its step size follows Madry et al.: 2.5 × radius / steps, so that
/// the ball's surface is reachable from its centre. The perturbed pixels are not rounded to 8 bits: the attack is on
/// the model's input tensor, not on a PNG file.
/// </remarks>
public static class SceneRobustness
{
    /// <summary>Attacks one question about a scene at every radius and explains each answer.</summary>
    /// <param name="model">A scenes model (its answers include the question's).</param>
    /// <param name="scene">The scene.</param>
    /// <param name="question">One of the scene's questions.</param>
    /// <param name="options">Radii, PGD steps, explanation steps, pointing window.</param>
    /// <param name="cancellationToken">Checked between attack steps and explanation batches.</param>
    /// <returns>One outcome per radius, in the order of <see cref="SceneRobustnessOptions.Radii"/>; the images they hold are the caller's to dispose.</returns>
    /// <exception cref="ArgumentException">An option is out of range; the message names it.</exception>
    public static IReadOnlyList<RadiusOutcome> Attack(VqaModel model, Scene scene, SceneQuestion question, SceneRobustnessOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(scene);
        ArgumentNullException.ThrowIfNull(question);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        using var scope = torch.NewDisposeScope();
        using var image = scene.ToImage();
        var (original, _) = model.Transform.Apply(image, model.Options.Device);
        var pixels = original.unsqueeze(0);
        var (tokens, length) = model.Encoder.Encode(question.Text, model.Options.Device);
        var asked = new object?[] { tokens.unsqueeze(0), length.unsqueeze(0) };
        var forward = ForwardFunction.FromDelegate(args => model.Forward.Invoke(ImageTransform.Normalize((Tensor)args[0]!), args[1], args[2]), model.Net);
        long cleanAnswer;
        using (torch.no_grad())
        {
            cleanAnswer = forward.Invoke(pixels, asked[0], asked[1]).argmax(1).item<long>();
        }

        var mask = scene.MaskOf(question.DecidingObjects);
        var pgd = new PGD(forward, AttackLosses.CrossEntropy, lowerBound: 0, upperBound: 1);
        var outcomes = new List<RadiusOutcome>();
        Tensor? cleanMap = null;
        foreach (var radius in options.Radii)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var radiusScope = torch.NewDisposeScope();
            var attacked = radius == 0
                ? pixels.clone()
                : pgd.Perturb(
                    pixels,
                    new PGDOptions { Radius = radius, StepSize = 2.5 * radius / options.AttackSteps, StepNum = options.AttackSteps, Target = cleanAnswer, AdditionalForwardArgs = asked },
                    cancellationToken)[0];
            var attackedImage = attacked[0].detach();
            var prepared = model.Prepare(attackedImage, ImageTransform.Normalize(attacked), question.Text);
            using var explanation = ModelExplainer.Explain(model, prepared, new ExplanationOptions { Steps = options.ExplanationSteps }, cancellationToken);
            var attribution = explanation.Inputs.Single(i => i.Display is ImageDisplay).Attribution.detach();
            var (pointed, mass, _) = question.DecidingObjects.Count > 0 ? AttributionQuality.ImageScores(attribution, mask, options.Window) : (false, double.NaN, 0.0);
            var map = attribution.sum(dim: 0).flatten().to(ScalarType.Float64);
            cleanMap ??= map.clone().MoveToOuterDisposeScope(); // Radii[0] is 0: the clean image's
            var cosine = torch.nn.functional.cosine_similarity(map, cleanMap, dim: 0).item<double>();
            var probabilities = torch.nn.functional.softmax(torch.tensor(explanation.Logits.ToArray()), 0);
            outcomes.Add(new RadiusOutcome(
                radius,
                model.Labels[(int)explanation.PredictedIndex],
                explanation.Probability,
                probabilities[cleanAnswer].item<float>(),
                (attacked - pixels).abs().max().item<float>(),
                question.DecidingObjects.Count > 0 ? pointed : null,
                mass,
                cosine,
                explanation.Delta,
                attackedImage.cpu().MoveToOuterDisposeScope(),
                attribution.cpu().MoveToOuterDisposeScope()));
        }

        cleanMap?.Dispose();
        foreach (var outcome in outcomes)
        {
            outcome.Image.MoveToOuterDisposeScope();
            outcome.Attribution.MoveToOuterDisposeScope();
        }

        return outcomes;
    }
}

/// <summary>How <see cref="SceneRobustness.Attack"/> attacks and explains.</summary>
public sealed record SceneRobustnessOptions
{
    /// <summary>
    /// The Linf radii, in [0, 1] pixel units, starting with 0: the clean image, which the other radii's answers and
    /// attributions are compared with. Default 0, 1, 2, 4, 8 and 16 / 255.
    /// </summary>
    public IReadOnlyList<double> Radii { get; init; } = [0, 1 / 255.0, 2 / 255.0, 4 / 255.0, 8 / 255.0, 16 / 255.0];

    /// <summary>PGD's steps per radius (<c>step_num</c>); the step size is 2.5 × radius / steps.</summary>
    public int AttackSteps { get; init; } = 10;

    /// <summary>Layer Integrated Gradients' steps for each explanation.</summary>
    public int ExplanationSteps { get; init; } = 30;

    /// <summary>The pointing game's window (odd), as in <see cref="AttributionQualityOptions.Window"/>.</summary>
    public int Window { get; init; } = 9;

    internal void Validate()
    {
        if (Radii is null || Radii.Count == 0 || Radii[0] != 0 || Radii.Any(r => !double.IsFinite(r) || r < 0 || r > 1))
        {
            throw new ArgumentException("Radii: start with 0 (the clean image, the reference of the comparisons), each radius in [0, 1] (pixel units).", nameof(Radii));
        }

        if (AttackSteps < 1)
        {
            throw new ArgumentException($"AttackSteps must be at least 1, not {AttackSteps}.", nameof(AttackSteps));
        }

        if (ExplanationSteps < 1)
        {
            throw new ArgumentException($"ExplanationSteps must be at least 1, not {ExplanationSteps}.", nameof(ExplanationSteps));
        }

        if (Window < 1 || Window % 2 == 0)
        {
            throw new ArgumentException($"Window must be odd and positive, not {Window}.", nameof(Window));
        }
    }
}

/// <summary>The answer and explanation of a scene question under PGD at one radius.</summary>
/// <param name="Radius">The Linf radius, in [0, 1] pixel units.</param>
/// <param name="Answer">The model's answer on the perturbed image.</param>
/// <param name="Probability">Its softmax probability.</param>
/// <param name="CleanAnswerProbability">The probability of the answer the model gives on the clean image.</param>
/// <param name="LargestChange">The largest change of a pixel value (at most <paramref name="Radius"/>).</param>
/// <param name="Pointed">Whether the attribution's peak lies on the question's deciding objects; null when the question has none.</param>
/// <param name="MassOnObjects">The share of positive attribution on the deciding objects; NaN when the question has none.</param>
/// <param name="CosineToClean">The cosine similarity of the channel-summed image attribution with the clean image's.</param>
/// <param name="Delta">Layer Integrated Gradients' convergence delta.</param>
/// <param name="Image">The perturbed image, [3, H, W] in [0, 1]; the caller disposes it.</param>
/// <param name="Attribution">The image attribution, [3, H, W]; the caller disposes it.</param>
public sealed record RadiusOutcome(
    double Radius,
    string Answer,
    double Probability,
    double CleanAnswerProbability,
    double LargestChange,
    bool? Pointed,
    double MassOnObjects,
    double CosineToClean,
    double Delta,
    Tensor Image,
    Tensor Attribution) : IDisposable
{
    /// <summary>Frees the image and the attribution.</summary>
    public void Dispose()
    {
        Image.Dispose();
        Attribution.Dispose();
    }
}
