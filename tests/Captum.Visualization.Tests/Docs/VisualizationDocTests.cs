using System.Text.RegularExpressions;
using System.Xml.Linq;
using Captum.Attr;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Captum.Visualization.Tests.Docs;

/// <summary>
/// docs/visualization.md: every example runs here and its result is checked against a property of Captum's
/// visualization (the word colours of <c>_get_color</c>, the normalisation, the colour maps, the figure's panels);
/// every csharp block of the guide is code of this file.
/// </summary>
/// <remarks>
/// Each test sets up the variables the guide's examples assume (<c>model</c>, <c>image</c>, <c>tokens</c>,
/// <c>outDir</c>, ...), then holds the example's lines verbatim (the doc may add comments), then asserts. The test
/// models have fixed weights (no random generator), so the tests can run beside others.
/// </remarks>
public sealed partial class VisualizationDocTests
{
    private static readonly PixelRgba BluesFirst = new(0xf7, 0xfb, 0xff);
    private static readonly PixelRgba BluesLast = new(0x08, 0x30, 0x6b);

    // ---------------------------------------------------------------- text

    [Fact]
    public void VisualizationDoc_VisualizeText_ColorsWordsByCaptumsRule()
    {
        var record = new VisualizationDataRecord(
            wordAttributions: [0.8, -0.5, 0.0, 0.25],
            predProb: 0.93,
            predClass: "Pos",
            trueClass: "Pos",
            attrClass: "Pos",
            attrScore: 0.55,
            rawInputIds: ["<s>", "great", "movie", "<pad>"],
            convergenceScore: 0.001);
        string html = TextVisualizer.VisualizeText([record]);

        Assert.Equal(
            [("#s", "hsl(120, 75%, 60%)"), ("great", "hsl(0, 75%, 80%)"), ("movie", "hsl(0, 75%, 100%)"), ("#pad", "hsl(120, 75%, 88%)")],
            Marks(html));
        Assert.Contains("<b>Pos (0.93)</b>", html, StringComparison.Ordinal);
        Assert.Contains("<b>0.55</b>", html, StringComparison.Ordinal);
        Assert.Contains("Legend: ", html, StringComparison.Ordinal);
        Assert.Equal("div", XmlRoot(html));
    }

    [Fact]
    public void VisualizationDoc_LayerIntegratedGradientsTokens_GiveARecordWithUnitNormAndZeroForThePad()
    {
        using var setup = torch.NewDisposeScope();
        var model = new TinyTextModel();
        var tokens = torch.tensor(new long[,] { { 3, 7, 1, 9, 0 } });

        using var scope = torch.NewDisposeScope();
        var lig = new LayerIntegratedGradients(model, "embedding");
        var reference = new TokenReferenceBase(referenceTokenIdx: 0).GenerateReference(tokens.shape[1]).unsqueeze(0);
        using var result = lig.Attribute(tokens, new LayerIntegratedGradientsOptions
        {
            Baselines = reference,
            Target = 1,
            ReturnConvergenceDelta = true,
        });
        var perToken = result.Attribution.sum(2).squeeze(0);
        var normalized = perToken / perToken.norm();
        float probability;
        using (torch.no_grad())
        {
            probability = torch.softmax(model.call(tokens), 1)[0, 1].item<float>();
        }

        var record = VisualizationDataRecord.FromTensor(
            normalized,
            predProb: probability,
            predClass: "Pos",
            trueClass: "Pos",
            attrClass: "Pos",
            attrScore: perToken.sum().item<float>(),
            rawInputIds: ["the", "movie", "was", "great", "<pad>"],
            convergenceScore: result.Delta![0].item<float>());
        string html = TextVisualizer.VisualizeText([record]);

        // Unit L2 norm; the pad token is the reference token, so its embedding does not move and its share is 0.
        Assert.Equal(5, record.WordAttributions.Count);
        Assert.Equal(1.0, record.WordAttributions.Sum(v => v * v), 5);
        Assert.Equal(0.0, record.WordAttributions[4]);
        Assert.Contains(record.WordAttributions.Take(4), v => v != 0);

        // Every word on Captum's colour of its value; the pad shown as #pad on white.
        var marks = Marks(html);
        Assert.Equal(["the", "movie", "was", "great", "#pad"], marks.Select(m => m.Word));
        Assert.Equal(record.WordAttributions.Select(CaptumColor), marks.Select(m => m.Color));
        Assert.Equal("hsl(0, 75%, 100%)", marks[4].Color);

        // The score is the sum of the attributions: F(tokens) - F(reference) up to the delta.
        using (torch.no_grad())
        {
            var gain = (model.call(tokens)[0, 1] - model.call(reference)[0, 1]).item<float>();
            Assert.Equal(gain, record.AttrScore, 4);
        }

        Assert.True(Math.Abs(record.ConvergenceScore) < 1e-4, $"delta {record.ConvergenceScore}");
        Assert.InRange(record.PredProb, 0.0, 1.0);
    }

