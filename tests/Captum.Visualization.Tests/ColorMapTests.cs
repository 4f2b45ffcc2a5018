using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Captum.Visualization.Tests;

public class ColorMapTests
{
    private static ColorMap CustomBlue() =>
        ColorMap.FromList("custom blue", [(0, "#ffffff"), (0.25, "#252b36"), (1, "#000000")], 256);

    [Fact]
    public void FromList_TutorialCustomBlue_EndpointsAreFirstAndLastStops()
    {
        var map = CustomBlue();

        Assert.Equal(256, map.N);
        Assert.Equal("#ffffff", map.Map(0.0).ToHex());
        Assert.Equal("#000000", map.Map(1.0).ToHex());
        Assert.Equal(map[0], map.Under);
        Assert.Equal(map[255], map.Over);
        Assert.Equal(map.Under, map.Map(-3.0));
        Assert.Equal(map.Over, map.Map(7.0));
        Assert.Equal(RgbaColor.Transparent, map.Map(double.NaN));
    }

    [Fact]
    public void FromList_TutorialCustomBlue_EntriesInterpolateLinearlyBetweenStops()
    {
        var map = CustomBlue();
        var white = RgbaColor.Parse("#ffffff");
        var mid = RgbaColor.Parse("#252b36");

        // Entry i sits at i / 255; the middle stop at 0.25 lies between entries 63 and 64.
        foreach (var i in new[] { 1, 30, 63 })
        {
            var t = (i / 255.0) / 0.25;
            Assert.Equal(white.R + (t * (mid.R - white.R)), map[i].R, 12);
            Assert.Equal(white.B + (t * (mid.B - white.B)), map[i].B, 12);
        }

        foreach (var i in new[] { 64, 200, 254 })
        {
            var t = ((i / 255.0) - 0.25) / 0.75;
            Assert.Equal(mid.G * (1 - t), map[i].G, 12);
        }
    }

    [Fact]
    public void Map_ValueTimesN_SelectsFloorEntryAndOneSelectsLast()
    {
        var map = CustomBlue();

        Assert.Equal(map[64], map.Map(0.25));
        Assert.Equal(map[63], map.Map(0.2499));
        Assert.Equal(map[255], map.Map(1.0));
        Assert.Equal(map[128], map.Map(0.0, -1, 1));
    }

    [Property(MaxTest = 200)]
    public Property FromList_AnyTwoColours_MapEndpointsReturnThemExactly() =>
        Prop.ForAll(Colours(), Colours(), Gen.Choose(2, 512).ToArbitrary(), (a, b, n) =>
        {
            var map = ColorMap.FromList("p", [a, b], n);
            return map.Map(0.0) == a && map.Map(1.0) == b && map[0] == a && map[n - 1] == b && map.Map(-1.0) == a && map.Map(2.0) == b;
        });

    [Property(MaxTest = 200)]
    public Property FromList_AnyTwoColours_EntriesStayBetweenEndpoints() =>
        Prop.ForAll(Colours(), Colours(), (a, b) =>
        {
            var map = ColorMap.FromList("p", [a, b]);
            return Enumerable.Range(0, map.N).All(i =>
                Between(map[i].R, a.R, b.R) && Between(map[i].G, a.G, b.G) && Between(map[i].B, a.B, b.B));
        });

    [Fact]
    public void RedWhiteGreen_CaptumDefaultForAll_RunsRedWhiteGreen()
    {
        var map = ColorMap.DefaultFor(VisualizationSign.All);

        Assert.Same(ColorMap.RedWhiteGreen, map);
        Assert.Equal("#ff0000", map.Map(0.0).ToHex());
        Assert.Equal("#008000", map.Map(1.0).ToHex());

        // matplotlib: 0 in [-1, 1] is 0.5, entry 128, just past white toward green.
        var centre = map.Map(0.0, -1, 1).ToPixel();
        Assert.Equal(new PixelRgba(254, 254, 254), centre);
    }

    [Theory]
    [InlineData(VisualizationSign.Positive, "Greens", "#f7fcf5", "#00441b")]
    [InlineData(VisualizationSign.Negative, "Reds", "#fff5f0", "#67000d")]
    [InlineData(VisualizationSign.AbsoluteValue, "Blues", "#f7fbff", "#08306b")]
    public void DefaultFor_SignOtherThanAll_IsMatplotlibColorBrewerMap(VisualizationSign sign, string name, string first, string last)
    {
        var map = ColorMap.DefaultFor(sign);

        Assert.Equal(name, map.Name);
        Assert.Same(map, ColorMap.Get(name));
        Assert.Equal(first, map.Map(0.0).ToHex());
        Assert.Equal(last, map.Map(1.0).ToHex());
    }

    [Fact]
    public void FromList_BadStops_ThrowArgumentExceptionNamingStops()
    {
        Assert.Equal("stops", Assert.Throws<ArgumentException>(() => ColorMap.FromList("x", [(0.1, "red"), (1, "blue")])).ParamName);
        Assert.Equal("stops", Assert.Throws<ArgumentException>(() => ColorMap.FromList("x", [(0, "red"), (0.6, "white"), (0.4, "green"), (1, "blue")])).ParamName);
        Assert.Equal("colors", Assert.Throws<ArgumentException>(() => ColorMap.FromList("x", new[] { "red" })).ParamName);
    }

    [Theory]
    [InlineData("#252b36", 0x25, 0x2b, 0x36, 0xff)]
    [InlineData("#fff", 0xff, 0xff, 0xff, 0xff)]
    [InlineData("#ff000080", 0xff, 0, 0, 0x80)]
    [InlineData("green", 0, 0x80, 0, 0xff)]
    [InlineData("k", 0, 0, 0, 0xff)]
    [InlineData("0.5", 127, 127, 127, 0xff)]
    public void Parse_ColourText_GivesMatplotlibRgba(string text, int r, int g, int b, int a)
    {
        Assert.Equal(new PixelRgba((byte)r, (byte)g, (byte)b, (byte)a), RgbaColor.Parse(text).ToPixel());
    }

    [Fact]
    public void Parse_UnknownColour_ThrowsArgumentException()
    {
        Assert.Equal("text", Assert.Throws<ArgumentException>(() => RgbaColor.Parse("not-a-colour")).ParamName);
    }

    private static Arbitrary<RgbaColor> Colours() =>
        (from r in Gen.Choose(0, 255)
         from g in Gen.Choose(0, 255)
         from b in Gen.Choose(0, 255)
         select new RgbaColor(r / 255.0, g / 255.0, b / 255.0)).ToArbitrary();

    private static bool Between(double v, double a, double b) => v >= Math.Min(a, b) - 1e-12 && v <= Math.Max(a, b) + 1e-12;
}
