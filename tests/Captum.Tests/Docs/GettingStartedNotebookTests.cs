using System.Net;
using System.Text.Json;
using Captum.Attr;
using Captum.Runtime;
using Captum.Visualization;
using Microsoft.DotNet.Interactive.Formatting;
using TorchSharp;
using Xunit;

namespace Captum.Tests.Docs;

/// <summary>
/// samples/notebooks/getting-started.ipynb: its C# cells, the <c>#r</c>/<c>#i</c> directives aside, are the code that
/// <see cref="Notebook_Run_GivesCaptumsAnswerAndDisplaysTheVisualizationsAsHtml"/> compiles and runs, so the notebook
/// cannot rot. The kernel's <c>display</c> is stood in for by this class's here; scripts/run-notebook.sh runs the
/// notebook itself in a real .NET Interactive kernel against the packed packages (opt-in: it packs and restores).
/// </summary>
/// <remarks>Serial: the notebook seeds TorchSharp's global generator, and registers formatters (process-wide).</remarks>
public sealed class GettingStartedNotebookTests
{
    private const string NotebookPath = "samples/notebooks/getting-started.ipynb";
    private readonly List<string> displayed = [];

    [Fact]
    public void Notebook_CodeCells_AreTheCodeThisTestRuns()
    {
        var code = string.Join("\n", CodeCells().Select(cell => string.Join("\n", cell.Split('\n').Where(line => !IsDirective(line)))));
        Assert.Contains("IntegratedGradients", code, StringComparison.Ordinal);
        DocExamples.IsCodeOf(code, Path.Combine("Docs", "GettingStartedNotebookTests.cs"));
    }

    [Fact]
    public void Notebook_Kernel_IsCSharpWithThePackagesAndABackend()
    {
        using var notebook = JsonDocument.Parse(File.ReadAllText(Path.Combine(GettingStartedDocTests.RepositoryRoot(), NotebookPath)));
        var root = notebook.RootElement;
        Assert.Equal(4, root.GetProperty("nbformat").GetInt32());
        Assert.Equal(".net-csharp", root.GetProperty("metadata").GetProperty("kernelspec").GetProperty("name").GetString());
        foreach (var cell in root.GetProperty("cells").EnumerateArray().Where(c => c.GetProperty("cell_type").GetString() == "code"))
        {
            Assert.Equal("csharp", cell.GetProperty("metadata").GetProperty("polyglot_notebook").GetProperty("kernelName").GetString());
        }

        var directives = CodeCells().SelectMany(cell => cell.Split('\n')).Where(IsDirective).ToList();
        Assert.Contains("#r \"nuget: CaptumSharp.Attr, *-*\"", directives);
        Assert.Contains("#r \"nuget: CaptumSharp.Visualization, *-*\"", directives);
        Assert.Contains(directives, d => d.StartsWith("#r \"nuget: TorchSharp-cpu", StringComparison.Ordinal));

        // The local feed's directive is explained (in a markdown cell), not run: the path is the reader's.
        var markdown = string.Concat(root.GetProperty("cells").EnumerateArray()
            .Where(c => c.GetProperty("cell_type").GetString() == "markdown")
            .SelectMany(c => c.GetProperty("source").EnumerateArray().Select(line => line.GetString())));
        Assert.Contains("#i \"nuget: ", markdown, StringComparison.Ordinal);
        Assert.Contains("scripts/pack.sh", markdown, StringComparison.Ordinal);
    }