    // ---------------------------------------------------------------- images

    [Fact]
    public void VisualizationDoc_NormalizeAndHeatMap_FollowTheOutlierThreshold()
    {
        float[,,] attr = { { { 6, 4 }, { 15, 5 }, { 30, 0 }, { 50, -10 } } };
        float[,] norm = AttributionNormalization.NormalizeAttr(attr, VisualizationSign.AbsoluteValue, outlierPerc: 2);
        float[,] clipped = AttributionNormalization.NormalizeAttr(attr, VisualizationSign.AbsoluteValue, outlierPerc: 50);

        var (figure, panel) = ImageVisualizer.VisualizeImageAttr(attr, sign: VisualizationSign.AbsoluteValue, showColorBar: true, title: "|attribution|");
        RgbaImage heat = panel.Image!;
        string svg = figure.ToSvg();

        Assert.Equal(new[] { 0.25f, 0.5f, 0.75f, 1f }, Row(norm));
        Assert.Equal(new[] { 1 / 3f, 2 / 3f, 1f, 1f }, Row(clipped));
        Assert.Equal((4, 1), (heat.Width, heat.Height));

        // Blues with vmin 0 and vmax 1: entry floor(v * 256), 255 for 1.
        Assert.Equal(ColorMap.Blues[64].ToPixel(), heat[0, 0]);
        Assert.Equal(ColorMap.Blues[128].ToPixel(), heat[1, 0]);
        Assert.Equal(ColorMap.Blues[192].ToPixel(), heat[2, 0]);
        Assert.Equal(BluesLast, heat[3, 0]);

        var doc = TestImages.ParseXml(svg);
        Assert.Single(TestImages.WithClass(doc, "image", "captum-panel-image"));
        Assert.Single(TestImages.WithClass(doc, "image", "captum-colorbar"));
        Assert.Equal("|attribution|", Assert.Single(TestImages.WithClass(doc, "text", "captum-title")).Value);
        Assert.Equal((600.0, 600.0), (figure.PixelWidth, figure.PixelHeight));
    }

    [Fact]
    public void VisualizationDoc_IntegratedGradientsImage_HeatMapShowsOnlyWhatTheModelReads()
    {
        using var setup = torch.NewDisposeScope();
        var model = new TinyImageModel();
        var image = TestImage();
        var outDir = Directory.CreateTempSubdirectory("captum-vizdoc-").FullName;
        try
        {
            var ig = new IntegratedGradients(model);
            using var result = ig.Attribute(image, new IntegratedGradientsOptions { Target = 1, Steps = 32 });

            var (figure, panels) = ImageVisualizer.VisualizeImageAttrMultiple(
                result.Attribution,
                image,
                TensorImageLayout.Chw,
                methods: [ImageVisualizationMethod.OriginalImage, ImageVisualizationMethod.HeatMap, ImageVisualizationMethod.BlendedHeatMap, ImageVisualizationMethod.MaskedImage],
                signs: [VisualizationSign.All, VisualizationSign.AbsoluteValue, VisualizationSign.All, VisualizationSign.Positive],
                titles: ["Original", "Attribution magnitude", "Blended", "Positive evidence"],
                showColorBar: true);
            figure.SaveSvg(Path.Combine(outDir, "ig.svg"));

            // Four panels, titles as SVG text, colour bars under the two heat maps only.
            var svg = File.ReadAllText(Path.Combine(outDir, "ig.svg"));
            Assert.Equal(figure.ToSvg(), svg);
            var doc = TestImages.ParseXml(svg);
            Assert.Equal(4, TestImages.WithClass(doc, "image", "captum-panel-image").Count());
            Assert.Equal(2, TestImages.WithClass(doc, "image", "captum-colorbar").Count());
            Assert.Equal(["Original", "Attribution magnitude", "Blended", "Positive evidence"], TestImages.WithClass(doc, "text", "captum-title").Select(t => t.Value));
            Assert.Equal((800.0, 600.0), (figure.PixelWidth, figure.PixelHeight));

            // The original: the [0, 1] image times 255, truncated.
            var original = image[0].permute(1, 2, 0).contiguous().data<float>().ToArray();
            Assert.Equal(new PixelRgba((byte)(original[0] * 255), (byte)(original[1] * 255), (byte)(original[2] * 255)), panels[0].Image![0, 0]);

            // The model reads columns 0-3 only: the right half's attribution is exactly 0, the lightest blue, and
            // black in the masked image; the heat map is Blues of the normalised magnitude, saturating at the top.
            var norm = AttributionNormalization.NormalizeAttr(result.Attribution, TensorImageLayout.Chw, VisualizationSign.AbsoluteValue);
            var heat = panels[1].Image!;
            var masked = panels[3].Image!;
            var saturated = 0;
            for (var y = 0; y < 8; y++)
            {
                for (var x = 0; x < 8; x++)
                {
                    Assert.Equal(ColorMap.Blues.Map(norm[y, x]).ToPixel(), heat[x, y]);
                    saturated += heat[x, y] == BluesLast ? 1 : 0;
                    if (x >= 4)
                    {
                        Assert.Equal(BluesFirst, heat[x, y]);
                        Assert.Equal(new PixelRgba(0, 0, 0), masked[x, y]);
                    }
                }
            }

            Assert.InRange(saturated, 1, 31);
        }
        finally
        {
            Directory.Delete(outDir, recursive: true);
        }
    }

