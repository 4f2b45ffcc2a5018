using System.Xml.Linq;
using TorchSharp;

namespace Captum.Visualization.Tests;

public class ImageVisualizerTests
{
    private const int H = 9;
    private const int W = 11;

    private static readonly ImageVisualizationMethod[] AllMethods =
    [
        ImageVisualizationMethod.OriginalImage,
        ImageVisualizationMethod.HeatMap,
        ImageVisualizationMethod.BlendedHeatMap,
        ImageVisualizationMethod.MaskedImage,
        ImageVisualizationMethod.AlphaScaling,
    ];

    private static float[,,] Attr() => GoldenVisualization.Instance.Attr;

    private static float[,,] Image01() => TestImages.Random(H, W, 3, seed: 42, lo: 0, hi: 1);

    [Fact]
    public void VisualizeImageAttrMultiple_FiveMethods_SvgWellFormedWithTitlesAndOneDecodablePngPerPanel()
    {
        string[] titles = ["Original", "Heat <all> & more", "Blended", "Masked", "Alpha \"scaled\""];
        VisualizationSign[] signs = [VisualizationSign.All, VisualizationSign.All, VisualizationSign.Positive, VisualizationSign.AbsoluteValue, VisualizationSign.Negative];

        var (figure, panels) = ImageVisualizer.VisualizeImageAttrMultiple(Attr(), Image01(), AllMethods, signs, titles);
        var svg = figure.ToSvg();
        var doc = TestImages.ParseXml(svg);

        Assert.Equal(5, panels.Count);
        Assert.Equal(TestImages.Svg + "svg", doc.Root!.Name);
        Assert.Equal("800", (string?)doc.Root.Attribute("width"));
        Assert.Equal("600", (string?)doc.Root.Attribute("height"));
        Assert.Equal(titles, TestImages.WithClass(doc, "text", "captum-title").Select(e => e.Value).ToArray());
        var images = TestImages.WithClass(doc, "image", "captum-panel-image").ToList();
        Assert.Equal(5, images.Count);
        foreach (var element in images)
        {
            using var png = TestImages.DecodeDataUri((string)element.Attribute(TestImages.XLink + "href")!);
            Assert.Equal(W, png.Width);
            Assert.Equal(H, png.Height);
        }

        Assert.Empty(TestImages.WithClass(doc, "image", "captum-colorbar"));
    }

    [Fact]
    public void VisualizeImageAttrMultiple_ShowColorBar_BarsOnlyUnderHeatMapsWithTickLabels()
    {
        VisualizationSign[] signs = [VisualizationSign.All, VisualizationSign.All, VisualizationSign.Positive, VisualizationSign.AbsoluteValue, VisualizationSign.Negative];

        var (figure, panels) = ImageVisualizer.VisualizeImageAttrMultiple(Attr(), Image01(), AllMethods, signs, showColorBar: true);
        var doc = TestImages.ParseXml(figure.ToSvg());

        Assert.Equal(2, TestImages.WithClass(doc, "image", "captum-colorbar").Count());
        Assert.Null(panels[0].ColorBar);
        Assert.True(panels[0].ReserveColorBarSpace);
        Assert.Equal((-1.0, 1.0), (panels[1].ColorBar!.VMin, panels[1].ColorBar!.VMax));
        Assert.Equal((0.0, 1.0), (panels[2].ColorBar!.VMin, panels[2].ColorBar!.VMax));
        Assert.Equal(0.5, panels[2].ColorBar!.Alpha);
        var ticks = TestImages.WithClass(doc, "text", "captum-colorbar-tick")
            .Select(e => double.Parse(e.Value.Replace('\u2212', '-'), System.Globalization.CultureInfo.InvariantCulture))
            .ToList();
        Assert.Contains(-1.0, ticks);
        Assert.Contains(0.0, ticks);
        Assert.Contains(1.0, ticks);
        Assert.All(ticks, t => Assert.InRange(t, -1.0, 1.0));
    }

