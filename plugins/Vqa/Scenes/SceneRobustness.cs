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
