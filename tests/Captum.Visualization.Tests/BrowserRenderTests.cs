using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Captum.Visualization.Tests;

/// <summary>
/// Renders an <see cref="HtmlReport"/> in a real headless browser (Debian's chromium) and checks that it displayed:
/// a screenshot that shows the heat map's and the text table's colours, and a DOM check in the page itself that every
/// embedded PNG decodes and that the table and the SVG figure are laid out with a non-zero size.
/// </summary>
/// <remarks>
/// Chromium is required, not optional: when it is missing the test fails and says to run scripts/setup.sh, which
/// installs it on Debian. Every chromium run has a timeout after which its whole process tree is killed.
/// </remarks>
public sealed partial class BrowserRenderTests
{
    private const string PngDataPrefix = "data:image/png;base64,";
    private const int ChannelTolerance = 8;
    private static readonly TimeSpan ChromiumTimeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// The page's own check, injected at the end of the body of a copy of the report. While the page is parsed it
    /// loads every embedded image (SVG <c>image</c> hrefs and <c>img</c> srcs) into a new <c>Image()</c>; an image being
    /// fetched delays the document's load event, so at the load event each has loaded or failed. The load handler
    /// then, synchronously, checks each image (no error event, <c>naturalWidth</c> and <c>naturalHeight</c> above 0,
    /// fully decoded by drawing it on a canvas: its non-transparent pixels are counted), checks that the tables, the
    /// SVG figures, their images and the words have a non-zero <c>getBoundingClientRect()</c>, and writes the verdict
    /// into <c>document.title</c>: <c>RENDER-OK images=N tables=N svgs=N</c> or <c>RENDER-FAIL reason</c>. Details go
    /// into body attributes (<c>data-images</c>: <c>WxH:visible</c> an image, in document order).
    /// </summary>
    /// <remarks>
    /// The verdict is written synchronously in the load handler on purpose. <c>--dump-dom</c> dumps after the load
    /// event, but it does not wait for promises: with <c>await img.decode()</c> the DOM was dumped before the verdict
    /// in 9 of 20 runs, even with <c>--virtual-time-budget</c> (virtual time does not wait for the decoder threads).
    /// Drawing on a software canvas decodes on the main thread, and also proves that the pixel data decodes, not
    /// only the header.
    /// </remarks>
    private const string CheckScript = """
        <script>
        (() => {
          const xlink = 'http://www.w3.org/1999/xlink';
          const sources = [];
          for (const el of document.querySelectorAll('svg image')) {
            sources.push(el.getAttribute('href') || el.getAttributeNS(xlink, 'href') || '');
          }
          for (const el of document.querySelectorAll('img')) {
            sources.push(el.getAttribute('src') || '');
          }
          const failedToLoad = new Set();
          const images = sources.map((src, i) => {
            const img = new Image();
            img.onerror = () => failedToLoad.add(i);
            img.src = src;
            return img;
          });
          document.title = 'RENDER-PENDING';
          window.addEventListener('load', () => {
            const fail = reason => { document.title = 'RENDER-FAIL ' + reason; };
            try {
              if (images.length === 0) { fail('no embedded images'); return; }
              const details = [];
              for (let i = 0; i < images.length; i++) {
                const img = images[i];
                if (!sources[i].startsWith('data:image/png;base64,')) { fail('image ' + i + ' is not an embedded PNG'); return; }
                if (failedToLoad.has(i)) { fail('image ' + i + ' does not decode (error event)'); return; }
                if (!img.complete) { fail('image ' + i + ' is still loading at the load event'); return; }
                if (!(img.naturalWidth > 0 && img.naturalHeight > 0)) {
                  fail('image ' + i + ' has natural size ' + img.naturalWidth + 'x' + img.naturalHeight);
                  return;
                }
                const canvas = document.createElement('canvas');
                canvas.width = img.naturalWidth;
                canvas.height = img.naturalHeight;
                const ctx = canvas.getContext('2d', { willReadFrequently: true });
                ctx.drawImage(img, 0, 0);
                const rgba = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
                let visible = 0;
                for (let k = 3; k < rgba.length; k += 4) { if (rgba[k] > 0) { visible++; } }
                if (visible === 0) { fail('image ' + i + ' decoded to no visible pixels'); return; }
                details.push(img.naturalWidth + 'x' + img.naturalHeight + ':' + visible);
              }
              const sized = el => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
              const tables = Array.from(document.querySelectorAll('table'));
              const svgs = Array.from(document.querySelectorAll('svg'));
              const svgImages = Array.from(document.querySelectorAll('svg image'));
              const marks = Array.from(document.querySelectorAll('table mark'));
              if (tables.length === 0) { fail('no table'); return; }
              if (svgs.length === 0) { fail('no svg'); return; }
              for (let i = 0; i < tables.length; i++) { if (!sized(tables[i])) { fail('table ' + i + ' has no size'); return; } }
              for (let i = 0; i < svgs.length; i++) { if (!sized(svgs[i])) { fail('svg ' + i + ' has no size'); return; } }
              for (let i = 0; i < svgImages.length; i++) { if (!sized(svgImages[i])) { fail('svg image ' + i + ' has no size'); return; } }
              for (let i = 0; i < marks.length; i++) { if (!sized(marks[i])) { fail('word ' + i + ' has no size'); return; } }
              document.body.setAttribute('data-images', details.join(' '));
              document.body.setAttribute('data-table-rows', String(tables[0].rows.length));
              document.body.setAttribute('data-marks', String(marks.length));
              document.title = 'RENDER-OK images=' + images.length + ' tables=' + tables.length + ' svgs=' + svgs.length;
            } catch (e) {
              fail('script error: ' + e);
            }
          });
        })();
        </script>
        """;

