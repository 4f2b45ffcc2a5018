namespace Captum.Plugins.Vqa;

/// <summary>What the image is compared with: the start of Integrated Gradients' path.</summary>
public enum ImageBaseline
{
    /// <summary>
    /// Zero in the normalised image, i.e. ImageNet's mean colour everywhere: the tutorial's <c>image * 0</c>.
    /// </summary>
    Zero,

    /// <summary>
    /// A blank canvas: every pixel the image's own per-channel median colour (for a scene, its background). Pixels
    /// of the background colour then carry no attribution, only what differs from it does.
    /// </summary>
    MedianColor,
}
