using Captum.TestData;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Captum.Tests.Plugins.Vqa.Tutorial;

/// <summary>Small image files made for a test: whole and truncated JPEGs, PNGs that are only a header, short of pixel data, or whole but undecodable.</summary>
internal static class TestImages
{
    /// <summary>Writes a noisy <paramref name="side"/> x <paramref name="side"/> JPEG (noise, so its scan data is long) and returns its bytes.</summary>
    public static byte[] Jpeg(string path, int side = 96)
    {
        using var image = new Image<Rgb24>(side, side);
        var random = new Random(7);
        for (var y = 0; y < side; y++)
        {
            for (var x = 0; x < side; x++)
            {
                image[x, y] = new Rgb24((byte)random.Next(256), (byte)(2 * y), (byte)(2 * x));
            }
        }

        image.SaveAsJpeg(path);
        return File.ReadAllBytes(path);
    }

    /// <summary>
    /// Writes a PNG of <paramref name="width"/> x <paramref name="height"/> that has a header and nothing else (no
    /// pixel data): a few dozen bytes that say the image is as large as one likes.
    /// </summary>
    public static void PngHeader(string path, int width, int height) => WriteRgbPng(path, width, height, pixelData: null);

    /// <summary>
    /// Writes a 64 x 64 RGB PNG whose chunks are all whole (IEND included, CRCs right) but whose pixel data holds only
    /// its first <paramref name="rows"/> rows: a decoder that fills the rest with zeros shows a different image.
    /// </summary>
    public static void PngWithShortPixelData(string path, int rows) => WriteRgbPng(path, 64, 64, PixelData(64, rows, filter: 0));

    /// <summary>
    /// Writes a 64 x 64 RGB PNG that is whole (every chunk, CRCs right, all its pixel data) but whose rows name a
    /// filter type PNG does not have: a file that passes every check made before decoding and fails when decoded.
    /// </summary>
    public static void PngThatDoesNotDecode(string path) => WriteRgbPng(path, 64, 64, PixelData(64, 64, filter: 9));

    /// <summary>The zlib-compressed pixel data of <paramref name="rows"/> rows of a <paramref name="side"/>-wide RGB image, each row starting with <paramref name="filter"/>.</summary>
    private static byte[] PixelData(int side, int rows, byte filter)
    {
        var raw = new MemoryStream();
        for (var y = 0; y < rows; y++)
        {
            raw.WriteByte(filter);
            for (var x = 0; x < side; x++)
            {
                raw.Write([(byte)(4 * x), (byte)(4 * y), 200]);
            }
        }

        var compressed = new MemoryStream();
        using (var zlib = new System.IO.Compression.ZLibStream(compressed, System.IO.Compression.CompressionLevel.Optimal, leaveOpen: true))
        {
            zlib.Write(raw.ToArray());
        }

        return compressed.ToArray();
    }

    /// <summary>An 8-bit RGB PNG of the given size: its header, its compressed pixel data when given, and its end.</summary>
    private static void WriteRgbPng(string path, int width, int height, byte[]? pixelData) =>
        File.WriteAllBytes(path, PngFiles.Rgb(width, height, pixelData));
}
