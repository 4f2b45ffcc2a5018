using Captum.Explain;
using Captum.Forward;
using Captum.Plugins.Vqa.Tutorial;
using Captum.Robust;

namespace Captum.Plugins.Vqa.Scenes;

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
