using System.Text.RegularExpressions;
using System.Xml.Linq;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using TorchSharp;

namespace Captum.Visualization.Tests;

public class TextVisualizerTests
{
    private static VisualizationDataRecord Record(string[] words, double[] importances, string predClass = "cat", double predProb = 0.8765) =>
        new(importances, predProb, predClass, "dog", "cat", 1.234567, words, 0.0123);

    [Fact]
    public void GetColor_GoldenImportances_MatchCaptumStringsExactly()
    {
        var golden = GoldenVisualization.Instance;
        for (var i = 0; i < golden.WordImportances.Length; i++)
        {
            Assert.Equal(golden.WordColors[i], TextVisualizer.GetColor(golden.WordImportances[i]));
        }
    }

    [Theory]
    [InlineData(1.0, "hsl(120, 75%, 50%)")]
    [InlineData(2.5, "hsl(120, 75%, 50%)")]
    [InlineData(0.0, "hsl(0, 75%, 100%)")]
    [InlineData(-1.0, "hsl(0, 75%, 60%)")]
    [InlineData(-7.0, "hsl(0, 75%, 60%)")]
    [InlineData(0.019, "hsl(120, 75%, 100%)")]
    [InlineData(double.NaN, "hsl(120, 75%, 50%)")]
    public void GetColor_EdgeValues_FollowCaptumClippingAndTruncation(double attr, string expected)
    {
        Assert.Equal(expected, TextVisualizer.GetColor(attr));
    }

    [Property(MaxTest = 500)]
    public Property GetColor_AnyFiniteImportance_GreenForPositiveRedOtherwiseWithLightnessInRange() =>
        Prop.ForAll(Gen.Choose(-3000000, 3000000).Select(i => i / 1000000.0).ToArbitrary(), attr =>
        {
            var m = Regex.Match(TextVisualizer.GetColor(attr), @"^hsl\((\d+), 75%, (\d+)%\)$");
            if (!m.Success)
            {
                return false;
            }

            var hue = int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            var light = int.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
            return attr > 0 ? hue == 120 && light is >= 50 and <= 100 : hue == 0 && light is >= 60 and <= 100;
        });

