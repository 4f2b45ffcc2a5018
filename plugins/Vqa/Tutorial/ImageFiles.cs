using System.Globalization;
using Captum.Visualization;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Tiff;
using SixLabors.ImageSharp.Metadata;
using SixLabors.ImageSharp.PixelFormats;

namespace Captum.Plugins.Vqa.Tutorial;

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
        return Inspect(path, () => new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16), maxPixels);
    }

    /// <summary>Checks an image file's contents held in memory, as <see cref="Inspect(string, long)"/> checks a file.</summary>
    /// <param name="content">The file's bytes.</param>
    /// <param name="name">What to call it in messages (an upload's file name).</param>
    /// <param name="maxPixels">The most pixels the image may have.</param>
    /// <exception cref="ArgumentException">The contents are not such an image; the message names <paramref name="name"/> and says why.</exception>
    public static ImageFileInfo Inspect(ReadOnlyMemory<byte> content, string name, long maxPixels = DefaultMaxPixels)
    {
        ArgumentNullException.ThrowIfNull(name);
        RequireMaxPixels(maxPixels);
        return Inspect(name, () => Open(content), maxPixels);
    }

    /// <summary>Decodes an image file checked by <see cref="Inspect(string, long)"/>, as 8-bit RGB. The caller owns the image.</summary>
    /// <exception cref="ArgumentException">The file is missing or is not such an image; the message names it and says why.</exception>
    public static Image<Rgb24> Load(string path, long maxPixels = DefaultMaxPixels)
    {
        Inspect(path, maxPixels);
        return Decode(path, () => new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16));
    }

    /// <summary>Decodes an image file's contents held in memory, checked as <see cref="Inspect(ReadOnlyMemory{byte}, string, long)"/> checks them. The caller owns the image.</summary>
    /// <exception cref="ArgumentException">The contents are not such an image; the message names <paramref name="name"/> and says why.</exception>
    public static Image<Rgb24> Load(ReadOnlyMemory<byte> content, string name, long maxPixels = DefaultMaxPixels)
    {
        Inspect(content, name, maxPixels);
        return Decode(name, () => Open(content));
    }

    private static Stream Open(ReadOnlyMemory<byte> content) =>
        System.Runtime.InteropServices.MemoryMarshal.TryGetArray(content, out var segment) && segment.Array is not null
            ? new MemoryStream(segment.Array, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(content.ToArray(), writable: false);

    private static ImageFileInfo Inspect(string name, Func<Stream> open, long maxPixels)
    {
        ImageFileInfo file;
        IImageFormat format;
        Stream header;
        try
        {
            header = open();
        }
        catch (IOException ex)
        {
            // The file went away, or cannot be read, since it was found.
            throw ImageHeaders.Unreadable(name, ex.Message, ex);
        }

        using (header)
        {
            file = ImageHeaders.Read(header, name, out format);
        }

        if (file.Pixels > maxPixels)
        {
            throw ImageHeaders.Unreadable(name, string.Create(
                CultureInfo.InvariantCulture,
                $"{file.Width} x {file.Height} is {file.Pixels:N0} pixels, more than max-image-pixels ({maxPixels:N0}), the guard against decompression bombs"));
        }

        using (var stream = open())
        {
            if (ImageStructure.Incomplete(format, stream) is { } truncated)
            {
                throw ImageHeaders.Unreadable(name, truncated);
            }
        }

        return file;
    }

    /// <summary>
    /// ImageSharp's configuration with the multi-frame decoders (GIF, TIFF) reading the first frame only, as PIL gives
    /// it: the frame <see cref="Image.Identify(Stream, out IImageFormat)"/> measures, so the pixel limit bounds what is
    /// decoded (every frame of an animation under the limit would otherwise be decoded).
    /// </summary>
    private static readonly Configuration FirstFrame = CreateFirstFrameConfiguration();

    private static Configuration CreateFirstFrameConfiguration()
    {
        var configuration = Configuration.Default.Clone();
        configuration.ImageFormatsManager.SetDecoder(GifFormat.Instance, new GifDecoder { DecodingMode = FrameDecodingMode.First });
        configuration.ImageFormatsManager.SetDecoder(TiffFormat.Instance, new TiffDecoder { DecodingMode = FrameDecodingMode.First });
        return configuration;
    }

    private static Image<Rgb24> Decode(string name, Func<Stream> open)
    {
        try
        {
            using var stream = open();
            return Image.Load<Rgb24>(FirstFrame, stream);
        }
        catch (Exception ex) when (ImageHeaders.IsDecoderFailure(ex))
        {
            throw ImageHeaders.Unreadable(name, ex.Message, ex);
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
}
