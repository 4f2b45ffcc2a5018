using System.Runtime.InteropServices;
using Captum.Plugins.Vqa.Tutorial;
using Captum.TestData;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using TorchSharp;
using Xunit;

namespace Captum.Tests.Plugins.Vqa.Tutorial;

/// <summary>
/// The tutorial's image transform against PIL: the fixtures in <c>Fixtures/pil-resize</c> are test images and PIL 9.4's
/// <c>resize(..., Image.BILINEAR)</c> of them at the sizes torchvision's <c>Resize(size)</c> asks for (written once by
/// the <c>generate.py</c> beside them; the tests need no Python).
/// </summary>
public sealed class ImageTransformTests
{
    /// <summary>Source width, height and the Resize size: downscales and upscales, with fractional scale factors, and one no-op.</summary>
    public static TheoryData<int, int, int> Cases { get; } = new()
    {
        { 37, 23, 16 },
        { 37, 23, 40 },
        { 100, 61, 24 },
        { 61, 100, 45 },
        { 9, 200, 7 },
        { 20, 15, 32 },
        { 61, 100, 61 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Resize_PilFixture_EqualsPilBilinearExactly(int width, int height, int size)
    {
        using var source = Load($"src-{width}x{height}.png");
        using var expected = Load($"pil-{width}x{height}-size{size}.png");

        using var actual = ImageTransform.Resize(source, size);

        Assert.Equal((expected.Width, expected.Height), (actual.Width, actual.Height));
        var (e, a) = (Pixels(expected), Pixels(actual));
        var differences = Enumerable.Range(0, e.Length)
            .SelectMany(i => new[] { Math.Abs(e[i].R - a[i].R), Math.Abs(e[i].G - a[i].G), Math.Abs(e[i].B - a[i].B) })
            .ToArray();
        var pixels = Enumerable.Range(0, e.Length).Count(i => !e[i].Equals(a[i]));
        var values = differences.Count(d => d != 0);
        Assert.True(
            values == 0,
            $"{pixels} of {e.Length} pixels ({100.0 * pixels / e.Length:0.0}%) and {values} of {differences.Length} channel values "
            + $"differ from PIL's, by up to {differences.Max()} levels");
    }

    [Fact]
    public void Apply_PilFixture_OriginalIsTheCentreCropOfPilsResizeOverTwoFiftyFive()
    {
        using var scope = torch.NewDisposeScope();
        using var source = Load("src-37x23.png");
        using var resized = Load("pil-37x23-size16.png"); // 25 x 16
        var pil = Pixels(resized);

        var (original, normalized) = new ImageTransform(16).Apply(source);

        Assert.Equal([3L, 16, 16], original.shape);
        Assert.Equal([1L, 3, 16, 16], normalized.shape);
        // torchvision's CenterCrop: left = int(round((25 - 16) / 2)) = 4 (Python rounds half to even), top = 0.
        var expected = new float[3 * 16 * 16];
        for (var y = 0; y < 16; y++)
        {
            for (var x = 0; x < 16; x++)
            {
                var p = pil[(y * 25) + x + 4];
                expected[(y * 16) + x] = p.R / 255f;
                expected[256 + (y * 16) + x] = p.G / 255f;
                expected[512 + (y * 16) + x] = p.B / 255f;
            }
        }

        Assert.Equal(expected, original.data<float>().ToArray());
    }

    private static Image<Rgb24> Load(string name) =>
        Image.Load<Rgb24>(Path.Combine(SharedData.RepositoryRoot(), "tests", "Captum.Tests", "Fixtures", "pil-resize", name));

    private static Rgb24[] Pixels(Image<Rgb24> image)
    {
        var pixels = new Rgb24[image.Width * image.Height];
        image.CopyPixelDataTo(pixels);
        return pixels;
    }
}