    [Theory]
    [InlineData(0, 1, 500, new[] { "0.0", "0.2", "0.4", "0.6", "0.8", "1.0" })]
    [InlineData(-1, 1, 500, new[] { "\u22121.00", "\u22120.75", "\u22120.50", "\u22120.25", "0.00", "0.25", "0.50", "0.75", "1.00" })]
    [InlineData(-1, 1, 200, new[] { "\u22121.0", "\u22120.5", "0.0", "0.5", "1.0" })]
    [InlineData(-1, 1, 60, new[] { "\u22121", "0", "1" })]
    public void Ticks_BarWidth_NiceStepsWhoseLabelsFit(double vmin, double vmax, double width, string[] expected)
    {
        Assert.Equal(expected, VisualizationFigure.Ticks(vmin, vmax, width).Select(t => t.Label).ToArray());
    }

    [Theory]
    [InlineData(8.0)]
    [InlineData(6.0)]
    [InlineData(3.0)]
    public void VisualizeImageAttrMultiple_ColourBarsSideBySide_TickLabelsStayOverTheirBarWithoutOverlapping(double inches)
    {
        ImageVisualizationMethod[] methods = [ImageVisualizationMethod.HeatMap, ImageVisualizationMethod.HeatMap, ImageVisualizationMethod.BlendedHeatMap, ImageVisualizationMethod.HeatMap, ImageVisualizationMethod.HeatMap];
        VisualizationSign[] signs = [VisualizationSign.All, VisualizationSign.All, VisualizationSign.All, VisualizationSign.Positive, VisualizationSign.All];

        var (figure, _) = ImageVisualizer.VisualizeImageAttrMultiple(Attr(), Image01(), methods, signs, figSize: new FigureSize(inches, inches * 0.4), showColorBar: true);
        var doc = TestImages.ParseXml(figure.ToSvg());

        foreach (var panel in doc.Descendants(TestImages.Svg + "g").Where(g => (string?)g.Attribute("class") == "captum-panel"))
        {
            var bar = panel.Elements(TestImages.Svg + "image").Single(e => (string?)e.Attribute("class") == "captum-colorbar");
            var left = Number(bar, "x");
            var right = left + Number(bar, "width");
            var labels = panel.Elements(TestImages.Svg + "text")
                .Where(e => (string?)e.Attribute("class") == "captum-colorbar-tick")
                .Select(e => (Center: Number(e, "x"), Half: e.Value.Length * Number(e, "font-size") * 0.62 / 2))
                .OrderBy(l => l.Center)
                .ToList();

            Assert.NotEmpty(labels);
            Assert.All(labels, l => Assert.InRange(l.Center - l.Half, left - 0.01, right + 0.01));
            Assert.All(labels.Zip(labels.Skip(1)), p => Assert.True(p.First.Center + p.First.Half < p.Second.Center - p.Second.Half, $"tick labels overlap at {inches} in"));
        }

        static double Number(System.Xml.Linq.XElement e, string name) => double.Parse((string)e.Attribute(name)!, System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public void VisualizeImageAttr_Defaults_OneSixBySixPanelHeatMapOfAbsoluteValuesInBlues()
    {
        var (figure, panel) = ImageVisualizer.VisualizeImageAttr(Attr());

        Assert.Single(figure.Panels);
        Assert.Same(figure, panel.Figure);
        Assert.Equal(new FigureSize(6, 6), figure.Size);
        var norm = AttributionNormalization.NormalizeAttr(Attr(), VisualizationSign.AbsoluteValue, 2);
        for (var y = 0; y < H; y++)
        {
            for (var x = 0; x < W; x++)
            {
                Assert.Equal(ColorMap.Blues.Map(norm[y, x]).ToPixel(), panel.Image![x, y]);
            }
        }
    }

    [Fact]
    public void VisualizeImageAttr_ExistingPanel_DrawsIntoItAndReturnsItsFigure()
    {
        var figure = VisualizationFigure.Subplots(2);

        var (returned, panel) = ImageVisualizer.VisualizeImageAttr(Attr(), Image01(), ImageVisualizationMethod.BlendedHeatMap, VisualizationSign.All, figure.Panels[1], title: "second");

        Assert.Same(figure, returned);
        Assert.Same(figure.Panels[1], panel);
        Assert.Null(figure.Panels[0].Image);
        Assert.Equal("second", panel.Title);
        var doc = TestImages.ParseXml(figure.ToSvg());
        Assert.Single(TestImages.WithClass(doc, "image", "captum-panel-image"));
    }

    [Fact]
    public void HeatMap_SingleHotPixel_DrawnAtItsRowAndColumn()
    {
        var attr = new float[4, 6, 1];
        attr[1, 4, 0] = 5f;

        var image = ImageVisualizer.RenderImageAttr(attr, method: ImageVisualizationMethod.HeatMap, sign: VisualizationSign.Positive);

        Assert.Equal(6, image.Width);
        Assert.Equal(4, image.Height);
        Assert.Equal(ColorMap.Greens[255].ToPixel(), image[4, 1]);
        Assert.Equal(ColorMap.Greens[0].ToPixel(), image[0, 0]);
    }

    [Theory]
    [InlineData(VisualizationSign.All, 0.5)]
    [InlineData(VisualizationSign.Positive, 0.5)]
    [InlineData(VisualizationSign.AbsoluteValue, 0.25)]
    [InlineData(VisualizationSign.Negative, 1.0)]
    [InlineData(VisualizationSign.All, 0.0)]
    public void BlendedHeatMap_ZeroAttribution_IsGreyOriginalBlendedWithMapColourAtZero(VisualizationSign sign, double alpha)
    {
        var original = Image01();

        var image = ImageVisualizer.RenderImageAttr(new float[H, W, 3], original, ImageVisualizationMethod.BlendedHeatMap, sign, alphaOverlay: alpha);

        // Documented rule: grey = channel mean of the image as 0..255 ints, scaled min -> 0, max -> 255 through "gray"
        // (entry floor(x * 256)); the zero attribution normalises to 0, coloured cmap(0) with vmin/vmax of the sign;
        // out = round(alpha * colour + (1 - alpha) * grey).
        var grey = ExpectedGrey(original);
        var (vmin, vmax) = ImageVisualizer.HeatMapRange(sign);
        var zero = ColorMap.DefaultFor(sign).Map(0.0, vmin, vmax).ToPixel();
        for (var y = 0; y < H; y++)
        {
            for (var x = 0; x < W; x++)
            {
                var g = grey[y, x];
                var expected = new PixelRgba(Mix(zero.R, g, alpha), Mix(zero.G, g, alpha), Mix(zero.B, g, alpha));
                Assert.Equal(expected, image[x, y]);
            }
        }
    }

    [Fact]
    public void BlendedHeatMap_AlphaZero_IsExactlyTheGreyOriginal()
    {
        var original = Image01();

        var image = ImageVisualizer.RenderImageAttr(Attr(), original, ImageVisualizationMethod.BlendedHeatMap, VisualizationSign.All, alphaOverlay: 0);

        var grey = ExpectedGrey(original);
        for (var y = 0; y < H; y++)
        {
            for (var x = 0; x < W; x++)
            {
                Assert.Equal(new PixelRgba(grey[y, x], grey[y, x], grey[y, x]), image[x, y]);
            }
        }
    }

    [Fact]
    public void OriginalImage_UnitRangeImage_ScaledBy255AndTruncated()
    {
        var original = new float[1, 2, 3] { { { 0.5f, 1f, 0f }, { 0.999f, 0.1f, 0.2f } } };

        var image = ImageVisualizer.RenderImageAttr(new float[1, 2, 1], original, ImageVisualizationMethod.OriginalImage);

        Assert.Equal(new PixelRgba(127, 255, 0), image[0, 0]);
        Assert.Equal(new PixelRgba(254, 25, 51), image[1, 0]);
    }

    [Fact]
    public void OriginalImage_ByteRangeImage_UsedAsGiven()
    {
        var original = new float[1, 1, 3] { { { 200.7f, 3f, 300f } } };

        var image = ImageVisualizer.RenderImageAttr(new float[1, 1, 1], original, ImageVisualizationMethod.OriginalImage);

        Assert.Equal(new PixelRgba(200, 3, 255), image[0, 0]);
    }

    [Fact]
    public void MaskedImage_PositiveSign_ImageTimesNormalisedAttribution()
    {
        var original = new float[1, 2, 3] { { { 1f, 1f, 1f }, { 1f, 0.5f, 0f } } };
        var attr = new float[1, 2, 1] { { { 2f }, { 1f } } };

        var image = ImageVisualizer.RenderImageAttr(attr, original, ImageVisualizationMethod.MaskedImage, VisualizationSign.Positive, outlierPerc: 0);

        // Threshold 2: norm = 1 and 0.5; image as ints 255, 127, 0.
        Assert.Equal(new PixelRgba(255, 255, 255), image[0, 0]);
        Assert.Equal(new PixelRgba(127, 63, 0), image[1, 0]);
    }

    [Fact]
    public void AlphaScaling_AbsoluteValue_AlphaIsNormalisedAttributionTimes255()
    {
        var original = new float[1, 2, 3] { { { 1f, 0f, 0f }, { 0f, 0f, 1f } } };
        var attr = new float[1, 2, 1] { { { -4f }, { 1f } } };

        var image = ImageVisualizer.RenderImageAttr(attr, original, ImageVisualizationMethod.AlphaScaling, VisualizationSign.AbsoluteValue, outlierPerc: 0);

        Assert.Equal(new PixelRgba(255, 0, 0, 255), image[0, 0]);
        Assert.Equal(new PixelRgba(0, 0, 255, 63), image[1, 0]);
    }

    [Fact]
    public void HeatMap_CustomColorMap_UsedInsteadOfDefault()
    {
        var custom = ColorMap.FromList("custom blue", [(0, "#ffffff"), (0.25, "#252b36"), (1, "#000000")]);

        var image = ImageVisualizer.RenderImageAttr(Attr(), method: ImageVisualizationMethod.HeatMap, sign: VisualizationSign.Positive, cmap: custom);

        var norm = AttributionNormalization.NormalizeAttr(Attr(), VisualizationSign.Positive);
        Assert.Equal(custom.Map(norm[0, 1]).ToPixel(), image[1, 0]);
        Assert.Equal(custom[0].ToPixel(), image[0, 0]);
    }

    [Fact]
    public void TensorOverload_ChwTensor_SameFigureAsHwcArray()
    {
        var attr = Attr();
        var original = Image01();
        using var attrChw = torch.tensor(attr.Cast<float>().ToArray(), [H, W, 3]).permute(2, 0, 1).contiguous();
        using var imageChw = torch.tensor(original.Cast<float>().ToArray(), [H, W, 3]).permute(2, 0, 1).unsqueeze(0).contiguous();
        ImageVisualizationMethod[] methods = [ImageVisualizationMethod.HeatMap, ImageVisualizationMethod.BlendedHeatMap];
        VisualizationSign[] signs = [VisualizationSign.All, VisualizationSign.Positive];

        var fromArrays = ImageVisualizer.VisualizeImageAttrMultiple(attr, original, methods, signs).Figure.ToSvg();
        var fromTensors = ImageVisualizer.VisualizeImageAttrMultiple(attrChw, imageChw, TensorImageLayout.Chw, methods, signs).Figure.ToSvg();

        Assert.Equal(fromArrays, fromTensors);
    }

    [Fact]
    public void TensorImages_HwcAndChw_GiveTheSameArray()
    {
        var data = Enumerable.Range(0, 24).Select(i => (float)i).ToArray();
        using var hwc = torch.tensor(data, [2, 4, 3]);
        using var chw = hwc.permute(2, 0, 1);

        var a = TensorImages.ToHwcArray(hwc, TensorImageLayout.Hwc);
        var b = TensorImages.ToHwcArray(chw, TensorImageLayout.Chw);

        Assert.Equal(data, a.Cast<float>().ToArray());
        Assert.Equal(data, b.Cast<float>().ToArray());
    }

    [Fact]
    public void TensorOverload_BatchOfTwo_ThrowsArgumentExceptionNamingAttr()
    {
        using var t = torch.zeros(2, 3, 4, 4);

        var ex = Assert.Throws<ArgumentException>(() => ImageVisualizer.VisualizeImageAttr(t, null, TensorImageLayout.Chw));
        Assert.Equal("attr", ex.ParamName);
    }

    [Fact]
    public void VisualizeImageAttr_ImageShapeMismatch_ThrowsArgumentExceptionNamingOriginalImage()
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            ImageVisualizer.VisualizeImageAttr(Attr(), new float[H, W + 1, 3], ImageVisualizationMethod.BlendedHeatMap, VisualizationSign.All));
        Assert.Equal("originalImage", ex.ParamName);
    }

