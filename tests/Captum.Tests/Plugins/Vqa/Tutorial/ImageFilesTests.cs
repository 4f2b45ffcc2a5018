using Captum.Visualization;
using Captum.Plugins.Vqa.Tutorial;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using Xunit;

namespace Captum.Tests.Plugins.Vqa.Tutorial;

/// <summary>Image files refused from their headers and structure before decoding (issue 15, item 3), and transforms refused before their arithmetic overflows (item 4).</summary>
public sealed class ImageFilesTests
{
    [Fact]
    public void Inspect_WholeJpeg_GivesItsFormatAndSize()
    {
        using var folder = new TempFolder();
        var path = Path.Combine(folder.Path, "whole.jpg");
        TestImages.Jpeg(path);

        var info = ImageFiles.Inspect(path);

        Assert.Equal(new ImageFileInfo(path, "JPEG", 96, 96), info);
    }

    [Theory]
    [InlineData("gif")]
    [InlineData("tiff")]
    public void Load_ThreeFrameImage_DecodesOnlyTheFirstFrameThePixelLimitMeasured(string format)
    {
        using var frames = new Image<Rgb24>(8, 6, new Rgb24(10, 20, 30));
        for (var i = 0; i < 2; i++)
        {
            using var frame = new Image<Rgb24>(8, 6, new Rgb24(200, 100, 50));
            frames.Frames.AddFrame(frame.Frames.RootFrame);
        }

        using var encoded = new MemoryStream();
        if (format == "gif")
        {
            frames.SaveAsGif(encoded);
        }
        else
        {
            frames.SaveAsTiff(encoded);
        }

        using var image = ImageFiles.Load(encoded.ToArray(), "frames." + format, maxPixels: 48);

        Assert.Equal(1, image.Frames.Count);
        Assert.Equal((8, 6), (image.Width, image.Height));
    }

