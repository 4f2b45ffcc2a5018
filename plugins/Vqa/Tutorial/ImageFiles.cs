using System.Globalization;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.PixelFormats;

namespace Captum.Plugins.Vqa.Tutorial;

/// <summary>An image file's format and size, read from its header without decoding it.</summary>
/// <param name="Path">The file.</param>
/// <param name="Format">The format's name (PNG, JPEG, ...).</param>
/// <param name="Width">The width in pixels.</param>
/// <param name="Height">The height in pixels.</param>
public sealed record ImageFileInfo(string Path, string Format, int Width, int Height)
{
    /// <summary>Width times height.</summary>
    public long Pixels => (long)Width * Height;
}

/// <summary>
/// Reads image files as PIL would accept them: the header first, refusing an image of more pixels than a limit
/// (PIL's guard against decompression bombs, whose default is the same) and a JPEG cut short (which ImageSharp would
/// decode with its missing part black, where PIL refuses it), then the pixels.
/// </summary>
public static class ImageFiles
{
    /// <summary>The default pixel limit: PIL's <c>Image.MAX_IMAGE_PIXELS</c>, 89,478,485 (a quarter of a GiB of 3-byte pixels).</summary>
    public const long DefaultMaxPixels = 89_478_485;

    /// <summary>
    /// The highest pixel limit that can be set: 715,827,882, the most 3-byte pixels one .NET array (the resize's
    /// buffer) holds.
    /// </summary>
    public const long HighestMaxPixels = int.MaxValue / 3;

    /// <summary>Checks an image file from its header, without decoding it: a regular file, a format ImageSharp reads, at most <paramref name="maxPixels"/> pixels, and, for a JPEG, whole.</summary>
    /// <param name="path">The file.</param>
    /// <param name="maxPixels">The most pixels the image may have (see <see cref="DefaultMaxPixels"/>).</param>
    /// <exception cref="ArgumentException">The file is missing or is not such an image; the message names it and says why.</exception>
    public static ImageFileInfo Inspect(string path, long maxPixels = DefaultMaxPixels)
    {
        ArgumentNullException.ThrowIfNull(path);
        RequireMaxPixels(maxPixels);
        InputFile.RequireRegular(path, "image");
        IImageInfo? info;
        IImageFormat? format;
        try
        {
            info = Image.Identify(path, out format);
        }
        catch (Exception ex) when (ex is InvalidImageContentException or NotSupportedException or IOException)
        {
            throw Unreadable(path, ex.Message, ex);
        }

        if (info is null || format is null)
        {
            throw Unreadable(path, "not an image in a format ImageSharp reads (PNG, JPEG, BMP, GIF, TIFF, WebP, TGA, PBM)");
        }

        var file = new ImageFileInfo(path, format.Name, info.Width, info.Height);
        if (file.Pixels > maxPixels)
        {
            throw Unreadable(path, string.Create(
                CultureInfo.InvariantCulture,
                $"{file.Width} x {file.Height} is {file.Pixels:N0} pixels, more than max-image-pixels ({maxPixels:N0}), the guard against decompression bombs"));
        }

        if (format is JpegFormat)
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            if (!JpegStructure.IsComplete(stream))
            {
                throw Unreadable(path, "the JPEG file is truncated (its data ends before the end-of-image marker)");
            }
        }

        return file;
    }

    /// <summary>Decodes an image file checked by <see cref="Inspect"/>, as 8-bit RGB. The caller owns the image.</summary>
    /// <exception cref="ArgumentException">The file is missing or is not such an image; the message names it and says why.</exception>
    public static Image<Rgb24> Load(string path, long maxPixels = DefaultMaxPixels)
    {
        Inspect(path, maxPixels);
        try
        {
            return Image.Load<Rgb24>(path);
        }
        catch (Exception ex) when (ex is UnknownImageFormatException or InvalidImageContentException or NotSupportedException or IOException)
        {
            throw Unreadable(path, ex.Message, ex);
        }
    }

    /// <summary>Checks a pixel limit is in [1, <see cref="HighestMaxPixels"/>].</summary>
    /// <exception cref="ArgumentOutOfRangeException">It is not.</exception>
    internal static void RequireMaxPixels(long maxPixels)
    {
        if (maxPixels is < 1 or > HighestMaxPixels)
        {
            throw new ArgumentOutOfRangeException(nameof(maxPixels), maxPixels, string.Create(CultureInfo.InvariantCulture, $"max-image-pixels must be in [1, {HighestMaxPixels:N0}]."));
        }
    }

    private static ArgumentException Unreadable(string path, string reason, Exception? inner = null) =>
        new($"cannot read image {path}: {reason}", nameof(path), inner);
}