    [Fact]
    public void VisualizationDoc_RenderImageAttr_WritesThePixelsAsPng()
    {
        float[,,] attr = { { { 6, 4 }, { 15, 5 }, { 30, 0 }, { 50, -10 } } };

        var customBlue = ColorMap.FromList("custom blue", [(0.0, "#ffffff"), (0.25, "#252b36"), (1.0, "#000000")]);
        RgbaImage bitmap = ImageVisualizer.RenderImageAttr(attr, method: ImageVisualizationMethod.HeatMap, sign: VisualizationSign.AbsoluteValue, cmap: customBlue);
        byte[] png = bitmap.ToPng();
        byte[] rgba = bitmap.ToRgbaBytes();

        // custom blue through its stops: entry 64 sits just past #252b36, entry 255 is black.
        Assert.Equal(customBlue[64].ToPixel(), bitmap[0, 0]);
        Assert.InRange(bitmap[0, 0].R, 0x24, 0x25);
        Assert.InRange(bitmap[0, 0].G, 0x2a, 0x2b);
        Assert.InRange(bitmap[0, 0].B, 0x35, 0x36);
        Assert.Equal(new PixelRgba(0, 0, 0), bitmap[3, 0]);
        Assert.Equal(16, rgba.Length);

        using var decoded = Image.Load<Rgba32>(png);
        Assert.Equal((4, 1), (decoded.Width, decoded.Height));
        for (var x = 0; x < 4; x++)
        {
            var p = decoded[x, 0];
            Assert.Equal(bitmap[x, 0], new PixelRgba(p.R, p.G, p.B, p.A));
        }
    }

    // ---------------------------------------------------------------- the report

