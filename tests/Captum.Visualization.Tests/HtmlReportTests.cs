using System.Xml.Linq;

namespace Captum.Visualization.Tests;

public class HtmlReportTests
{
    private static readonly XNamespace Xhtml = "http://www.w3.org/1999/xhtml";

    [Fact]
    public void ToHtml_TextAndFigure_SelfContainedWellFormedDocument()
    {
        var record = new VisualizationDataRecord([0.4, -0.6, 0.1], 0.93, "yes", "yes", "yes", -0.1, ["is", "it", "<pad>"], 0.001);
        var attr = GoldenVisualization.Instance.Attr;
        var image = TestImages.Random(attr.GetLength(0), attr.GetLength(1), 3, seed: 3, lo: 0, hi: 1);
        var (figure, _) = ImageVisualizer.VisualizeImageAttrMultiple(
            attr, image, [ImageVisualizationMethod.OriginalImage, ImageVisualizationMethod.HeatMap], [VisualizationSign.All, VisualizationSign.All], ["Image", "Attribution"], showColorBar: true);

        var html = new HtmlReport("VQA <report>")
            .AddHeading("Question & answer")
            .AddParagraph("What colour is the ball?")
            .AddText([record])
            .AddFigure(figure, "Integrated gradients")
            .ToHtml();

        Assert.StartsWith("<!DOCTYPE html>", html, StringComparison.Ordinal);
        var doc = TestImages.ParseXml(html);
        Assert.Equal("VQA <report>", doc.Descendants(Xhtml + "title").Single().Value);
        Assert.Equal("Question & answer", doc.Descendants(Xhtml + "h2").Single().Value);
        Assert.Single(doc.Descendants(Xhtml + "table"));
        var svg = doc.Descendants(TestImages.Svg + "svg").Single();
        Assert.Equal(2, svg.Descendants(TestImages.Svg + "image").Count(e => (string?)e.Attribute("class") == "captum-panel-image"));
        Assert.Equal("Integrated gradients", doc.Descendants(Xhtml + "figcaption").Single().Value);
        Assert.DoesNotContain("src=\"http", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Save_Report_WritesTheSameDocument()
    {
        var report = new HtmlReport().AddParagraph("hello");
        var path = Path.Combine(Path.GetTempPath(), $"captum-report-{Guid.NewGuid():N}.html");
        try
        {
            report.Save(path);
            Assert.Equal(report.ToHtml(), File.ReadAllText(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void AddText_EmptyRecords_ThrowsArgumentExceptionNamingRecords()
    {
        var ex = Assert.Throws<ArgumentException>(() => new HtmlReport().AddText([]));
        Assert.Equal("records", ex.ParamName);
    }
}
