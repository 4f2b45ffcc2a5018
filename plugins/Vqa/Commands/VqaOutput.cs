using System.Globalization;
using Captum.Explain;
using Captum.Explain.Reports;

namespace Captum.Plugins.Vqa.Commands;

/// <summary>
/// What <c>captum vqa</c> shows: the answers and the tutorial's contribution lines on standard output as they come,
/// the HTML report (<see cref="ExplanationReport"/>) and, with <c>--json</c>, result.json
/// (<see cref="VqaResultDocument"/>), both written at the end.
/// </summary>
internal sealed class VqaOutput
{
    private readonly TextWriter output;
    private readonly VqaRequest request;
    private readonly ExplanationReport report;
    private readonly List<VqaQuestionResult> results = [];

    public VqaOutput(TextWriter output, VqaRequest request)
    {
        this.output = output;
        this.request = request;
        var images = request.Images;
        report = new ExplanationReport(images.Count == 1 ? $"VQA: {Path.GetFileName(images[0].Image)}" : $"VQA: {images.Count} images");
    }

    /// <summary>The model is loaded.</summary>
    public void ModelLoaded(string name)
    {
        output.WriteLine($"Model: {name}");
        output.WriteLine();
    }

    /// <summary>The questions of another image follow (shown only when there are several images).</summary>
    public void ImageStarted(string image)
    {
        if (request.Images.Count > 1)
        {
            report.AddSection(Path.GetFileName(image));
            output.WriteLine($"Image: {image}");
        }
    }

    /// <summary>A question is explained by every method; the explanations are the caller's, used only during the call.</summary>
    public void Explained(string image, string question, string? expected, IReadOnlyList<(string Method, Explanation Explanation)> explanations)
    {
        var (_, explanation) = explanations[0];
        output.WriteLine($"Question: {question}");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Predicted answer: {explanation.Label} (probability {explanation.Probability:0.####})"));
        if (expected is not null)
        {
            output.WriteLine($"Expected answer: {expected}");
        }

        foreach (var (name, e) in explanations)
        {
            var prefix = explanations.Count > 1 ? $"[{name}] " : string.Empty;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{prefix}Text Contributions: {e.ContributionOf<TextDisplay>():G6}"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{prefix}Image Contributions: {e.ContributionOf<ImageDisplay>():G6}"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{prefix}Total Contribution: {e.TotalContribution:G6}"));
        }

        output.WriteLine();
        report.Add(question, explanations, expected);
        results.Add(VqaQuestionResult.Of(image, question, expected, explanations));
    }

    /// <summary>Writes report.html and, when asked, result.json into the output folder, and says where they are.</summary>
    public void Finish(string modelName)
    {
        Directory.CreateDirectory(request.OutDir);
        var reportPath = Path.Combine(request.OutDir, "report.html");
        report.Save(reportPath);
        output.WriteLine($"Report: {reportPath}");
        if (request.Json)
        {
            var jsonPath = Path.Combine(request.OutDir, "result.json");
            var methods = request.Methods.Select(m => m.Name).ToList();
            var document = new VqaResultDocument(modelName, request.Images.Count == 1 ? request.Images[0].Image : null, request.Steps, methods[0], methods, results);
            File.WriteAllText(jsonPath, document.ToJson());
            output.WriteLine($"JSON: {jsonPath}");
        }
    }
}
