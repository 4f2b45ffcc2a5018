using System.Globalization;
using System.Xml.Linq;

namespace Captum.Visualization.Tests;

public class TokenAttributionPlotsTests
{
    private static readonly XNamespace Xhtml = "http://www.w3.org/1999/xhtml";

    private static List<XElement> ByClass(XDocument doc, string cls) =>
        doc.Descendants().Where(e => ((string?)e.Attribute("class"))?.Split(' ').Contains(cls) == true).ToList();

    private static RgbaColor Fill(XElement e) => RgbaColor.Parse((string)e.Attribute("fill")!);

    [Fact]
    public void TokenHeatMap_TwoByThree_DrawsOneCellPerValueWithItsValueToFourDecimals()
    {
        float[,] attr = { { 0.5f, -0.25f, 0f }, { 1f, -1f, 0.125f } };

        var doc = TestImages.ParseXml(TokenAttributionPlots.TokenHeatMap(["a", "b", "c"], ["x", "y"], attr).ToSvg());

        var cells = ByClass(doc, "captum-cell");
        Assert.Equal(6, cells.Count);
        Assert.Equal(["0.5000", "-0.2500", "0.0000", "1.0000", "-1.0000", "0.1250"], ByClass(doc, "captum-cell-value").Select(e => e.Value));
        Assert.Equal(["a", "b", "c"], ByClass(doc, "captum-input-token").Select(e => e.Value));
        Assert.Equal(["x", "y"], ByClass(doc, "captum-output-token").Select(e => e.Value));
        Assert.Single(ByClass(doc, "captum-colorbar"));
    }

    [Fact]
    public void TokenHeatMap_Colours_BlueForPositiveRedForNegativeWhiteForZeroSaturatedAtTheLargestMagnitude()
    {
        float[,] attr = { { 2f, -2f, 0f, 0.5f, -0.5f } };

        var doc = TestImages.ParseXml(TokenAttributionPlots.TokenHeatMap(["a", "b", "c", "d", "e"], ["x"], attr).ToSvg());

        var fills = ByClass(doc, "captum-cell").Select(e => (string)e.Attribute("fill")!).ToList();
        Assert.Equal("#00429d", fills[0]);
        Assert.Equal("#93003a", fills[1]);
        AssertNearlyWhite(RgbaColor.Parse(fills[2]));
        var positive = RgbaColor.Parse(fills[3]);
        var negative = RgbaColor.Parse(fills[4]);
        Assert.True(positive.B > positive.R, fills[3]);
        Assert.True(negative.R > negative.B, fills[4]);

        // Captum's text colour: white on the saturated ends, black in the middle of the scale.
        var textFills = ByClass(doc, "captum-cell-value").Select(e => (string)e.Attribute("fill")!).ToList();
        Assert.Equal(["white", "white", "black", "black", "black"], textFills);
    }

    [Fact]
    public void TokenHeatMap_NaNAndInfinity_GreyNaNCellAndTheScaleSetByTheFiniteValues()
    {
        float[,] attr = { { float.NaN, 1f, -0.5f, float.PositiveInfinity } };

        var doc = TestImages.ParseXml(TokenAttributionPlots.TokenHeatMap(["a", "b", "c", "d"], ["x"], attr).ToSvg());

        var cells = ByClass(doc, "captum-cell");
        Assert.Equal(["NaN", "1.0000", "-0.5000", "inf"], ByClass(doc, "captum-cell-value").Select(e => e.Value));
        Assert.Contains("captum-cell-nan", (string)cells[0].Attribute("class")!);
        var nan = Fill(cells[0]);
        Assert.Equal(nan.R, nan.B, 6);
        Assert.Equal("#00429d", (string)cells[1].Attribute("fill")!);
        Assert.Equal("#00429d", (string)cells[3].Attribute("fill")!);
        Assert.Contains("captum-cell-nan", (string)cells[3].Attribute("class")!);
    }

    [Fact]
    public void TokenHeatMap_AllZero_WhiteCells()
    {
        var doc = TestImages.ParseXml(TokenAttributionPlots.TokenHeatMap(["a", "b"], ["x"], new float[1, 2]).ToSvg());

        Assert.All(ByClass(doc, "captum-cell"), c => AssertNearlyWhite(Fill(c)));
    }

    // 0 sits at 0.5 of the scale, lookup entry 128 of 256: the white stop's neighbour, as matplotlib draws it.
    private static void AssertNearlyWhite(RgbaColor color) => Assert.True(color.R > 0.98 && color.G > 0.98 && color.B > 0.98, color.ToHex());

