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

    /// <summary>Creates the transform.</summary>
    /// <param name="imageSize">The side of the square crop (448 in the tutorial).</param>
    /// <param name="centralFraction">The fraction of the resized image the crop keeps (1.0 in the tutorial).</param>
    public ImageTransform(int imageSize, double centralFraction = 1.0)
    {
        if (imageSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(imageSize), imageSize, "imageSize must be at least 1.");
        }

        if (!(centralFraction > 0 && centralFraction <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(centralFraction), centralFraction, "centralFraction must be in (0, 1].");
        }

        ImageSize = imageSize;
        CentralFraction = centralFraction;
    }

    /// <summary>The crop side.</summary>
    public int ImageSize { get; }

    /// <summary>The kept fraction.</summary>
    public double CentralFraction { get; }

    /// <summary>
    /// Loads an image file and returns the resized, cropped image in [0, 1], [3, ImageSize, ImageSize]
    /// (for display), and the normalised model input, [1, 3, ImageSize, ImageSize]. The caller owns both.
    /// </summary>
    /// <exception cref="ArgumentException">The file does not exist or is not an image ImageSharp can read; the message names it.</exception>
    public (Tensor Original, Tensor Normalized) Load(string path, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new ArgumentException($"image file not found: {path}", nameof(path));
        }

        Image<Rgb24> image;
        try
        {
            image = Image.Load<Rgb24>(path);
        }
        catch (Exception ex) when (ex is UnknownImageFormatException or InvalidImageContentException or NotSupportedException or IOException)
        {
            var reason = ex is UnknownImageFormatException ? "not an image in a format ImageSharp reads (PNG, JPEG, BMP, GIF, TIFF, WebP, TGA, PBM)" : ex.Message;
            throw new ArgumentException($"cannot read image {path}: {reason}", nameof(path), ex);
        }

        using (image)
        {
            return Apply(image, device);
        }
    }

    /// <summary>Applies the transform to an image in memory (see <see cref="Load"/>).</summary>
    public (Tensor Original, Tensor Normalized) Apply(Image<Rgb24> image, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(image);
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
