using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace Captum.Visualization;

/// <summary>An 8-bit RGBA bitmap: what one panel of a figure shows, encoded as PNG when the figure is written.</summary>
public sealed class RgbaImage
{
    private readonly byte[] _rgba;

    /// <summary>Creates a transparent image.</summary>
    /// <param name="width">Width in pixels, at least 1.</param>
    /// <param name="height">Height in pixels, at least 1.</param>
    public RgbaImage(int width, int height)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        Width = width;
        Height = height;
        _rgba = new byte[checked(width * height * 4)];
    }

    /// <summary>Width in pixels (the attribution's W).</summary>
    public int Width { get; }

    /// <summary>Height in pixels (the attribution's H).</summary>
    public int Height { get; }

    /// <summary>The pixel at column <paramref name="x"/>, row <paramref name="y"/>.</summary>
    /// <param name="x">Column, 0 to Width - 1.</param>
    /// <param name="y">Row, 0 to Height - 1.</param>
    public PixelRgba this[int x, int y]
    {
        get
        {
            var i = Offset(x, y);
            return new PixelRgba(_rgba[i], _rgba[i + 1], _rgba[i + 2], _rgba[i + 3]);
        }

        set
        {
            var i = Offset(x, y);
            _rgba[i] = value.R;
            _rgba[i + 1] = value.G;
            _rgba[i + 2] = value.B;
            _rgba[i + 3] = value.A;
        }
    }

    /// <summary>A copy of the pixels, row-major, four bytes (R, G, B, A) a pixel.</summary>
    /// <returns>The bytes.</returns>
    public byte[] ToRgbaBytes() => (byte[])_rgba.Clone();

    /// <summary>The image as PNG (8-bit RGBA), encoded with ImageSharp.</summary>
    /// <returns>The PNG file's bytes.</returns>
    public byte[] ToPng()
    {
        using var image = Image.LoadPixelData<Rgba32>(_rgba, Width, Height);
        using var stream = new MemoryStream();
        image.Save(stream, new PngEncoder { ColorType = PngColorType.RgbWithAlpha, BitDepth = PngBitDepth.Bit8 });
        return stream.ToArray();
    }

    /// <summary>The PNG as a <c>data:image/png;base64,...</c> URI, for embedding in SVG or HTML.</summary>
    /// <returns>The data URI.</returns>
    public string ToDataUri() => "data:image/png;base64," + Convert.ToBase64String(ToPng());

    private int Offset(int x, int y)
    {
        if ((uint)x >= (uint)Width)
        {
            throw new ArgumentOutOfRangeException(nameof(x), x, $"Column must be in [0, {Width}).");
        }

        if ((uint)y >= (uint)Height)
        {
            throw new ArgumentOutOfRangeException(nameof(y), y, $"Row must be in [0, {Height}).");
        }

        return ((y * Width) + x) * 4;
    }
}