    private static readonly string[] CommonChromiumArgs =
    [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ];

    [Fact]
    public async Task HtmlReport_InHeadlessChromium_DisplaysTextAndImages()
    {
        var chromium = LocateChromium();
        var sample = BuildSample();
        var html = sample.Report.ToHtml();
        var embedded = EmbeddedImages(html);
        Assert.Equal(5, embedded.Count); // 3 panels + 2 colour bars (the original image has none)

        var dir = CreateTempDirectory();
        try
        {
            var reportPath = Path.Combine(dir, "report.html");
            sample.Report.Save(reportPath);

            // (a) Screenshot: the page is not blank and shows the heat map's and the words' colours.
            var screenshotPath = Path.Combine(dir, "screenshot.png");
            var shot = await RunChromiumAsync(chromium, dir,
                [$"--screenshot={screenshotPath}", "--window-size=1200,1600", "--force-device-scale-factor=1", "--hide-scrollbars", FileUri(reportPath)]);
            Assert.True(shot.ExitCode == 0 && File.Exists(screenshotPath), $"chromium --screenshot failed (exit {shot.ExitCode}).\n{shot.Diagnostics}");
            AssertScreenshotShowsReport(screenshotPath, sample, html);

            // (b) DOM check in the page: every embedded image decodes, the table and the figure have a size.
            var checkPath = Path.Combine(dir, "report-check.html");
            File.WriteAllText(checkPath, InjectCheckScript(html), new UTF8Encoding(false));
            var dom = await RunChromiumAsync(chromium, dir, ["--dump-dom", "--virtual-time-budget=10000", FileUri(checkPath)]);
            Assert.True(dom.ExitCode == 0, $"chromium --dump-dom failed (exit {dom.ExitCode}).\n{dom.Diagnostics}");
            var verdict = Title(dom.Stdout);
            Assert.True(
                verdict == "RENDER-OK images=5 tables=1 svgs=1",
                $"The page's own check says: '{verdict ?? "(no title in the dumped DOM)"}'.\n{dom.Diagnostics}");
            // Each image as the browser decoded it: same size and same number of visible pixels as ImageSharp decodes.
            Assert.Equal(string.Join(' ', embedded), BodyAttribute(dom.Stdout, "data-images"));
            Assert.Equal((sample.Records.Count + 1).ToString(CultureInfo.InvariantCulture), BodyAttribute(dom.Stdout, "data-table-rows"));
            Assert.Equal(sample.Records.Sum(r => r.RawInputIds.Count).ToString(CultureInfo.InvariantCulture), BodyAttribute(dom.Stdout, "data-marks"));
        }
        finally
        {
            DeleteQuietly(dir);
        }
    }

