using System.Text;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace Captum.Visualization.Tests;

/// <summary>An image's header read without decoding it: the one check of Insights' uploads and the VQA plugin's image files.</summary>
public sealed class ImageHeadersTests
{
    [Fact]
    public void Read_Png_GivesItsFormatAndSizeNamedAsGiven()
    {
        using var image = new Image<Rgb24>(7, 5);
        using var png = new MemoryStream();
        image.SaveAsPng(png);
        png.Position = 0;

        var info = ImageHeaders.Read(png, "scene.png", out var format);

        Assert.Equal(new ImageFileInfo("scene.png", "PNG", 7, 5), info);
        Assert.Same(PngFormat.Instance, format);
        Assert.Equal(35, info.Pixels);
    }

    [Fact]
    public void Read_Text_RefusesNamingTheImageAndTheFormatsRead()
    {
        using var text = new MemoryStream(Encoding.UTF8.GetBytes("hello, I am text"));

        var ex = Assert.Throws<ArgumentException>(() => ImageHeaders.Read(text, "notes.txt", out _));

        Assert.Equal("path", ex.ParamName);
        Assert.StartsWith("cannot read image notes.txt: not an image in a format ImageSharp reads (PNG, JPEG, GIF, BMP, TIFF, WebP, TGA, PBM)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_PngHeaderCutShort_RefusesNamingTheImage()
    {
        using var image = new Image<Rgb24>(7, 5);
        using var png = new MemoryStream();
        image.SaveAsPng(png);
        using var cut = new MemoryStream(png.ToArray()[..20]);

        var ex = Assert.Throws<ArgumentException>(() => ImageHeaders.Read(cut, "cut.png", out _));

        Assert.StartsWith("cannot read image cut.png: ", ex.Message, StringComparison.Ordinal);
    }
}