    [Fact]
    public void VisualizationDoc_HtmlReport_HoldsTheWordsAndTheFigure()
    {
        using var setup = torch.NewDisposeScope();
        var model = new TinyImageModel();
        var image = TestImage();
        var outDir = Directory.CreateTempSubdirectory("captum-vizdoc-").FullName;
        using var result = new IntegratedGradients(model).Attribute(image, new IntegratedGradientsOptions { Target = 1, Steps = 32 });
        var record = new VisualizationDataRecord([0.1, 0.9, -0.3, 0.0], 0.97, "red", "red", "red", 0.7, ["what", "color", "is", "circle"], 0.0);
        try
        {
            var customBlue = ColorMap.FromList("custom blue", [(0.0, "#ffffff"), (0.25, "#252b36"), (1.0, "#000000")]);
            var figure = VisualizationFigure.Subplots(2, new FigureSize(8, 4));
            ImageVisualizer.VisualizeImageAttr(
                image, image, TensorImageLayout.Chw, ImageVisualizationMethod.OriginalImage, VisualizationSign.All,
                panel: figure.Panels[0], title: "Original Image");
            ImageVisualizer.VisualizeImageAttr(
                result.Attribution, image, TensorImageLayout.Chw, ImageVisualizationMethod.HeatMap, VisualizationSign.AbsoluteValue,
                panel: figure.Panels[1], cmap: customBlue, showColorBar: true, title: "Attribution Magnitude");

            var report = new HtmlReport("VQA: scene.png")
                .AddHeading("what color is the circle")
                .AddParagraph("Predicted answer: red (probability 0.97)")
                .AddText([record])
                .AddFigure(figure, "Layer Integrated Gradients")
                .AddParagraph("Text Contributions: 0.7 · Image Contributions: 1.9 · Total Contribution: 2.6");
            report.Save(Path.Combine(outDir, "report.html"));

            var html = File.ReadAllText(Path.Combine(outDir, "report.html"));
            Assert.Equal(report.ToHtml(), html);
            var doc = TestImages.ParseXml(html);
            XNamespace xhtml = "http://www.w3.org/1999/xhtml";
            Assert.Equal(["VQA: scene.png"], doc.Descendants(xhtml + "h1").Select(e => e.Value));
            Assert.Equal(["what color is the circle"], doc.Descendants(xhtml + "h2").Select(e => e.Value));
            Assert.Equal(2, doc.Descendants(xhtml + "p").Count());
            Assert.Equal("Layer Integrated Gradients", Assert.Single(doc.Descendants(xhtml + "figcaption")).Value);
            Assert.Equal(
                [("what", "hsl(120, 75%, 95%)"), ("color", "hsl(120, 75%, 55%)"), ("is", "hsl(0, 75%, 88%)"), ("circle", "hsl(0, 75%, 100%)")],
                Marks(html));
            Assert.Equal(2, TestImages.WithClass(doc, "image", "captum-panel-image").Count());
            Assert.Single(TestImages.WithClass(doc, "image", "captum-colorbar"));

            // The heat map through custom blue: white where the model does not look (columns 4-7).
            var heat = figure.Panels[1].Image!;
            Assert.Equal(new PixelRgba(255, 255, 255), heat[6, 3]);
            Assert.Contains(Enumerable.Range(0, 32), i => heat[i % 4, i / 4] != new PixelRgba(255, 255, 255));
            Assert.Equal(255, figure.Panels[0].Image![2, 5].A);
        }
        finally
        {
            Directory.Delete(outDir, recursive: true);
        }
    }

    [Fact]
    public void VisualizationDoc_TokenAttributionPlots_HeatMapWithScoresAndBarsInOneReport()
    {
        var outDir = Directory.CreateTempSubdirectory("captum-vizdoc-").FullName;
        try
        {
            float[,] tokenAttr = { { 0.8f, -0.1f, 0.05f }, { 0.3f, 0.2f, -0.6f } };
            var heat = TokenAttributionPlots.TokenHeatMap(
                ["mary", "went", "garden"],
                ["gar", "den"],
                tokenAttr,
                [new ScoreColumn("p", [0.42, 0.97], Max: 1.0), new ScoreColumn("H", [2.1, 0.2])]);
            var bars = TokenAttributionPlots.SequenceBarChart(["mary", "went", "garden"], [1.1f, 0.1f, -0.55f]);
            new HtmlReport("Why garden?").AddFigure(heat, "Token attribution").AddFigure(bars, "Sequence attribution").Save(Path.Combine(outDir, "llm.html"));

            var doc = TestImages.ParseXml(File.ReadAllText(Path.Combine(outDir, "llm.html")));
            var classes = doc.Descendants().Select(e => (string?)e.Attribute("class") ?? string.Empty).ToList();
            Assert.Equal(6, classes.Count(c => c == "captum-cell"));
            Assert.Equal(4, classes.Count(c => c == "captum-score-cell"));
            Assert.Equal(2, classes.Count(c => c == "captum-bar captum-bar-positive"));
            Assert.Equal(1, classes.Count(c => c == "captum-bar captum-bar-negative"));

            // The largest magnitude (0.8) saturates in Captum's darkest blue.
            var strongest = doc.Descendants().First(e => (string?)e.Attribute("class") == "captum-cell");
            Assert.Equal("#00429d", (string)strongest.Attribute("fill")!);
        }
        finally
        {
            Directory.Delete(outDir, recursive: true);
        }
    }

    // ---------------------------------------------------------------- the guide itself

    [Fact]
    public void VisualizationDoc_Examples_AreTheTestedCode()
    {
        var root = Captum.TestData.SharedData.RepositoryRoot();
        var doc = File.ReadAllText(Path.Combine(root, "docs", "visualization.md")).ReplaceLineEndings("\n");
        var source = Normalize(File.ReadAllText(Path.Combine(root, "tests", "Captum.Visualization.Tests", "Docs", "VisualizationDocTests.cs")));

        var snippets = CSharpBlock().Matches(doc).Select(m => m.Groups["code"].Value).ToList();
        Assert.True(snippets.Count >= 6, $"docs/visualization.md has {snippets.Count} csharp blocks; expected at least 6");
        foreach (var snippet in snippets)
        {
            var code = Normalize(UsingLine().Replace(snippet, string.Empty));   // a block's usings are at the file's top here
            Assert.True(code.Length > 0, "an empty csharp block");
            Assert.True(source.Contains(code, StringComparison.Ordinal), "not in VisualizationDocTests.cs:\n" + code);
        }
    }