    /// <summary>
    /// The page's check must be able to fail: one embedded PNG cut short after its header, or with bytes replaced in
    /// the middle of its pixel data, makes the page report RENDER-FAIL for that image.
    /// </summary>
    [Theory]
    [InlineData("truncated")]
    [InlineData("overwritten")]
    public async Task HtmlReport_WithCorruptEmbeddedImage_InHeadlessChromium_PageCheckReportsFailure(string corruption)
    {
        var chromium = LocateChromium();
        var html = InjectCheckScript(BuildSample().Report.ToHtml());

        // The second embedded image (the heat map panel).
        var match = DataUriRegex().Matches(html)[1];
        var payload = match.Groups[1].Value;
        var mid = payload.Length / 8 * 4; // on a 4-character base64 boundary
        var broken = corruption switch
        {
            "truncated" => payload[..48], // the PNG signature and IHDR, no pixel data
            "overwritten" => payload[..mid] + new string(payload[mid] == 'A' ? 'B' : 'A', 8) + payload[(mid + 8)..],
            _ => throw new ArgumentOutOfRangeException(nameof(corruption), corruption, null),
        };
        Assert.NotEqual(payload, broken);
        var corrupt = html[..match.Groups[1].Index] + broken + html[(match.Groups[1].Index + payload.Length)..];

        var dir = CreateTempDirectory();
        try
        {
            var checkPath = Path.Combine(dir, "report-corrupt.html");
            File.WriteAllText(checkPath, corrupt, new UTF8Encoding(false));
            var dom = await RunChromiumAsync(chromium, dir, ["--dump-dom", "--virtual-time-budget=10000", FileUri(checkPath)]);
            Assert.True(dom.ExitCode == 0, $"chromium --dump-dom failed (exit {dom.ExitCode}).\n{dom.Diagnostics}");
            var verdict = Title(dom.Stdout);
            Assert.True(
                verdict is not null && verdict.StartsWith("RENDER-FAIL image 1 ", StringComparison.Ordinal),
                $"Expected the page's check to fail on image 1 but it says: '{verdict ?? "(no title)"}'.\n{dom.Diagnostics}");
        }
        finally
        {
            DeleteQuietly(dir);
        }
    }

    private sealed record Sample(HtmlReport Report, IReadOnlyList<VisualizationDataRecord> Records, RgbaImage HeatMap, RgbaImage Blended);

    /// <summary>A report with a text table of three records and a three-panel image figure with colour bars.</summary>
    private static Sample BuildSample()
    {
        const int h = 12, w = 16;
        var attr = new float[h, w, 3];
        var image = new float[h, w, 3];
        for (var y = 0; y < h; y++)
        {
            for (var x = 0; x < w; x++)
            {
                // Negative on the left, positive on the right, growing downwards: strong reds and greens.
                var a = (x - 7.5f) / 7.5f * (y + 1) / h;
                for (var c = 0; c < 3; c++)
                {
                    attr[y, x, c] = a * (1 + (0.1f * c));
                }

                image[y, x, 0] = x / (w - 1f);
                image[y, x, 1] = y / (h - 1f);
                image[y, x, 2] = 0.5f;
            }
        }

        var (figure, panels) = ImageVisualizer.VisualizeImageAttrMultiple(
            attr,
            image,
            [ImageVisualizationMethod.OriginalImage, ImageVisualizationMethod.HeatMap, ImageVisualizationMethod.BlendedHeatMap],
            [VisualizationSign.All, VisualizationSign.All, VisualizationSign.All],
            ["Original", "Heat map", "Blended heat map"],
            showColorBar: true);

        VisualizationDataRecord[] records =
        [
            new([0.9, -0.8, 0.1, 0.5, -0.3], 0.97, "Pos", "Pos", "Pos", 0.4, ["a", "wonderful", "film", "<pad>", "indeed"], 0.002),
            new([-0.7, 0.6, -0.2, 0.8], 0.61, "Neg", "Pos", "Neg", 0.5, ["not", "bad", "at", "all"], 0.01),
            new([0.3, 0.95, -0.5], 0.88, "yes", "yes", "yes", 0.75, ["is", "it", "red?"], 0.0),
        ];

        var report = new HtmlReport("CaptumSharp browser check")
            .AddHeading("Text attributions")
            .AddParagraph("Sentiment & VQA examples <synthetic>.")
            .AddText(records)
            .AddHeading("Image attributions")
            .AddFigure(figure, "Integrated gradients on a synthetic image");
        return new Sample(report, records, panels[1].Image!, panels[2].Image!);
    }

