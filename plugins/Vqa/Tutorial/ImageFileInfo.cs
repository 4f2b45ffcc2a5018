using System.Globalization;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
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