    [Fact]
    public void VisualizeImageAttr_ImageWithFourChannels_ThrowsArgumentExceptionNamingOriginalImage()
    {
        var ex = Assert.Throws<ArgumentException>(() => ImageVisualizer.VisualizeImageAttr(Attr(), new float[H, W, 4]));
        Assert.Equal("originalImage", ex.ParamName);
    }

    [Theory]
    [InlineData(ImageVisualizationMethod.BlendedHeatMap)]
    [InlineData(ImageVisualizationMethod.OriginalImage)]
    [InlineData(ImageVisualizationMethod.MaskedImage)]
    [InlineData(ImageVisualizationMethod.AlphaScaling)]
    public void VisualizeImageAttr_MethodNeedingImageWithoutOne_ThrowsArgumentNullExceptionNamingOriginalImage(ImageVisualizationMethod method)
    {
        var ex = Assert.Throws<ArgumentNullException>(() => ImageVisualizer.VisualizeImageAttr(Attr(), null, method, VisualizationSign.Positive));
        Assert.Equal("originalImage", ex.ParamName);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(100)]
    [InlineData(250)]
    public void VisualizeImageAttr_OutlierPercOutsideRange_ThrowsArgumentExceptionNamingOutlierPerc(double outlier)
    {
        var ex = Assert.ThrowsAny<ArgumentException>(() => ImageVisualizer.VisualizeImageAttr(Attr(), outlierPerc: outlier));
        Assert.Equal("outlierPerc", ex.ParamName);
    }