    [Fact]
    public void VisualizeText_WordsNeedingEscapes_EachWordEscapedWithItsColour()
    {
        string[] words = ["what", "a&b", "x<y", "\"quoted\"", "<pad>"];
        double[] importances = [0.5, -0.25, 0.9, -1.0, 0.0];

        var html = TextVisualizer.VisualizeText([Record(words, importances)]);

        string[] shown = ["what", "a&amp;b", "x&lt;y", "&quot;quoted&quot;", "#pad"];
        for (var i = 0; i < words.Length; i++)
        {
            var expected = $"<mark style=\"background-color: {TextVisualizer.GetColor(importances[i])}; opacity:1.0; line-height:1.75\"><span style=\"color: black\"> {shown[i]}</span></mark>";
            Assert.Contains(expected, html, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("x<y", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<pad>", html, StringComparison.Ordinal);
    }

    [Fact]
    public void VisualizeText_AnyRecords_IsWellFormedXmlWithCaptumHeadersAndOneRowPerRecord()
    {
        var records = new[]
        {
            Record(["a", "b"], [0.1, -0.2]),
            Record(["c"], [0.3, 0.4, 0.5]),
            Record(["d"], []),
        };

        var doc = TestImages.ParseXml(TextVisualizer.VisualizeText(records));

        var table = Assert.Single(doc.Descendants("table"));
        var rows = table.Elements("tr").ToList();
        Assert.Equal(4, rows.Count);
        Assert.Equal(
            ["True Label", "Predicted Label", "Attribution Label", "Attribution Score", "Word Importance"],
            rows[0].Elements("th").Select(e => e.Value).ToArray());
        Assert.All(rows.Skip(1), r => Assert.Equal(5, r.Elements("td").Count()));
        Assert.Empty(rows[3].Elements("td").Last().Elements());
    }

    [Fact]
    public void VisualizeText_Labels_FormattedAsCaptumWithTwoDecimals()
    {
        var html = TextVisualizer.VisualizeText([Record(["w"], [0.1], predClass: "yes", predProb: 0.8765)]);

        var cells = TestImages.ParseXml(html).Descendants("tr").Skip(1).Single().Elements("td").Select(e => e.Value).ToArray();
        Assert.Equal("dog", cells[0]);
        Assert.Equal("yes (0.88)", cells[1]);
        Assert.Equal("cat", cells[2]);
        Assert.Equal("1.23", cells[3]);
    }

    [Fact]
    public void VisualizeText_UnknownPredictedProbability_ShowsThePredictedClassAlone()
    {
        var html = TextVisualizer.VisualizeText([Record(["w"], [0.1], predClass: "yes", predProb: double.NaN)]);

        var cells = TestImages.ParseXml(html).Descendants("tr").Skip(1).Single().Elements("td").Select(e => e.Value).ToArray();
        Assert.Equal("yes", cells[1]);
        Assert.DoesNotContain("NaN", html, StringComparison.Ordinal);
    }

    [Fact]
    public void VisualizeText_LabelsWithMarkup_Escaped()
    {
        var record = new VisualizationDataRecord([0.1], 0.5, "<b>x</b>", "a & b", "<i>", 0, ["w"], 0);

        var html = TextVisualizer.VisualizeText([record]);

        Assert.Contains("&lt;b&gt;x&lt;/b&gt; (0.50)", html, StringComparison.Ordinal);
        Assert.Contains("a &amp; b", html, StringComparison.Ordinal);
        Assert.Contains("&lt;i&gt;", html, StringComparison.Ordinal);
    }

    [Fact]
    public void VisualizeText_LegendOn_HasThreeSwatchesWithCaptumColours()
    {
        var html = TextVisualizer.VisualizeText([Record(["w"], [0.1])], legend: true);

        Assert.Contains("<b>Legend: </b>", html, StringComparison.Ordinal);
        Assert.Contains("background-color: hsl(0, 75%, 60%)\"></span> Negative", html, StringComparison.Ordinal);
        Assert.Contains("background-color: hsl(0, 75%, 100%)\"></span> Neutral", html, StringComparison.Ordinal);
        Assert.Contains("background-color: hsl(120, 75%, 50%)\"></span> Positive", html, StringComparison.Ordinal);
    }

    [Fact]
    public void VisualizeText_LegendOff_HasNoLegend()
    {
        var html = TextVisualizer.VisualizeText([Record(["w"], [0.1])], legend: false);

        Assert.DoesNotContain("Legend", html, StringComparison.Ordinal);
    }

    [Fact]
    public void VisualizeText_EmptyRecords_ThrowsArgumentExceptionNamingRecords()
    {
        var ex = Assert.Throws<ArgumentException>(() => TextVisualizer.VisualizeText([]));
        Assert.Equal("records", ex.ParamName);
    }

    [Fact]
    public void VisualizeText_MoreWordsThanImportances_ThrowsArgumentExceptionNamingRecords()
    {
        var ex = Assert.Throws<ArgumentException>(() => TextVisualizer.VisualizeText([Record(["a", "b", "c"], [0.1, 0.2])]));
        Assert.Equal("records", ex.ParamName);
    }

    [Theory]
    [InlineData("<pad>", "#pad")]
    [InlineData("<<s>>", "#s")]
    [InlineData("<unk", "<unk")]
    [InlineData("word", "word")]
    public void FormatSpecialToken_Token_FormattedAsCaptum(string token, string expected)
    {
        Assert.Equal(expected, TextVisualizer.FormatSpecialToken(token));
    }

    [Fact]
    public void FromTensor_WordAttributionTensor_CopiesValuesInOrder()
    {
        using var t = torch.tensor(new float[] { 0.25f, -0.5f, 1f });

        var record = VisualizationDataRecord.FromTensor(t, 0.9, "a", "b", "c", 0.75, ["x", "y", "z"], 0.01);

        Assert.Equal([0.25, -0.5, 1.0], record.WordAttributions);
        Assert.Equal(0.01, record.ConvergenceScore);
        Assert.Contains("hsl(0, 75%, 80%)", TextVisualizer.VisualizeText([record]), StringComparison.Ordinal);
    }
}
