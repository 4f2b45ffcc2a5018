using Captum.Plugins.Vqa.Tutorial;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Pbm;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Tga;
using SixLabors.ImageSharp.Formats.Tiff;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.PixelFormats;
using Xunit;

namespace Captum.Tests.Plugins.Vqa.Tutorial;

/// <summary>
/// Every format ImageSharp reads, cut short, is refused rather than decoded with its missing part filled in (issue
/// 15, item 3, beyond the JPEG it named): what PIL does, "image file is truncated".
/// </summary>
public sealed class TruncatedImageTests
{
    public static TheoryData<string> Formats => ["png", "jpeg", "bmp", "gif", "tiff", "webp-lossless", "webp-lossy", "tga", "pbm"];

    [Theory]
    [MemberData(nameof(Formats))]
    public void Load_WholeFile_DecodesToTheImage(string format)
    {
        var bytes = Encode(format);

        using var image = ImageFiles.Load(bytes, "whole." + format);

        Assert.Equal((48, 40), (image.Width, image.Height));
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void Load_FileCutShort_IsRefusedNamingIt(string format)
    {
        var bytes = Encode(format);

        foreach (var length in new[] { bytes.Length / 2, bytes.Length * 9 / 10 })
        {
            var name = $"cut-{length}.{format}";
            var ex = Assert.Throws<ArgumentException>(() =>
            {
                using var image = ImageFiles.Load(bytes.AsMemory(0, length), name);
            });
            Assert.StartsWith($"cannot read image {name}: ", ex.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Load_PngMissingTheLastByteOfItsEndChunk_IsRefused()
    {
        var bytes = Encode("png");
        using (var decoded = SixLabors.ImageSharp.Image.Load<Rgb24>(bytes.AsSpan(0, bytes.Length - 1)))
        {
            Assert.Equal(48, decoded.Width); // ImageSharp reads it: why the check exists
        }

        var ex = Assert.Throws<ArgumentException>(() => ImageFiles.Load(bytes.AsMemory(0, bytes.Length - 1), "cut.png"));

        Assert.StartsWith("cannot read image cut.png: the PNG file is truncated (its chunks end before the IEND chunk)", ex.Message, StringComparison.Ordinal);
    }

    // Files PIL and ImageSharp read whole although their headers or ends are unusual: not refused.
    [Fact]
    public void Load_ValidVariants_AreNotTakenForTruncated()
    {
        var gif = Encode("gif");
        Assert.Equal(0x3B, gif[^1]);
        using (ImageFiles.Load(gif.AsMemory(0, gif.Length - 1), "no-trailer.gif"))
        {
        }

        var bmp = Encode("bmp");
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(bmp.AsSpan(2), (uint)bmp.Length + 1000); // an overstated bfSize
        using (ImageFiles.Load(bmp, "overstated.bmp"))
        {
        }
    }

    [Fact]
    public void Load_PbmWhoseWidthHasManyLeadingZeros_IsStillCheckedAgainstItsWidth()
    {
        var header = System.Text.Encoding.ASCII.GetBytes("P5 0000000000000000000048 40 255\n");
        var bytes = header.Concat(new byte[48 * 40 / 2]).ToArray();

        var ex = Assert.Throws<ArgumentException>(() => ImageFiles.Load(bytes, "zeros.pgm"));

        Assert.Contains("truncated", ex.Message, StringComparison.Ordinal);
    }

    private static byte[] Encode(string format)
    {
        using var image = new Image<Rgb24>(48, 40);
        var random = new Random(11);
        for (var y = 0; y < image.Height; y++)
        {
            for (var x = 0; x < image.Width; x++)
            {
                image[x, y] = new Rgb24((byte)random.Next(256), (byte)(5 * y), (byte)(4 * x));
            }
        }

        IImageEncoder encoder = format switch
        {
            "png" => new PngEncoder(),
            "jpeg" => new SixLabors.ImageSharp.Formats.Jpeg.JpegEncoder(),
            "bmp" => new BmpEncoder(),
            "gif" => new GifEncoder(),
            "tiff" => new TiffEncoder(),
            "webp-lossless" => new WebpEncoder { FileFormat = WebpFileFormatType.Lossless },
            "webp-lossy" => new WebpEncoder { FileFormat = WebpFileFormatType.Lossy },
            "tga" => new TgaEncoder(),
            _ => new PbmEncoder { ColorType = PbmColorType.Rgb, Encoding = PbmEncoding.Binary },
        };
        using var stream = new MemoryStream();
        image.Save(stream, encoder);
        return stream.ToArray();
    }
}