    [Theory]
    [InlineData(ImageVisualizationMethod.MaskedImage)]
    [InlineData(ImageVisualizationMethod.AlphaScaling)]
    public void VisualizeImageAttr_SignAllWithMaskOrAlpha_ThrowsArgumentExceptionNamingSign(ImageVisualizationMethod method)
    {
        var ex = Assert.Throws<ArgumentException>(() => ImageVisualizer.VisualizeImageAttr(Attr(), Image01(), method, VisualizationSign.All));
        Assert.Equal("sign", ex.ParamName);
    }

    [Fact]
    public void VisualizeImageAttr_AlphaOverlayAboveOne_ThrowsArgumentExceptionNamingAlphaOverlay()
    {
        var ex = Assert.ThrowsAny<ArgumentException>(() =>
            ImageVisualizer.VisualizeImageAttr(Attr(), Image01(), ImageVisualizationMethod.BlendedHeatMap, VisualizationSign.All, alphaOverlay: 1.5));
        Assert.Equal("alphaOverlay", ex.ParamName);
    }

    [Fact]
    public void VisualizeImageAttr_EmptyAttribution_ThrowsArgumentExceptionNamingAttr()
    {
        var ex = Assert.Throws<ArgumentException>(() => ImageVisualizer.VisualizeImageAttr(new float[0, 4, 3]));
        Assert.Equal("attr", ex.ParamName);
    }