    [Fact]
    public void TokenHeatMap_MarkupInLabels_EscapedAndReadBackVerbatim()
    {
        string[] inputs = ["<s>", "a & b", "\"q\""];
        var svg = TokenAttributionPlots.TokenHeatMap(inputs, ["</svg>"], new float[,] { { 1, 2, 3 } }, title: "why <b>?").ToSvg();

        var doc = TestImages.ParseXml(svg);
        Assert.Equal(inputs, ByClass(doc, "captum-input-token").Select(e => e.Value));
        Assert.Equal("</svg>", ByClass(doc, "captum-output-token").Single().Value);
        Assert.Equal("why <b>?", ByClass(doc, "captum-title").Single().Value);
        Assert.DoesNotContain("<s>", svg, StringComparison.Ordinal);
    }

    [Fact]
    public void TokenHeatMap_ScoreColumns_OneCellPerRowAndColumnWithTheirHeaders()
    {
        float[,] attr = { { 1f, 2f }, { 3f, 4f }, { 5f, 6f } };
        ScoreColumn[] scores = [new("p", [0.9, 0.5, 0.1], 1.0), new("H", [0.1, 1.2, double.NaN])];

        var doc = TestImages.ParseXml(TokenAttributionPlots.TokenHeatMap(["a", "b"], ["x", "y", "z"], attr, scores).ToSvg());

        Assert.Equal(6, ByClass(doc, "captum-score-cell").Count);
        Assert.Equal(["p", "H"], ByClass(doc, "captum-score-header").Select(e => e.Value));
        Assert.Equal(["0.9000", "0.5000", "0.1000", "0.1000", "1.2000", "NaN"], ByClass(doc, "captum-score-value").Select(e => e.Value));
    }

    [Fact]
    public void TokenHeatMap_LabelsThatDoNotFit_NameTheArgument()
    {
        var attr = new float[2, 3];
        Assert.Equal("inputTokens", Assert.Throws<ArgumentException>(() => TokenAttributionPlots.TokenHeatMap(["a", "b"], ["x", "y"], attr)).ParamName);
        Assert.Equal("outputTokens", Assert.Throws<ArgumentException>(() => TokenAttributionPlots.TokenHeatMap(["a", "b", "c"], ["x"], attr)).ParamName);
        Assert.Equal("attributions", Assert.Throws<ArgumentException>(() => TokenAttributionPlots.TokenHeatMap([], [], new float[0, 0])).ParamName);
        Assert.Equal("scores", Assert.Throws<ArgumentException>(() => TokenAttributionPlots.TokenHeatMap(["a", "b", "c"], ["x", "y"], attr, [new ScoreColumn("p", [1.0])])).ParamName);
    }

    [Fact]
    public void SequenceBarChart_Values_OneBarPerFiniteValueColouredBySignWithHeightsProportional()
    {
        float[] attr = [0.5f, -0.25f, 1f, float.NaN, 0f];

        var doc = TestImages.ParseXml(TokenAttributionPlots.SequenceBarChart(["a", "b", "c", "d", "e"], attr).ToSvg());

        var bars = ByClass(doc, "captum-bar");
        Assert.Equal(4, bars.Count);
        Assert.Equal([0, 1, 2, 4], bars.Select(b => int.Parse((string)b.Attribute("data-index")!, CultureInfo.InvariantCulture)));
        Assert.Equal(3, ByClass(doc, "captum-bar-positive").Count);
        Assert.Single(ByClass(doc, "captum-bar-negative"));
        Assert.Equal(TokenAttributionPlots.PositiveColor, (string)bars[0].Attribute("fill")!);
        Assert.Equal(TokenAttributionPlots.NegativeColor, (string)bars[1].Attribute("fill")!);
        double Height(XElement b) => double.Parse((string)b.Attribute("height")!, CultureInfo.InvariantCulture);
        Assert.Equal(0.5, Height(bars[0]) / Height(bars[2]), 2);
        Assert.Equal(0.25, Height(bars[1]) / Height(bars[2]), 2);
        Assert.Equal(0, Height(bars[3]));

        // The negative bar hangs below the positive ones' base.
        double Y(XElement b) => double.Parse((string)b.Attribute("y")!, CultureInfo.InvariantCulture);
        Assert.Equal(Y(bars[0]) + Height(bars[0]), Y(bars[1]), 1);
        Assert.Equal("NaN", ByClass(doc, "captum-bar-nan").Single().Value);
    }

