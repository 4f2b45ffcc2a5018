using System.Globalization;
using Captum.Visualization;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Captum.Plugins.Vqa.Tutorial;

/// <summary>
/// The tutorial's image transform: resize the shorter side to <c>imageSize / centralFraction</c> (with PIL's bilinear
/// resampling, bit for bit, as torchvision does on a PIL image), crop the centre <c>imageSize</c> square, scale to
/// [0, 1], and normalise with the ImageNet mean and std.
/// </summary>
/// <remarks>Python: the tutorial's <c>get_transform(target_size, central_fraction)</c> (Scale, CenterCrop, ToTensor, Normalize).</remarks>
public sealed class ImageTransform
{
    /// <summary>ImageNet's per-channel mean, as torchvision normalises.</summary>
    public static readonly float[] Mean = [0.485f, 0.456f, 0.406f];

    /// <summary>ImageNet's per-channel standard deviation.</summary>
    public static readonly float[] Std = [0.229f, 0.224f, 0.225f];

    /// <summary>
    /// The largest image side: 4096. The net's input is then 3 x 4096 x 4096 float32, 192 MiB, and an attribution holds
    /// many such copies at once (Integrated Gradients one per step, 30 by default: 5.6 GiB) besides the network's
    /// activations; a larger side cannot be explained in the memory of a workstation.
    /// </summary>
    public const int MaxImageSize = 4096;

    /// <summary>Creates the transform.</summary>
    /// <param name="imageSize">The side of the square crop (448 in the tutorial), at most <see cref="MaxImageSize"/>.</param>
    /// <param name="centralFraction">The fraction of the resized image the crop keeps (1.0 in the tutorial).</param>
    /// <param name="maxPixels">The most pixels an image file, and the resized image, may have (<see cref="ImageFiles.DefaultMaxPixels"/>, PIL's).</param>
    public ImageTransform(int imageSize, double centralFraction = 1.0, long maxPixels = ImageFiles.DefaultMaxPixels)
    {
        if (imageSize is < 1 or > MaxImageSize)
        {
            throw new ArgumentOutOfRangeException(nameof(imageSize), imageSize, $"imageSize must be in [1, {MaxImageSize}].");
        }

        if (!(centralFraction > 0 && centralFraction <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(centralFraction), centralFraction, "centralFraction must be in (0, 1].");
        }

        ImageFiles.RequireMaxPixels(maxPixels);
        ImageSize = imageSize;
        CentralFraction = centralFraction;
        MaxPixels = maxPixels;
    }

    /// <summary>The crop side.</summary>
    public int ImageSize { get; }

    /// <summary>The kept fraction.</summary>
    public double CentralFraction { get; }

    /// <summary>The most pixels an image file, and the resized image, may have.</summary>
    public long MaxPixels { get; }

    /// <summary>
    /// The side the shorter side of every image is resized to, <c>floor(ImageSize / CentralFraction)</c>, in a double
    /// since it can exceed any integer; the resized image has at least its square in pixels.
    /// </summary>
    public double ResizedSide => Math.Floor(ImageSize / CentralFraction);

    /// <summary>
    /// Checks an image file can be transformed, without decoding it: the file (<see cref="ImageFiles.Inspect(string, long)"/>), and the
    /// sizes of the resize and crop (<see cref="CheckSize"/>).
    /// </summary>
    /// <exception cref="ArgumentException">It cannot; the message names the file and says why.</exception>
    public ImageFileInfo Check(string path)
    {
        var file = ImageFiles.Inspect(path, MaxPixels);
        CheckSize(file.Width, file.Height, path);
        return file;
    }

    /// <summary>
    /// Checks a <paramref name="width"/> x <paramref name="height"/> image can be transformed: the crop keeps at
    /// least one of its pixels across, and the resized image has at most <see cref="MaxPixels"/> pixels (a thin image
    /// or a small central fraction can ask for billions).
    /// </summary>
    /// <param name="width">The image's width.</param>
    /// <param name="height">The image's height.</param>
    /// <param name="name">The image's name for the message (its file).</param>
    /// <exception cref="ArgumentException">It cannot; the message names the image and says why.</exception>
    public void CheckSize(int width, int height, string name)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        var (shorter, longer) = (Math.Min(width, height), Math.Max(width, height));
        var kept = shorter * CentralFraction;
        if (kept < 1)
        {
            throw new ArgumentException(string.Create(
                CultureInfo.InvariantCulture,
                $"cannot transform image {name} ({width} x {height}): central-fraction {CentralFraction:R} keeps {kept:G3} of its {shorter} pixels across, less than one; central-fraction must be at least {1.0 / shorter:G6} for it."), nameof(name));
        }