    private static void AssertScreenshotShowsReport(string path, Sample sample, string html)
    {
        using var shot = Image.Load<Rgba32>(path);
        Assert.Equal(1200, shot.Width);
        Assert.Equal(1600, shot.Height);

        var histogram = new Dictionary<(byte R, byte G, byte B), int>();
        shot.ProcessPixelRows(rows =>
        {
            for (var y = 0; y < rows.Height; y++)
            {
                foreach (var p in rows.GetRowSpan(y))
                {
                    var key = (p.R, p.G, p.B);
                    histogram[key] = histogram.GetValueOrDefault(key) + 1;
                }
            }
        });

        var total = shot.Width * shot.Height;
        var nonWhite = histogram.Where(kv => kv.Key.R < 245 || kv.Key.G < 245 || kv.Key.B < 245).Sum(kv => kv.Value);
        Assert.True(histogram.Count >= 200, $"The screenshot has only {histogram.Count} distinct colours: the page looks blank.");
        Assert.True(nonWhite >= total / 20, $"Only {nonWhite} of {total} screenshot pixels are not white: the page looks blank.");

        // The heat map and the blended heat map are drawn pixelated and scaled up (the figure is not scaled: it is
        // narrower than the window), so each of their strongly coloured pixels covers a block of the screen.
        var panelAreas = TestImages.WithClass(TestImages.ParseXml(html), "image", "captum-panel-image")
            .Select(e => double.Parse((string)e.Attribute("width")!, CultureInfo.InvariantCulture) * double.Parse((string)e.Attribute("height")!, CultureInfo.InvariantCulture))
            .ToList();
        Assert.Equal(3, panelAreas.Count);
        AssertPanelShown(histogram, sample.HeatMap, panelAreas[1], "heat map");
        AssertPanelShown(histogram, sample.Blended, panelAreas[2], "blended heat map");

        // The words of the text table sit on their importance colours.
        var wordColours = sample.Records
            .SelectMany(r => r.WordAttributions.Take(r.RawInputIds.Count))
            .Where(a => Math.Abs(a) >= 0.3)
            .Select(a => HslToRgb(TextVisualizer.GetColor(a)))
            .Distinct()
            .ToList();
        foreach (var colour in wordColours)
        {
            var pixels = PixelsNear(histogram, colour, tolerance: 3);
            Assert.True(pixels >= 50, $"The word background rgb{colour} is on only {pixels} screenshot pixels: the text table is not displayed.");
        }
    }

    /// <summary>
    /// The screenshot holds the panel's strong colours (far from grey) on at least 80% of the screen pixels they should
    /// cover: the panel's displayed area times the share of its bitmap's pixels that have such a colour. (The colour
    /// bars alone show every colour of the map, but on far fewer pixels.)
    /// </summary>
    private static void AssertPanelShown(Dictionary<(byte R, byte G, byte B), int> histogram, RgbaImage panel, double displayedArea, string what)
    {
        var colours = new HashSet<(byte R, byte G, byte B)>();
        var strongPixels = 0;
        for (var y = 0; y < panel.Height; y++)
        {
            for (var x = 0; x < panel.Width; x++)
            {
                var p = panel[x, y];
                var spread = Math.Max(p.R, Math.Max(p.G, p.B)) - Math.Min(p.R, Math.Min(p.G, p.B));
                if (p.A == 255 && spread >= 60)
                {
                    colours.Add((p.R, p.G, p.B));
                    strongPixels++;
                }
            }
        }

        Assert.True(colours.Count >= 10, $"The {what} has only {colours.Count} strong colours; the sample is not what the test expects.");
        var missing = colours.Where(c => PixelsNear(histogram, c, ChannelTolerance) == 0).ToList();
        Assert.True(
            missing.Count == 0,
            $"{missing.Count} of the {colours.Count} strong colours of the {what} are not in the screenshot, e.g. {string.Join(", ", missing.Take(5).Select(c => $"rgb{c}"))}.");
        var expected = displayedArea * strongPixels / (panel.Width * panel.Height);
        var shown = histogram.Where(kv => colours.Any(c => Near(kv.Key, c, ChannelTolerance))).Sum(kv => kv.Value);
        Assert.True(
            shown >= 0.8 * expected,
            $"Only {shown} screenshot pixels have the {what}'s strong colours; about {expected:F0} were expected: the {what} is not displayed.");
    }