    /// <summary>Captum's <c>_get_color</c>, written out independently of <see cref="TextVisualizer.GetColor"/>.</summary>
    private static string CaptumColor(double attr)
    {
        attr = Math.Max(-1, Math.Min(1, attr));
        return attr > 0
            ? $"hsl(120, 75%, {100 - (int)(50 * attr)}%)"
            : $"hsl(0, 75%, {100 - (int)(-40 * attr)}%)";
    }

    /// <summary>The words of the Word Importance column with their background colours, in order.</summary>
    private static List<(string Word, string Color)> Marks(string html) =>
        MarkElement().Matches(html).Select(m => (m.Groups["word"].Value, m.Groups["color"].Value)).ToList();

    private static string XmlRoot(string fragment) => TestImages.ParseXml(fragment).Root!.Name.LocalName;

    private static float[] Row(float[,] map) => Enumerable.Range(0, map.GetLength(1)).Select(x => map[0, x]).ToArray();

    /// <summary>A [1, 3, 8, 8] image with values in [0, 1], no generator involved.</summary>
    private static Tensor TestImage() =>
        (torch.arange(192, dtype: ScalarType.Float32).reshape(1, 3, 8, 8) * 37 % 101) / 100;

    /// <summary>Code without comments and indentation, one line per statement line.</summary>
    private static string Normalize(string code) => string.Join(
        "\n",
        code.ReplaceLineEndings("\n").Split('\n')
            .Select(l => (l.IndexOf("//", StringComparison.Ordinal) is var c and >= 0 ? l[..c] : l).Trim())
            .Where(l => l.Length > 0));

    [GeneratedRegex(@"```csharp\n(?<code>.*?)```", RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();

    [GeneratedRegex(@"^\s*using (static )?[A-Za-z.]+;\s*$", RegexOptions.Multiline)]
    private static partial Regex UsingLine();

    [GeneratedRegex(@"<mark style=""background-color: (?<color>hsl\([^)]*\)); opacity:1.0; line-height:1.75""><span style=""color: black""> (?<word>[^<]*)</span></mark>")]
    private static partial Regex MarkElement();

    /// <summary>conv (3 to 4 channels, 3x3, padding 1), ReLU, the mean over positions, linear to 2 classes; it reads
    /// only the left half (columns 0-3) of its [n, 3, 8, 8] image. Fixed weights.</summary>
    private sealed class TinyImageModel : nn.Module<Tensor, Tensor>
    {
        private readonly Conv2d conv;
        private readonly ReLU relu;
        private readonly Linear fc;

        public TinyImageModel()
            : base(nameof(TinyImageModel))
        {
            conv = nn.Conv2d(3, 4, 3, padding: 1);
            relu = nn.ReLU();
            fc = nn.Linear(4, 2);
            using (torch.no_grad())
            {
                conv.weight!.copy_(torch.sin(torch.arange(108, dtype: ScalarType.Float32)).reshape(4, 3, 3, 3));
                conv.bias!.fill_(0.1f);
                fc.weight!.copy_(torch.cos(torch.arange(8, dtype: ScalarType.Float32)).reshape(2, 4));
                fc.bias!.zero_();
            }

            RegisterComponents();
            eval();
        }

        public override Tensor forward(Tensor x) => fc.call(relu.call(conv.call(x.narrow(3, 0, 4))).mean([2, 3]));
    }

    /// <summary>embedding (10 tokens, 4 dimensions), the mean over positions, linear to 2 classes. Fixed weights.</summary>
    private sealed class TinyTextModel : nn.Module<Tensor, Tensor>
    {
        private readonly Embedding embedding;
        private readonly Linear fc;

        public TinyTextModel()
            : base(nameof(TinyTextModel))
        {
            embedding = nn.Embedding(10, 4);
            fc = nn.Linear(4, 2);
            using (torch.no_grad())
            {
                embedding.weight!.copy_(torch.sin(torch.arange(40, dtype: ScalarType.Float32) * 0.7f).reshape(10, 4));
                fc.weight!.copy_(torch.cos(torch.arange(8, dtype: ScalarType.Float32)).reshape(2, 4));
                fc.bias!.zero_();
            }

            RegisterComponents();
            eval();
        }

        public override Tensor forward(Tensor tokens) => fc.call(torch.tanh(embedding.call(tokens)).mean([1]));
    }
}
