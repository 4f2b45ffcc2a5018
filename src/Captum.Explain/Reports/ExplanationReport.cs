using System.Globalization;
using Captum.Plugins;
using Captum.Visualization;

namespace Captum.Explain.Reports;

/// <summary>
/// The HTML report of explanations, as Captum's VQA tutorial shows them: per example (a question), the words
/// coloured by importance (visualize_text), the image beside its attribution magnitude
/// (visualize_image_attr_multiple with the tutorial's white-to-black colour map and a colour bar), and the text,
/// image and total contributions (each input's by its name for other inputs than one question and one image); several
/// strategies' explanations of one example side by side. Any model whose inputs are shown as <see cref="TextDisplay"/>
/// and <see cref="ImageDisplay"/> fits.
/// </summary>
/// <param name="title">The page's title.</param>
public sealed class ExplanationReport(string title)
{
    /// <summary>The tutorial's "custom blue" colour map.</summary>
    private static readonly ColorMap CustomBlue = ColorMap.FromList("custom blue", [(0.0, "#ffffff"), (0.25, "#252b36"), (1.0, "#000000")]);

    private readonly HtmlReport report = new(title);
    private int questionLevel = 2;

    /// <summary>Starts a section (e.g. one image); the questions that follow become its subsections.</summary>
    public void AddSection(string heading)
    {
        report.AddHeading(heading, 2);
        questionLevel = 3;
    }

    /// <summary>One example: the words per method, then the image beside each method's heat map, then the contributions.</summary>
    /// <param name="question">The example's heading, e.g. the question.</param>
    /// <param name="explanations">The explanations of the example, by strategy name; at least one; the first gives the predicted answer.</param>
    /// <param name="expected">The expected answer, when known.</param>
    /// <param name="labels">The model's labels, to name the predicted answer when a target explains another and the explanation does not name it (<see cref="Explanation.PredictedLabel"/>); null leaves the explanation's name.</param>
    /// <exception cref="ArgumentException">No explanations are given.</exception>
    public void Add(string question, IReadOnlyList<(string Method, Explanation Explanation)> explanations, string? expected = null, IReadOnlyList<string>? labels = null)
    {
        ArgumentNullException.ThrowIfNull(explanations);
        if (explanations.Count == 0)
        {
            throw new ArgumentException("at least one explanation is needed.", nameof(explanations));
        }

        var first = explanations[0].Explanation;
        var predicted = PredictedLabel(first, labels);
        report.AddHeading(question, questionLevel);
        report.AddParagraph(string.Create(
            CultureInfo.InvariantCulture,
            $"{(first.LabelIndex == first.PredictedIndex ? "Predicted" : "Explained")} answer: {first.Label} (probability {first.Probability:0.####}){(first.LabelIndex == first.PredictedIndex ? string.Empty : $", not the predicted answer {predicted}")}{(expected is null ? string.Empty : $" · expected answer: {expected}")}"));

        // Words first, then the image, as the tutorial shows them; one row (and one heat map) per method. The row is
        // Captum's VisualizationDataRecord: the predicted class and its probability, the true class (unknown: a dash),
        // and the class the attributions are of.
        var records = new List<VisualizationDataRecord>();
        foreach (var (method, e) in explanations)
        {
            if (e.Inputs.FirstOrDefault(i => i.Display is TextDisplay) is { TokenAttributions: { } tokens } text)
            {
                var norm = Math.Sqrt(tokens.Sum(t => (double)t * t));
                var normalized = tokens.Select(t => norm > 0 ? t / norm : 0.0).ToArray();
                var label = explanations.Count > 1 ? $"{e.Label} ({method})" : e.Label;
                records.Add(new VisualizationDataRecord(
                    normalized, e.PredictedProbability ?? double.NaN, PredictedLabel(e, labels), expected ?? "–", label, text.Contribution, ((TextDisplay)text.Display).Tokens, double.IsNaN(e.Delta) ? 0 : e.Delta));
            }
        }

        if (records.Count > 0)
        {
            report.AddText(records);
        }

        var imageIndex = first.Inputs.ToList().FindIndex(i => i.Display is ImageDisplay);
        if (imageIndex >= 0)
        {
            // One figure: the original, then each method's attribution magnitude, side by side.
            var original = ((ImageDisplay)first.Inputs[imageIndex].Display).Image.detach().cpu();
            var figure = VisualizationFigure.Subplots(1 + explanations.Count, new FigureSize(4 * (1 + explanations.Count), 4));
            ImageVisualizer.VisualizeImageAttr(
                original, original, TensorImageLayout.Chw, ImageVisualizationMethod.OriginalImage, VisualizationSign.All, panel: figure.Panels[0], title: "Original Image");
            for (var m = 0; m < explanations.Count; m++)
            {
                var title = explanations.Count > 1 ? $"Attribution Magnitude ({explanations[m].Method})" : "Attribution Magnitude";
                ImageVisualizer.VisualizeImageAttr(
                    explanations[m].Explanation.Inputs[imageIndex].Attribution.detach().cpu(), original, TensorImageLayout.Chw,
                    ImageVisualizationMethod.HeatMap, VisualizationSign.AbsoluteValue, panel: figure.Panels[m + 1], cmap: CustomBlue, showColorBar: true, title: title);
            }

            report.AddFigure(figure);
        }

        foreach (var (method, e) in explanations)
        {
            var prefix = explanations.Count > 1 ? $"{method}: " : string.Empty;
            var delta = double.IsNaN(e.Delta) ? string.Empty : string.Create(CultureInfo.InvariantCulture, $" · convergence delta {e.Delta:G3}");
            report.AddParagraph(string.Create(
                CultureInfo.InvariantCulture,
                $"{prefix}{Contributions(e)} · Total Contribution: {e.TotalContribution:G6}{delta}"));
        }
    }

    /// <summary>
    /// The tutorial's "Text Contributions: · Image Contributions:" for a question and an image; for any other inputs
    /// (text alone, two texts, tabular features) each input's by its name, so that no input is hidden and none that the
    /// model lacks is shown as 0.
    /// </summary>
    private static string Contributions(Explanation e) =>
        e.Inputs.Count == 2 && e.Inputs.Count(i => i.Display is TextDisplay) == 1 && e.Inputs.Count(i => i.Display is ImageDisplay) == 1
            ? string.Create(CultureInfo.InvariantCulture, $"Text Contributions: {e.ContributionOf<TextDisplay>():G6} · Image Contributions: {e.ContributionOf<ImageDisplay>():G6}")
            : string.Join(" · ", e.Inputs.Select(i => string.Create(CultureInfo.InvariantCulture, $"{i.Display.Name} Contribution: {i.Contribution:G6}")));

    /// <summary>The predicted class's label: the explanation's, or <paramref name="labels"/>' when the explanation knows it only by its index.</summary>
    private static string PredictedLabel(Explanation e, IReadOnlyList<string>? labels) =>
        e.PredictedIndex != e.LabelIndex && labels is not null && e.PredictedIndex >= 0 && e.PredictedIndex < labels.Count ? labels[(int)e.PredictedIndex] : e.PredictedLabel;

    /// <summary>Writes the report as one self-contained HTML file.</summary>
    public void Save(string path) => report.Save(path);

    /// <summary>The report as one self-contained HTML page (what <see cref="Save"/> writes).</summary>
    public string ToHtml() => report.ToHtml();
}