        // In doubles: the target side times the longer side can overflow any integer.
        var side = ResizedSide;
        var longSide = Math.Floor(side * longer / shorter);
        if (side * longSide > MaxPixels)
        {
            var (w, h) = width <= height ? (side, longSide) : (longSide, side);
            throw new ArgumentException(string.Create(
                CultureInfo.InvariantCulture,
                $"cannot transform image {name} ({width} x {height}): resized to {w:F0} x {h:F0} for image-size {ImageSize} and central-fraction {CentralFraction:R}, it would have {side * longSide:N0} pixels, more than max-image-pixels ({MaxPixels:N0})."), nameof(name));
        }
    }

    /// <summary>
    /// Loads an image file and returns the resized, cropped image in [0, 1], [3, ImageSize, ImageSize]
    /// (for display), and the normalised model input, [1, 3, ImageSize, ImageSize]. The caller owns both.
    /// The file is checked first (<see cref="Check"/>), so a refused one is never decoded.
    /// </summary>
    /// <exception cref="ArgumentException">The file does not exist, is not an image ImageSharp can read, is truncated or too large, or cannot be resized and cropped; the message names it.</exception>
    public (Tensor Original, Tensor Normalized) Load(string path, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var image = ImageFiles.Load(path, MaxPixels);
        return Transform(image, device, path);
    }

    /// <summary>
    /// Loads an image file's contents held in memory (an upload, a generated image), as <see cref="Load(string, Device?)"/>
    /// loads a file: checked first (size before decoding), then resized and cropped. The caller owns both tensors.
    /// </summary>
    /// <param name="content">The file's bytes.</param>
    /// <param name="name">What to call it in messages.</param>
    /// <param name="device">Where the tensors go; null for the CPU.</param>
    /// <exception cref="ArgumentException">The contents are not an image ImageSharp can read, are truncated or too large, or cannot be resized and cropped; the message names <paramref name="name"/>.</exception>
    public (Tensor Original, Tensor Normalized) Load(ReadOnlyMemory<byte> content, string name, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        var file = ImageFiles.Inspect(content, name, MaxPixels);
        CheckSize(file.Width, file.Height, name);
        using var image = ImageFiles.Load(content, name, MaxPixels);
        return Transform(image, device, name);
    }

    /// <summary>Applies the transform to an image in memory (see <see cref="Load(string, Device?)"/>).</summary>
    /// <exception cref="ArgumentException">The image cannot be resized and cropped (<see cref="CheckSize"/>).</exception>
    public (Tensor Original, Tensor Normalized) Apply(Image<Rgb24> image, Device? device = null) => Transform(image, device, "in memory");

    private (Tensor Original, Tensor Normalized) Transform(Image<Rgb24> image, Device? device, string name)
    {
        ArgumentNullException.ThrowIfNull(image);
        CheckSize(image.Width, image.Height, name);
        using var working = Resize(image, (int)(ImageSize / CentralFraction));

        // Centre crop, rounding the offsets as torchvision does.
        var left = (int)Math.Round((working.Width - ImageSize) / 2.0);
        var top = (int)Math.Round((working.Height - ImageSize) / 2.0);
        var pixels = new float[3 * ImageSize * ImageSize];
        var plane = ImageSize * ImageSize;
        working.ProcessPixelRows(rows =>
        {
            for (var y = 0; y < ImageSize; y++)
            {
                var sy = top + y;
                if (sy < 0 || sy >= rows.Height)
                {
                    continue; // padding, as CenterCrop pads a too-small image with zeros
                }

                var row = rows.GetRowSpan(sy);
                for (var x = 0; x < ImageSize; x++)
                {
                    var sx = left + x;
                    if (sx < 0 || sx >= row.Length)
                    {
                        continue;
                    }

                    var p = row[sx];
                    pixels[(y * ImageSize) + x] = p.R / 255f;
                    pixels[plane + (y * ImageSize) + x] = p.G / 255f;
                    pixels[(2 * plane) + (y * ImageSize) + x] = p.B / 255f;
                }
            }
        });

        var original = torch.tensor(pixels, [3, ImageSize, ImageSize], ScalarType.Float32, device);
        return (original, Normalize(original).unsqueeze(0));
    }

    /// <summary>
    /// The size torchvision's <c>Resize(size)</c> gives a <paramref name="width"/> x <paramref name="height"/> image:
    /// the shorter side becomes <paramref name="size"/> and the longer <c>int(size * long / short)</c>.
    /// </summary>
    internal static (int Width, int Height) ResizedSize(int width, int height, int size) =>
        width <= height ? (size, (int)((long)size * height / width)) : ((int)((long)size * width / height), size);

    /// <summary>
    /// Resizes <paramref name="image"/> as torchvision's <c>Resize(size)</c> does a PIL image: shorter side to
    /// <paramref name="size"/>, aspect kept, with PIL's BILINEAR resampling (<see cref="PilResize"/>), bit for bit; an
    /// image already at that size is copied unchanged. The caller owns the result.
    /// </summary>
    internal static Image<Rgb24> Resize(Image<Rgb24> image, int size)
    {
        var (width, height) = ResizedSize(image.Width, image.Height, size);
        return PilResize.Bilinear(image, width, height);
    }

    /// <summary>
    /// Normalises images in [0, 1] (<c>[3, H, W]</c> or <c>[n, 3, H, W]</c>) with the ImageNet mean and std, per
    /// channel, as the last step of <see cref="Apply"/>. The caller owns the result.
    /// </summary>
    public static Tensor Normalize(Tensor images)
    {
        ArgumentNullException.ThrowIfNull(images);
        using var mean = torch.tensor(Mean, [3, 1, 1], ScalarType.Float32, images.device);
        using var std = torch.tensor(Std, [3, 1, 1], ScalarType.Float32, images.device);
        return (images - mean) / std;
    }
}