    [Fact]
    public void VisualizeImageAttrMultiple_LengthMismatches_ThrowArgumentExceptionNamingTheList()
    {
        ImageVisualizationMethod[] methods = [ImageVisualizationMethod.HeatMap, ImageVisualizationMethod.HeatMap];

        Assert.Equal("signs", Assert.Throws<ArgumentException>(() =>
            ImageVisualizer.VisualizeImageAttrMultiple(Attr(), null, methods, [VisualizationSign.All])).ParamName);
        Assert.Equal("titles", Assert.Throws<ArgumentException>(() =>
            ImageVisualizer.VisualizeImageAttrMultiple(Attr(), null, methods, [VisualizationSign.All, VisualizationSign.Positive], ["one"])).ParamName);
        Assert.Equal("methods", Assert.Throws<ArgumentException>(() =>
            ImageVisualizer.VisualizeImageAttrMultiple(Attr(), null, [], [])).ParamName);
    }

    [Fact]
    public void VisualizeImageAttrMultiple_ShapeMismatch_ThrowsArgumentExceptionNamingOriginalImage()
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            ImageVisualizer.VisualizeImageAttrMultiple(Attr(), new float[W, H, 3], [ImageVisualizationMethod.OriginalImage], [VisualizationSign.All]));
        Assert.Equal("originalImage", ex.ParamName);
    }

    private static byte Mix(byte colour, byte grey, double alpha) =>
        (byte)Math.Round((alpha * colour) + ((1 - alpha) * grey), MidpointRounding.AwayFromZero);

    private static byte[,] ExpectedGrey(float[,,] original01)
    {
        int h = original01.GetLength(0), w = original01.GetLength(1);
        var mean = new double[h, w];
        for (var y = 0; y < h; y++)
        {
            for (var x = 0; x < w; x++)
            {
                var sum = 0.0;
                for (var k = 0; k < 3; k++)
                {
                    sum += Math.Clamp((int)(original01[y, x, k] * 255f), 0, 255);
                }

                mean[y, x] = sum / 3;
            }
        }

        var values = mean.Cast<double>().ToArray();
        double min = values.Min(), max = values.Max();
        var grey = new byte[h, w];
        for (var y = 0; y < h; y++)
        {
            for (var x = 0; x < w; x++)
            {
                var t = (mean[y, x] - min) / (max - min);
                grey[y, x] = (byte)Math.Min(255, (int)Math.Floor(t * 256));
            }
        }

        return grey;
    }

    [Fact]
    public void VisualizeImageAttr_NonFiniteAttributionForTheOriginalImage_DrawsTheImageAndRefusesItForAHeatMap()
    {
        var attr = new float[2, 2, 3];
        attr[0, 1, 2] = float.NaN;
        var image = new float[2, 2, 3];
        image[1, 0, 0] = 0.5f;

        var (_, panel) = ImageVisualizer.VisualizeImageAttr(attr, image, ImageVisualizationMethod.OriginalImage, VisualizationSign.All);
        var ex = Assert.Throws<ArgumentException>(() => ImageVisualizer.VisualizeImageAttr(attr, image, ImageVisualizationMethod.HeatMap, VisualizationSign.All));

        Assert.Equal(127, panel.Image![0, 1].R);
        Assert.Equal(0, panel.Image![1, 1].R);
        Assert.Equal("attr", ex.ParamName);
    }

    [Fact]
    public void VisualizeImageAttr_NonFiniteAttribution_NamesTheParameterOnce()
    {
        var attr = new float[2, 2, 1];
        attr[1, 1, 0] = float.PositiveInfinity;

        var ex = Assert.Throws<ArgumentException>(() => ImageVisualizer.VisualizeImageAttr(attr, sign: VisualizationSign.All));

        // The normaliser's refusal is re-thrown naming the caller's argument: its own " (Parameter 'attr')" must not stay.
        Assert.Equal("The attribution contains NaN or infinite values. (Parameter 'attr')", ex.Message);
    }

    [Fact]
    public void VisualizeImageAttr_OutlierPercOutOfRange_MessageNamesTheCSharpParameter()
    {
        var attr = new float[2, 2, 1];

        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => ImageVisualizer.VisualizeImageAttr(attr, outlierPerc: 100));

        Assert.Equal("outlierPerc", ex.ParamName);
        Assert.StartsWith("outlierPerc must be in [0, 100)", ex.Message, StringComparison.Ordinal);
    }
}