    [Fact]
    public void SequenceBarChart_ScoreColumns_TableUnderTheBarsWithOneCellPerAnswerTokenAndColumn()
    {
        ScoreColumn[] scores = [new("p", [0.9, 0.25], 1.0), new("H", [0.1, double.NaN])];
        var plain = TokenAttributionPlots.SequenceBarChart(["a", "b", "c"], [1f, -0.5f, 0.25f]);

        var chart = TokenAttributionPlots.SequenceBarChart(["a", "b", "c"], [1f, -0.5f, 0.25f], outputTokens: ["gar", "den <b>"], scores: scores);

        var doc = TestImages.ParseXml(chart.ToSvg());
        var cells = ByClass(doc, "captum-score-cell");
        Assert.Equal(4, cells.Count);
        Assert.Equal(["p", "H"], ByClass(doc, "captum-score-header").Select(e => e.Value));
        Assert.Equal(["0.9000", "0.2500", "0.1000", "NaN"], ByClass(doc, "captum-score-value").Select(e => e.Value));
        Assert.Equal(["gar", "den <b>"], ByClass(doc, "captum-output-token").Select(e => e.Value));
        Assert.Equal(3, ByClass(doc, "captum-bar").Count);

        // Under the bars: every score cell below the lowest bar, inside a chart grown to hold them.
        double Number(XElement e, string name) => double.Parse((string)e.Attribute(name)!, CultureInfo.InvariantCulture);
        var lowestBar = ByClass(doc, "captum-bar").Max(b => Number(b, "y") + Number(b, "height"));
        Assert.All(cells, c => Assert.True(Number(c, "y") > lowestBar, $"score cell at {Number(c, "y")}, a bar reaches {lowestBar}"));
        Assert.True(cells.Max(c => Number(c, "y") + Number(c, "height")) <= chart.PixelHeight);
        Assert.True(chart.PixelHeight >= plain.PixelHeight + (2 * Number(cells[0], "height")));
        Assert.Empty(ByClass(TestImages.ParseXml(plain.ToSvg()), "captum-score-cell"));
    }

    [Fact]
    public void SequenceBarChart_ScoresThatDoNotFitTheOutputTokens_NameTheArgument()
    {
        ScoreColumn[] scores = [new("p", [0.9, 0.25])];

        Assert.Equal("outputTokens", Assert.Throws<ArgumentException>(() => TokenAttributionPlots.SequenceBarChart(["a"], [1f], scores: scores)).ParamName);
        Assert.Equal("scores", Assert.Throws<ArgumentException>(() => TokenAttributionPlots.SequenceBarChart(["a"], [1f], outputTokens: ["x"], scores: scores)).ParamName);
    }

    [Fact]
    public void SequenceBarChart_LabelsThatDoNotFit_NameTheArgument()
    {
        Assert.Equal("inputTokens", Assert.Throws<ArgumentException>(() => TokenAttributionPlots.SequenceBarChart(["a"], [1f, 2f])).ParamName);
        Assert.Equal("attributions", Assert.Throws<ArgumentException>(() => TokenAttributionPlots.SequenceBarChart([], [])).ParamName);
    }

    [Theory]
    [InlineData("short", "short")]
    [InlineData("  a \n  b ", "a b")]
    [InlineData("the quick brown fox jumps over the lazy dog and then some more words", "the quick brown fox jumps over the lazy dog and...")]
    public void Shorten_Label_CollapsesWhitespaceAndKeepsWholeWordsWithinFifty(string label, string expected)
    {
        var shortened = TokenAttributionPlots.Shorten(label);

        Assert.Equal(expected, shortened);
        Assert.True(shortened.Length <= TokenAttributionPlots.MaxLabelLength);
    }

    [Fact]
    public void Shorten_OneWordLongerThanFifty_CutToFit()
    {
        Assert.Equal(new string('x', 47) + "...", TokenAttributionPlots.Shorten(new string('x', 80)));
    }

    [Fact]
    public void HtmlReport_AddFigure_InlinesBothCharts()
    {
        var heat = TokenAttributionPlots.TokenHeatMap(["a"], ["x"], new float[,] { { 1 } });
        var bars = TokenAttributionPlots.SequenceBarChart(["a"], [1f]);

        var doc = TestImages.ParseXml(new HtmlReport("LLM").AddFigure(heat, "tokens").AddFigure(bars, "sequence").ToHtml());

        Assert.Equal(2, doc.Descendants(TestImages.Svg + "svg").Count());
        Assert.Equal(["tokens", "sequence"], doc.Descendants(Xhtml + "figcaption").Select(e => e.Value));
    }
}
