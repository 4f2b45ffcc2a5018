namespace Captum.Visualization;

/// <summary>An image file's format and size, read from its header without decoding it (<see cref="ImageHeaders.Read"/>).</summary>
/// <param name="Path">The file, or what its contents are called in messages (an upload's file name).</param>
/// <param name="Format">The format's name (PNG, JPEG, ...).</param>
/// <param name="Width">The width in pixels.</param>
/// <param name="Height">The height in pixels.</param>
public sealed record ImageFileInfo(string Path, string Format, int Width, int Height)
{
    /// <summary>Width times height.</summary>
    public long Pixels => (long)Width * Height;
}