    [Fact]
    public void Notebook_Run_GivesCaptumsAnswerAndDisplaysTheVisualizationsAsHtml()
    {
        using var scope = torch.NewDisposeScope();
        try
        {
            // ---- the notebook's code cells, in order ----
            TorchRuntime.EnsureAvailable();
            var lin1 = torch.nn.Linear(3, 3);
            var lin2 = torch.nn.Linear(3, 2);
            using (torch.no_grad())
            {
                lin1.weight!.copy_(torch.arange(-4.0f, 5.0f).view(3, 3));
                lin1.bias!.zero_();
                lin2.weight!.copy_(torch.arange(-3.0f, 3.0f).view(2, 3));
                lin2.bias!.fill_(1.0f);
            }

            var model = torch.nn.Sequential(("lin1", lin1), ("relu", torch.nn.ReLU()), ("lin2", lin2));
            model.eval();

            torch.manual_seed(123);
            var input = torch.rand(2, 3);
            var baseline = torch.zeros(2, 3);

            var ig = new IntegratedGradients(model);
            var result = ig.Attribute(input, new IntegratedGradientsOptions
            {
                Baselines = baseline,
                Target = 0,
                ReturnConvergenceDelta = true,
            });
            Console.WriteLine("IG Attributions: " + result.Attribution.ToString(TensorStringStyle.Numpy));
            Console.WriteLine("Convergence Delta: " + result.Delta!.ToString(TensorStringStyle.Numpy));

            torch.Tensor gain;
            using (torch.no_grad())
            {
                gain = model.call(input).select(1, 0) - model.call(baseline).select(1, 0);
            }

            Console.WriteLine("F(input) - F(baseline): " + gain.ToString(TensorStringStyle.Numpy));
            Console.WriteLine("Sum of attributions:    " + result.Attribution.sum(dim: 1).ToString(TensorStringStyle.Numpy));

            Formatter.Register<ISvgFigure>((figure, writer) => writer.Write(figure.ToSvg()), HtmlFormatter.MimeType);
            Formatter.Register<HtmlReport>(
                (report, writer) => writer.Write(
                    "<iframe style=\"width: 100%; height: 640px; border: 0\" srcdoc=\"" + WebUtility.HtmlEncode(report.ToHtml()) + "\"></iframe>"),
                HtmlFormatter.MimeType);

            var features = new[] { "x0", "x1", "x2" };
            var chart = TokenAttributionPlots.SequenceBarChart(features, result.Attribution[0].data<float>().ToArray(), "Example 0: attribution to output 0");
            display(chart);

            var probabilities = torch.softmax(model.call(input), 1).detach();
            var records = new List<VisualizationDataRecord>();
            for (var i = 0; i < 2; i++)
            {
                var attribution = result.Attribution[i];
                records.Add(VisualizationDataRecord.FromTensor(
                    attribution / attribution.abs().max(),
                    predProb: probabilities[i].max().item<float>(),
                    predClass: "output " + probabilities[i].argmax().item<long>(),
                    trueClass: "n/a",
                    attrClass: "output 0",
                    attrScore: attribution.sum().item<float>(),
                    rawInputIds: features,
                    convergenceScore: result.Delta[i].item<float>()));
            }

            var report = new HtmlReport("Integrated Gradients on Captum's toy model")
                .AddParagraph("Each input feature coloured by its attribution to output 0 (scaled by the example's largest).")
                .AddText(records)
                .AddFigure(chart, "Example 0");
            display(report);

            // ---- end of the notebook ----
            // Captum's README prints these attributions for the same model, seed and call.
            var captum = torch.tensor(new float[,] { { -0.5922f, -1.5497f, -1.0067f }, { 0.0000f, -0.2219f, -5.1991f } });
            TensorAssert.AllClose(result.Attribution, captum, 1e-4, 0);
            TensorAssert.AllClose(result.Attribution.sum(dim: 1), gain, 1e-5, 0);
            result.Dispose();
            model.Dispose();

            Assert.Equal(2, displayed.Count);
            Assert.StartsWith("<svg", displayed[0], StringComparison.Ordinal);
            Assert.Equal(chart.ToSvg(), displayed[0]);
            Assert.StartsWith("<iframe", displayed[1], StringComparison.Ordinal);
            var document = WebUtility.HtmlDecode(displayed[1].Split("srcdoc=\"")[1].Split('"')[0]);
            Assert.Equal(report.ToHtml(), document);
            Assert.Contains(TextVisualizer.GetColor(-1), document, StringComparison.Ordinal);   // x2 of example 1, the most negative
        }
        finally
        {
            Formatter.ResetToDefault();
        }
    }

    /// <summary>The kernel's <c>display(value)</c>: formats the value with the formatter for HTML, as a notebook shows it.</summary>
#pragma warning disable IDE1006 // the notebook kernel's name
    private void display(object value) => displayed.Add(value.ToDisplayString(HtmlFormatter.MimeType));
#pragma warning restore IDE1006

    private static bool IsDirective(string line) => line.StartsWith("#r ", StringComparison.Ordinal) || line.StartsWith("#i ", StringComparison.Ordinal);

    private static List<string> CodeCells()
    {
        using var notebook = JsonDocument.Parse(File.ReadAllText(Path.Combine(GettingStartedDocTests.RepositoryRoot(), NotebookPath)));
        return notebook.RootElement.GetProperty("cells").EnumerateArray()
            .Where(c => c.GetProperty("cell_type").GetString() == "code")
            .Select(c => string.Concat(c.GetProperty("source").EnumerateArray().Select(line => line.GetString())).ReplaceLineEndings("\n"))
            .ToList();
    }
}
