using System.Diagnostics;
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
            // No temporary file left beside it (they are named after it: report.html.PID.GUID.tmp); only the empty lock file.
            Assert.Equal([path, HtmlReport.LockFile(path)], Directory.GetFiles(Path.GetDirectoryName(path)!, Path.GetFileName(path) + "*").Order());
            Assert.Equal(0, new FileInfo(HtmlReport.LockFile(path)).Length);
        }
        finally
        {
            File.Delete(path);
            File.Delete(HtmlReport.LockFile(path));
        }
    }

    /// <summary>One thread per writer, started together, each appending <paramref name="eachAppends"/> sections titled "NAME append i" to its path.</summary>
    private static void AppendAtOnce(IReadOnlyList<(string Path, string Name)> writers, int eachAppends)
    {
        using var start = new Barrier(writers.Count);
        var threads = writers.Select(writer => new Thread(() =>
        {
            start.SignalAndWait();
            for (var i = 0; i < eachAppends; i++)
            {
                new HtmlReport($"{writer.Name} append {i}").AddParagraph(new string('x', 20_000)).AppendTo(writer.Path);
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
    }

    /// <summary>Runs <paramref name="test"/> on a saved report, report.html alone in a new temporary folder, deleted after.</summary>
    private static void WithSavedReport(Action<string> test)
    {
        var folder = Directory.CreateTempSubdirectory("captum-report-");
        try
        {
            var path = Path.Combine(folder.FullName, "report.html");
            new HtmlReport("Shared").AddParagraph("first").Save(path);
            test(path);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public void AppendTo_ManyThreadsAtOnce_KeepsEverySection() => WithSavedReport(path =>
    {
        const int Threads = 16;
        const int EachAppends = 4;
        AppendAtOnce(Enumerable.Range(0, Threads).Select(t => (path, $"thread {t}")).ToList(), EachAppends);

        var doc = TestImages.ParseXml(File.ReadAllText(path));
        var titles = doc.Descendants(Xhtml + "section").Select(e => e.Element(Xhtml + "h2")!.Value).ToList();
        var expected = from t in Enumerable.Range(0, Threads) from i in Enumerable.Range(0, EachAppends) select $"thread {t} append {i}";
        Assert.Equal(expected.Order(), titles.Order());
        // Each thread's sections in the order it added them.
        Assert.All(Enumerable.Range(0, Threads), t => Assert.Equal(
            Enumerable.Range(0, EachAppends).Select(i => $"thread {t} append {i}"),
            titles.Where(title => title.StartsWith($"thread {t} ", StringComparison.Ordinal))));
        Assert.Equal(["report.html", "report.html.lock"], Directory.GetFiles(Path.GetDirectoryName(path)!).Select(f => Path.GetFileName(f)).Order());
    });

    [Fact]
    public void AppendTo_ThroughASymbolicLinkAndTheRealPathAtOnce_KeepsEverySectionAndTheLink() => WithSavedReport(path =>
    {
        var link = Path.Combine(Path.GetDirectoryName(path)!, "link.html");
        File.CreateSymbolicLink(link, path);
        const int EachAppends = 8;
        AppendAtOnce([(path, "report.html"), (link, "link.html")], EachAppends);

        Assert.Equal(path, new FileInfo(link).LinkTarget);
        var doc = TestImages.ParseXml(File.ReadAllText(path));
        Assert.Equal(2 * EachAppends, doc.Descendants(Xhtml + "section").Count());
        Assert.Equal(["link.html", "report.html", "report.html.lock"], Directory.GetFiles(Path.GetDirectoryName(path)!).Select(f => Path.GetFileName(f)).Order());
    });

    [Fact]
    public void AppendTo_LockHeldByAnotherProcess_WaitsUntilItIsReleased() => WithSavedReport(path =>
    {
        // flock(1) takes the same flock(2) lock as .NET and, just before it lets go, counts the sections added.
        var start = new ProcessStartInfo("flock") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in (string[])["--exclusive", HtmlReport.LockFile(path), "sh", "-c", "echo held; sleep 1; grep -c captum-appended \"$0\" || true", path])
        {
            start.ArgumentList.Add(argument);
        }

        using var holder = Process.Start(start)!;
        Assert.Equal("held", holder.StandardOutput.ReadLine());

        new HtmlReport("Added").AddParagraph("second").AppendTo(path);

        Assert.True(holder.WaitForExit(TimeSpan.FromSeconds(30)));
        Assert.Equal("0", holder.StandardOutput.ReadToEnd().Trim());
        Assert.Contains("<h2>Added</h2>", File.ReadAllText(path), StringComparison.Ordinal);
    });

    [Fact]
    public void AppendTo_LockHeldLongerThanTheWait_ThrowsIOExceptionNamingTheReportAndLeavesItUnchanged() => WithSavedReport(path =>
    {
        var before = File.ReadAllText(path);
        var watch = Stopwatch.StartNew();
        IOException ex;
        using (new FileStream(HtmlReport.LockFile(path), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
        {
            ex = Assert.Throws<IOException>(() => new HtmlReport("Added").AddParagraph("second").AppendTo(path, TimeSpan.FromMilliseconds(300)));
        }

        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(300), $"gave up after {watch.Elapsed}");
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains(HtmlReport.LockFile(path), ex.Message, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllText(path));

        // Released, the lock file left behind holds nothing.
        new HtmlReport("Added").AddParagraph("second").AppendTo(path, TimeSpan.Zero);
        Assert.Contains("<h2>Added</h2>", File.ReadAllText(path), StringComparison.Ordinal);
    });

    [Fact]
    public void AppendTo_LockFileThatCannotBeOpened_ThrowsIOExceptionNamingItAtOnceAndLeavesTheReportUnchanged() => WithSavedReport(path =>
    {
        // A folder where the lock file goes fails for root too (no permission is involved); no waiting would clear it.
        var before = File.ReadAllText(path);
        Directory.CreateDirectory(HtmlReport.LockFile(path));
        var watch = Stopwatch.StartNew();

        var ex = Assert.Throws<IOException>(() => new HtmlReport("Added").AddParagraph("second").AppendTo(path, TimeSpan.FromSeconds(30)));

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"waited {watch.Elapsed} for a lock no one holds");
        Assert.StartsWith($"{path}: its lock file {HtmlReport.LockFile(path)} cannot be opened (", ex.Message, StringComparison.Ordinal);
        Assert.Contains("no other program holds it", ex.Message, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllText(path));
    });

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
            Assert.False(File.Exists(HtmlReport.LockFile(path)), "a lock file was made beside a file that is no report");
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
