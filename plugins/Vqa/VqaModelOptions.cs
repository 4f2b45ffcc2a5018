using Captum.Plugins.Vqa.Model;
using Captum.Plugins.Vqa.Tutorial;

namespace Captum.Plugins.Vqa;

/// <summary>Settings of a loaded VQA model.</summary>
public sealed record VqaModelOptions
{
    /// <summary>
    /// The side of the square image the net sees; when null, the model's own: 448 for the tutorial's model (as the
    /// tutorial), the size a scenes checkpoint was trained on (64) for a scenes model.
    /// </summary>
    public int? ImageSize { get; init; }

    /// <summary>The central fraction of the resized image kept (the tutorial uses 1.0).</summary>
    public double CentralFraction { get; init; } = 1.0;

    /// <summary>
    /// The most pixels an image file, and the image resized for the net, may have; larger ones are refused from the
    /// file's header, before decoding (a guard against decompression bombs). Default: PIL's limit,
    /// <see cref="ImageFiles.DefaultMaxPixels"/>; at most <see cref="ImageFiles.HighestMaxPixels"/>.
    /// </summary>
    public long MaxImagePixels { get; init; } = ImageFiles.DefaultMaxPixels;

    /// <summary>Where the ResNet puts its strides (the tutorial's features come from the Caffe variant).</summary>
    public ResNetVariant ResNetVariant { get; init; } = ResNetVariant.Caffe;

    /// <summary>The device to run on; the CPU when null.</summary>
    public Device? Device { get; init; }

    /// <summary>
    /// The image baseline; when null, the model's own: <see cref="ImageBaseline.Zero"/> for the tutorial's model,
    /// what a scenes checkpoint's config names (<see cref="ImageBaseline.Zero"/> for the shipped one).
    /// </summary>
    public ImageBaseline? ImageBaseline { get; init; }
}
