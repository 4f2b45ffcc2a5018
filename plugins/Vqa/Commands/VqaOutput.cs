using System.Globalization;
using Captum.Explain;
using Captum.Explain.Reports;
using Captum.Explain.Results;

namespace Captum.Plugins.Vqa.Commands;

/// <summary>
/// What <c>captum vqa</c> shows: the answers and the tutorial's contribution lines on standard output as they come,
/// every failed question on standard error as it fails, and at the end the HTML report
/// (<see cref="ExplanationReport"/>) and, with <c>--json</c>, result.json (<see cref="ExplanationResultDocument"/>, which
/// lists the failed questions too), written when at least one question was answered.
/// </summary>
internal sealed class VqaOutput
{
    private readonly TextWriter output;
    private readonly TextWriter error;
    private readonly VqaRequest request;
    private readonly ExplanationReport report;
    private readonly List<ExplanationQuestionResult> results = [];
    private readonly List<ExplanationFailure> failures = [];
    private readonly HashSet<VqaQuestion> seen = new(ReferenceEqualityComparer.Instance);

    public VqaOutput(TextWriter output, TextWriter error, VqaRequest request)
    {
        this.output = output;
        this.error = error;
        this.request = request;
        var images = request.Images;
        report = new ExplanationReport(images.Count == 1 ? $"VQA: {Path.GetFileName(images[0].Path)}" : $"VQA: {images.Count} images");
    }

    /// <summary>The number of questions answered and explained.</summary>
    public int AnsweredCount => results.Count;

    /// <summary>The number of questions that failed.</summary>
    public int FailedCount => failures.Count;

    /// <summary>The model is loaded.</summary>
    public void ModelLoaded(string name)
    {
        output.WriteLine($"Model: {name}");
        output.WriteLine();
    }

    /// <summary>The questions of another image follow (shown only when there are several images).</summary>
    public void ImageStarted(VqaImage image)
    {
        if (request.Images.Count > 1)
        {
            report.AddSection(Path.GetFileName(image.Path));
            output.WriteLine($"Image: {image.Path}");
        }
    }

    /// <summary>A question is explained by every method; the explanations are the caller's, used only during the call.</summary>
    public void Explained(VqaImage image, VqaQuestion question, IReadOnlyList<(string Method, Explanation Explanation)> explanations)
    {
        var (_, explanation) = explanations[0];
        output.WriteLine($"Question: {question.Text}");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Predicted answer: {explanation.Label} (probability {explanation.Probability:0.####})"));
        if (question.Expected is not null)
        {
            output.WriteLine($"Expected answer: {question.Expected}");
        }

        foreach (var (name, e) in explanations)
        {
            var prefix = explanations.Count > 1 ? $"[{name}] " : string.Empty;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{prefix}Text Contributions: {e.ContributionOf<TextDisplay>():G6}"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{prefix}Image Contributions: {e.ContributionOf<ImageDisplay>():G6}"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{prefix}Total Contribution: {e.TotalContribution:G6}"));
        }

        output.WriteLine();
        report.Add(question.Text, explanations, question.Expected);
        seen.Add(question);
        results.Add(ExplanationQuestionResult.Of(image.Path, question.Text, question.Expected, explanations));
    }

    /// <summary>A question failed; it is reported now on standard error and kept for result.json.</summary>
    public void Failed(VqaImage image, VqaQuestion question, string reason)
    {
        error.WriteLine($"captum: error: {question.Named}: {reason}");
        seen.Add(question);
        failures.Add(new ExplanationFailure(image.Path, question.Text, question.Label, reason));
    }

    /// <summary>
    /// The run stopped before every question was asked (cancelled, or an unexpected error): the questions not reached
    /// are kept for result.json as not run, with <paramref name="reason"/>, so that what was answered is written by
    /// <see cref="Finish"/> and nothing is lost.
    /// </summary>
    public void Interrupted(string reason)
    {
        var notRun = request.Images.SelectMany(i => i.Questions.Select(q => (Image: i, Question: q))).Where(x => !seen.Contains(x.Question)).ToList();
        foreach (var (image, question) in notRun)
        {
            failures.Add(new ExplanationFailure(image.Path, question.Text, question.Label, $"not run: {reason}"));
        }

        error.WriteLine($"captum: {reason} after {results.Count + failures.Count - notRun.Count} of {results.Count + failures.Count} questions; {notRun.Count} not run.");
    }

    /// <summary>
    /// When a question was answered, writes report.html and, when asked, result.json into the output folder, says
    /// where they are and, when some questions failed, how many; writes nothing when none was answered.
    /// </summary>
    public void Finish(string modelName)
    {
        if (results.Count == 0)
        {
            return;
        }

        Directory.CreateDirectory(request.OutDir);
        var reportPath = Path.Combine(request.OutDir, "report.html");
        report.Save(reportPath);
        output.WriteLine($"Report: {reportPath}");
        if (request.Json)
        {
            var jsonPath = Path.Combine(request.OutDir, "result.json");
            var methods = request.Methods.Select(m => m.Name).ToList();
            var document = new ExplanationResultDocument(modelName, request.Images.Count == 1 ? request.Images[0].Path : null, request.Steps, methods[0], methods, results, failures);
            File.WriteAllText(jsonPath, document.ToJson());
            output.WriteLine($"JSON: {jsonPath}");
        }
        else if (ExplanationResultDocument.StaleFileWarning(request.OutDir) is { } stale)
        {
            error.WriteLine(stale);
        }

        if (failures.Count > 0)
        {
            error.WriteLine($"captum: {failures.Count} of {failures.Count + results.Count} questions failed (listed above{(request.Json ? " and in result.json" : string.Empty)}); the {results.Count} answered are in {request.OutDir}.");
        }
    }
}
