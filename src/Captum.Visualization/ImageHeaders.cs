using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;

namespace Captum.Visualization;

/// <summary>
/// Reads an image file's header with ImageSharp, without decoding its pixels: its format and size, or why it is not an
/// image ImageSharp reads. The one header check of the image inputs CaptumSharp takes: Captum Insights' uploads, before
/// they take a place in a model's queue, and the VQA plugin's image files (<c>ImageFiles</c>), before their pixel limit
/// and structure are checked and they are decoded. A limit on the size is the caller's, with its own words.
/// </summary>
public static class ImageHeaders
{
    /// <summary>The formats ImageSharp reads, as the messages list them.</summary>
    public const string Formats = "PNG, JPEG, GIF, BMP, TIFF, WebP, TGA, PBM";

    /// <summary>Reads the header of the image in <paramref name="stream"/>, from its current position.</summary>
    /// <param name="stream">The image file's contents.</param>
    /// <param name="path">What to call the image in messages: its file, or an upload's file name.</param>
    /// <param name="format">The format, for the caller's further checks of the file's structure.</param>
    /// <returns>The image's format name and size.</returns>
    /// <exception cref="ArgumentException">
    /// It is not an image in a format ImageSharp reads, or its header is malformed; the message is
    /// <c>cannot read image PATH: why</c>.
    /// </exception>
    public static ImageFileInfo Read(Stream stream, string path, out IImageFormat format)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(path);
        IImageInfo? info;
        IImageFormat? found;
        try
        {
            info = Image.Identify(stream, out found);
        }
        catch (Exception ex) when (IsDecoderFailure(ex))
        {
            throw Unreadable(path, ex.Message, ex);
        }

        if (info is null || found is null)
        {
            throw Unreadable(path, $"not an image in a format ImageSharp reads ({Formats})");
        }

        format = found;
        return new ImageFileInfo(path, found.Name, info.Width, info.Height);
    }

    /// <summary>
    /// Whether <paramref name="exception"/>, thrown by ImageSharp while it identified or decoded an image, says the file
    /// is unreadable. Its decoders meet malformed files with more than their own exceptions (a TGA run too long for the
    /// image: <see cref="ArgumentException"/>; a TIFF without a directory: <see cref="InvalidOperationException"/>).
    /// </summary>
    public static bool IsDecoderFailure(Exception exception) =>
        exception is ImageFormatException or NotSupportedException or InvalidDataException or IOException or ArgumentException
            or InvalidOperationException or IndexOutOfRangeException or OverflowException;

    /// <summary>The refusal of an image: <c>cannot read image PATH: REASON</c>, naming the <c>path</c> argument.</summary>
    /// <param name="path">The image's file or name.</param>
    /// <param name="reason">Why it is refused.</param>
    /// <param name="inner">The decoder's exception, when it gave one.</param>
    public static ArgumentException Unreadable(string path, string reason, Exception? inner = null) =>
        new($"cannot read image {path}: {reason}", nameof(path), inner);
}