    private static int PixelsNear(Dictionary<(byte R, byte G, byte B), int> histogram, (byte R, byte G, byte B) colour, int tolerance) =>
        histogram.Where(kv => Near(kv.Key, colour, tolerance)).Sum(kv => kv.Value);

    private static bool Near((byte R, byte G, byte B) a, (byte R, byte G, byte B) b, int tolerance) =>
        Math.Abs(a.R - b.R) <= tolerance && Math.Abs(a.G - b.G) <= tolerance && Math.Abs(a.B - b.B) <= tolerance;

    /// <summary>The sRGB colour of a CSS <c>hsl(h, s%, l%)</c> string (as <see cref="TextVisualizer.GetColor"/> writes).</summary>
    private static (byte R, byte G, byte B) HslToRgb(string css)
    {
        var m = HslRegex().Match(css);
        Assert.True(m.Success, $"Not an hsl() colour: {css}");
        var hue = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        var s = double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture) / 100;
        var l = double.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture) / 100;
        var chroma = (1 - Math.Abs((2 * l) - 1)) * s;
        var hp = hue / 60;
        var x = chroma * (1 - Math.Abs((hp % 2) - 1));
        var (r1, g1, b1) = hp switch
        {
            < 1 => (chroma, x, 0.0),
            < 2 => (x, chroma, 0.0),
            < 3 => (0.0, chroma, x),
            < 4 => (0.0, x, chroma),
            < 5 => (x, 0.0, chroma),
            _ => (chroma, 0.0, x),
        };
        var offset = l - (chroma / 2);
        static byte ToByte(double v) => (byte)Math.Clamp(Math.Round(v * 255), 0, 255);
        return (ToByte(r1 + offset), ToByte(g1 + offset), ToByte(b1 + offset));
    }

    /// <summary>
    /// The embedded PNGs in document order as "WxH:visible" (visible: pixels with alpha above 0), decoded here with
    /// ImageSharp; the page's check reports the same for what the browser decoded.
    /// </summary>
    private static List<string> EmbeddedImages(string html) =>
        DataUriRegex().Matches(html)
            .Select(m =>
            {
                using var img = TestImages.DecodeDataUri(PngDataPrefix + m.Groups[1].Value);
                var visible = 0;
                img.ProcessPixelRows(rows =>
                {
                    for (var y = 0; y < rows.Height; y++)
                    {
                        foreach (var p in rows.GetRowSpan(y))
                        {
                            visible += p.A > 0 ? 1 : 0;
                        }
                    }
                });
                return string.Create(CultureInfo.InvariantCulture, $"{img.Width}x{img.Height}:{visible}");
            })
            .ToList();

    private static string InjectCheckScript(string html)
    {
        var at = html.LastIndexOf("</body>", StringComparison.Ordinal);
        Assert.True(at >= 0, "The report has no </body>.");
        return html[..at] + CheckScript + "\n" + html[at..];
    }

    private static string? Title(string dom)
    {
        var m = TitleRegex().Match(dom);
        return m.Success ? WebUtility.HtmlDecode(m.Groups[1].Value).Trim() : null;
    }

    private static string? BodyAttribute(string dom, string name)
    {
        var m = Regex.Match(dom, "<body[^>]*\\s" + Regex.Escape(name) + "=\"([^\"]*)\"", RegexOptions.CultureInvariant);
        return m.Success ? WebUtility.HtmlDecode(m.Groups[1].Value) : null;
    }

    private static string FileUri(string path) => new Uri(Path.GetFullPath(path)).AbsoluteUri;

    /// <summary>Debian's chromium: /usr/bin/chromium, else chromium or chromium-browser on PATH; fails when missing.</summary>
    private static string LocateChromium()
    {
        if (File.Exists("/usr/bin/chromium"))
        {
            return "/usr/bin/chromium";
        }

        var dirs = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        foreach (var name in new[] { "chromium", "chromium-browser" })
        {
            foreach (var dir in dirs)
            {
                var candidate = Path.Combine(dir, name);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        Assert.Fail(
            "Chromium was not found (/usr/bin/chromium, or chromium / chromium-browser on PATH). The HTML report is " +
            "checked in headless Chromium: run scripts/setup.sh, which installs Debian's chromium package, then test again.");
        return null!;
    }

    private sealed record ChromiumRun(int ExitCode, string Stdout, string Stderr, string Command)
    {
        /// <summary>The command and the end of stderr without chromium's D-Bus noise, for failure messages.</summary>
        public string Diagnostics
        {
            get
            {
                var lines = Stderr.Split('\n')
                    .Where(l => l.Length > 0 && !l.Contains("dbus/", StringComparison.Ordinal))
                    .TakeLast(40);
                return $"command: {Command}\nstderr (last lines, D-Bus errors left out):\n{string.Join('\n', lines)}";
            }
        }
    }

    /// <summary>
    /// Runs chromium headless with a fresh profile in <paramref name="workDir"/>; kills the whole process tree after
    /// <see cref="ChromiumTimeout"/> and fails the test.
    /// </summary>
    private static async Task<ChromiumRun> RunChromiumAsync(string chromium, string workDir, IReadOnlyList<string> args)
    {
        var profile = Path.Combine(workDir, "profile-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(profile);
        var psi = new ProcessStartInfo(chromium)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            WorkingDirectory = workDir,
        };
        foreach (var a in CommonChromiumArgs)
        {
            psi.ArgumentList.Add(a);
        }

        psi.ArgumentList.Add("--user-data-dir=" + profile);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        var command = chromium + " " + string.Join(' ', psi.ArgumentList);
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        using var process = new Process { StartInfo = psi };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (stdout)
                {
                    stdout.Append(e.Data).Append('\n');
                }
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (stderr)
                {
                    stderr.Append(e.Data).Append('\n');
                }
            }
        };

        if (!process.Start())
        {
            Assert.Fail($"Could not start {command}");
        }

        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var cts = new CancellationTokenSource(ChromiumTimeout);
        try
        {
            // Also waits for stdout and stderr to reach their end.
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            KillTree(process);
            string err;
            lock (stderr)
            {
                err = stderr.ToString();
            }

            Assert.Fail($"chromium did not finish within {(int)ChromiumTimeout.TotalSeconds} s and was killed.\n" + new ChromiumRun(-1, string.Empty, err, command).Diagnostics);
        }
        finally
        {
            if (!process.HasExited)
            {
                KillTree(process);
            }
        }

        lock (stdout)
        {
            lock (stderr)
            {
                return new ChromiumRun(process.ExitCode, stdout.ToString(), stderr.ToString(), command);
            }
        }
    }

    private static void KillTree(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(10_000);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
    }

    private static string CreateTempDirectory()
    {
        var dir = Path.Combine(Path.GetTempPath(), "captum-browser-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static void DeleteQuietly(string dir)
    {
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (IOException)
        {
            // A chromium helper may still hold a profile file for a moment; the temp folder is cleaned up by the OS.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    [GeneratedRegex(@"data:image/png;base64,([A-Za-z0-9+/=]+)", RegexOptions.CultureInvariant)]
    private static partial Regex DataUriRegex();

    [GeneratedRegex(@"<title>(.*?)</title>", RegexOptions.Singleline | RegexOptions.CultureInvariant)]
    private static partial Regex TitleRegex();

    [GeneratedRegex(@"^hsl\((\d+(?:\.\d+)?), (\d+(?:\.\d+)?)%, (\d+(?:\.\d+)?)%\)$", RegexOptions.CultureInvariant)]
    private static partial Regex HslRegex();
}
