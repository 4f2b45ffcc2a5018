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
    public void AppendTo_SavedReport_AddsTheTitleAndPartsAtTheEndAndStaysWellFormed()
    {
        var path = Path.Combine(Path.GetTempPath(), $"captum-report-{Guid.NewGuid():N}.html");
        try
        {
            new HtmlReport("VQA").AddParagraph("first").Save(path);

            new HtmlReport("LLM <attribution>").AddParagraph("second").AppendTo(path);
            new HtmlReport("Third").AddHeading("third heading", 3).AppendTo(path);

            var doc = TestImages.ParseXml(File.ReadAllText(path));
            Assert.Equal("VQA", doc.Descendants(Xhtml + "title").Single().Value);
            Assert.Equal(["first", "second"], doc.Descendants(Xhtml + "p").Select(p => p.Value));
            var sections = doc.Descendants(Xhtml + "section").Where(e => (string?)e.Attribute("class") == "captum-appended").ToList();
            Assert.Equal(["LLM <attribution>", "Third"], sections.Select(e => e.Element(Xhtml + "h2")!.Value));
            Assert.Equal("third heading", sections[1].Element(Xhtml + "h3")!.Value);
            // No temporary file left beside it (they are named after it: report.html.PID.GUID.tmp).
            Assert.Equal([path], Directory.GetFiles(Path.GetDirectoryName(path)!, Path.GetFileName(path) + "*"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void AppendTo_FileNotWrittenByHtmlReport_ThrowsNamingPathAndLeavesItUnchanged()
    {
        var path = Path.Combine(Path.GetTempPath(), $"captum-report-{Guid.NewGuid():N}.html");
        try
        {
            const string Foreign = "<html><body><p>mine</p></body></html>";
            File.WriteAllText(path, Foreign);

            var ex = Assert.Throws<ArgumentException>(() => new HtmlReport().AddParagraph("x").AppendTo(path));

            Assert.Equal("path", ex.ParamName);
            Assert.Contains(path, ex.Message, StringComparison.Ordinal);
            Assert.Equal(Foreign, File.ReadAllText(path));
            Assert.Equal("path", Assert.Throws<ArgumentException>(() => HtmlReport.CheckAppendable(path + ".missing")).ParamName);
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