    [Fact]
    public void Inspect_JpegCutInHalf_RefusesItAsTruncatedWhereImageSharpWouldDecodeIt()
    {
        using var folder = new TempFolder();
        var path = Path.Combine(folder.Path, "half.jpg");
        var bytes = TestImages.Jpeg(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        using (var decoded = Image.Load<Rgb24>(path))
        {
            Assert.Equal(new Rgb24(0, 0, 0), decoded[95, 95]); // ImageSharp fills the missing half: why the check exists
        }

        var ex = Assert.Throws<ArgumentException>(() => ImageFiles.Inspect(path));

        Assert.StartsWith($"cannot read image {path}: the JPEG file is truncated", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Inspect_JpegMissingOnlyItsEndMarker_RefusesItAsPilDoes()
    {
        using var folder = new TempFolder();
        var path = Path.Combine(folder.Path, "no-eoi.jpg");
        var bytes = TestImages.Jpeg(path);
        Assert.Equal([0xFF, 0xD9], bytes[^2..]);
        File.WriteAllBytes(path, bytes[..^2]);

        var ex = Assert.Throws<ArgumentException>(() => ImageFiles.Inspect(path));

        Assert.Contains("truncated", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Inspect_TruncatedJpegWithAnEndMarkerInsideASegment_IsStillTruncated()
    {
        using var folder = new TempFolder();
        var path = Path.Combine(folder.Path, "comment.jpg");
        var bytes = TestImages.Jpeg(path);

        // A comment segment holding FF D9 (as an EXIF thumbnail does) right after the start of image, then the file cut short.
        byte[] comment = [0xFF, 0xFE, 0x00, 0x06, 0xFF, 0xD9, 0xFF, 0xD9];
        File.WriteAllBytes(path, [.. bytes[..2], .. comment, .. bytes[2..(bytes.Length / 2)]]);
        Assert.Throws<ArgumentException>(() => ImageFiles.Inspect(path));

        File.WriteAllBytes(path, [.. bytes[..2], .. comment, .. bytes[2..]]);
        Assert.Equal("JPEG", ImageFiles.Inspect(path).Format);
    }

    [Fact]
    public void Inspect_JpegWithBytesAfterItsEnd_IsAccepted()
    {
        using var folder = new TempFolder();
        var path = Path.Combine(folder.Path, "trailer.jpg");
        var bytes = TestImages.Jpeg(path);
        File.WriteAllBytes(path, [.. bytes, 0x00, 0x12, 0xFF]);

        Assert.Equal((96, 96), (ImageFiles.Inspect(path).Width, ImageFiles.Inspect(path).Height));
    }

    [Fact]
    public void Inspect_30000By30000PngHeader_RefusedFromTheHeaderAloneNamingTheLimit()
    {
        using var folder = new TempFolder();
        var path = Path.Combine(folder.Path, "bomb.png");
        TestImages.PngHeader(path, 30000, 30000);

        var ex = Assert.Throws<ArgumentException>(() => ImageFiles.Inspect(path));

        Assert.True(new FileInfo(path).Length < 100);
        Assert.Equal($"cannot read image {path}: 30000 x 30000 is 900,000,000 pixels, more than max-image-pixels (89,478,485), the guard against decompression bombs (Parameter 'path')", ex.Message);
    }

    [Theory]
    [InlineData(10)]
    [InlineData(0)]
    public void Inspect_PngShortOfPixelData_RefusedAsTruncated(int rows)
    {
        using var folder = new TempFolder();
        var path = Path.Combine(folder.Path, "short.png");
        TestImages.PngWithShortPixelData(path, rows);

        var ex = Assert.Throws<ArgumentException>(() => ImageFiles.Inspect(path));

        Assert.Contains("the PNG file's pixel data is truncated", ex.Message, StringComparison.Ordinal);
        Assert.Contains("of the 12,352 its 64 x 64 header needs", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Inspect_WholePngOfTheSameMaker_IsAccepted()
    {
        using var folder = new TempFolder();
        var path = Path.Combine(folder.Path, "whole.png");
        TestImages.PngWithShortPixelData(path, 64);

        Assert.Equal(64 * 64, ImageFiles.Inspect(path).Pixels);
    }

    [Fact]
    public void Inspect_RaisedPixelLimit_LetsTheHeaderPastThePixelGuard()
    {
        using var folder = new TempFolder();
        var path = Path.Combine(folder.Path, "large.png");
        TestImages.PngHeader(path, 10000, 10000);

        Assert.Contains("max-image-pixels", Assert.Throws<ArgumentException>(() => ImageFiles.Inspect(path)).Message, StringComparison.Ordinal);

        // Past the guard, the file is checked whole: a header with no pixel data is not an image of 10000 x 10000.
        var raised = Assert.Throws<ArgumentException>(() => ImageFiles.Inspect(path, 100_000_000));
        Assert.DoesNotContain("max-image-pixels", raised.Message, StringComparison.Ordinal);
        Assert.Contains("the PNG file's pixel data", raised.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(ImageFiles.HighestMaxPixels + 1)]
    public void Inspect_PixelLimitOutOfRange_Throws(long maxPixels) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => ImageFiles.Inspect("any.png", maxPixels));

    [Theory]
    [InlineData(0.001)]
    [InlineData(0.0001)]
    [InlineData(1e-300)]
    public void CheckSize_CentralFractionKeepingLessThanAPixel_RefusesNamingTheSmallestFraction(double fraction)
    {
        var transform = new ImageTransform(64, fraction);

        var ex = Assert.Throws<ArgumentException>(() => transform.CheckSize(64, 64, "scene.png"));

        Assert.Contains("cannot transform image scene.png (64 x 64): central-fraction", ex.Message, StringComparison.Ordinal);
        Assert.Contains("central-fraction must be at least 0.015625", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckSize_ThinImage_RefusesTheBillionsOfPixelsTheResizeWouldMake()
    {
        var transform = new ImageTransform(448);

        var ex = Assert.Throws<ArgumentException>(() => transform.CheckSize(1, 30000, "thin.png"));

        Assert.Contains("resized to 448 x 13440000 for image-size 448 and central-fraction 1, it would have 6,021,120,000 pixels", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckSize_SmallFractionOfALargeImage_IsAcceptedAtTheEdgeOfOnePixel()
    {
        var transform = new ImageTransform(32, 1.0 / 64);

        transform.CheckSize(64, 64, "scene.png");
        Assert.Throws<ArgumentException>(() => transform.CheckSize(63, 64, "scene.png"));
    }

    [Fact]
    public void Load_WholePngWithAnUnknownFilterType_PassesInspectAndFailsWhenDecodedNamingTheFile()
    {
        using var folder = new TempFolder();
        var path = Path.Combine(folder.Path, "undecodable.png");
        TestImages.PngThatDoesNotDecode(path);

        Assert.Equal(64 * 64, ImageFiles.Inspect(path).Pixels);
        var ex = Assert.Throws<ArgumentException>(() => new ImageTransform(32).Load(path));

        Assert.Contains($"cannot read image {path}", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_TruncatedJpeg_NeverDecodesIt()
    {
        using var folder = new TempFolder();
        var path = Path.Combine(folder.Path, "half.jpg");
        var bytes = TestImages.Jpeg(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);

        var ex = Assert.Throws<ArgumentException>(() => new ImageTransform(32).Load(path));

        Assert.Contains("truncated", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(ImageTransform.MaxImageSize + 1)]
    [InlineData(int.MaxValue)]
    public void Constructor_ImageSizeOutOfRange_Throws(int size) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new ImageTransform(size));
}
