using System.Globalization;
using Captum.Attr;
using Captum.Plugins;
using Captum.Visualization;
using TorchSharp;

namespace Captum.Cli;

/// <summary>
/// The HTML report of a run, as the tutorial shows it: per question, the words coloured by importance
/// (visualize_text), the image beside its attribution magnitude (visualize_image_attr_multiple with the
/// tutorial's white-to-black colour map and a colour bar), and the text, image and total contributions.
/// </summary>
internal sealed class ReportBuilder(string title)
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

    /// <summary>Adds a question: the answer, the words coloured by importance, the image and its attribution, the contributions.</summary>
    /// <param name="question">The question.</param>
    /// <param name="explanation">The explained answer.</param>
    /// <param name="expected">The expected answer, when known; shown as the target label.</param>
    public void Add(string question, Explanation explanation, string? expected = null)
    {
        report.AddHeading(question, questionLevel);
        report.AddParagraph(string.Create(
            CultureInfo.InvariantCulture,
            $"Predicted answer: {explanation.Label} (probability {explanation.Probability:0.####}){(expected is null ? string.Empty : $" · expected answer: {expected}")}"));
        // Words first, then the image, as the tutorial shows them.
        foreach (var input in explanation.Inputs.OrderBy(i => i.Display is TextDisplay ? 0 : 1))
        {
            switch (input.Display)
            {
                case TextDisplay text when input.TokenAttributions is { } tokens:
                    var norm = Math.Sqrt(tokens.Sum(t => (double)t * t));
                    var normalized = tokens.Select(t => norm > 0 ? t / norm : 0.0).ToArray();
                    report.AddText([new VisualizationDataRecord(normalized, explanation.Probability, explanation.Label, expected ?? explanation.Label, explanation.Label, input.Contribution, text.Tokens, explanation.Delta)]);
                    break;
                case ImageDisplay image:
                    var (figure, _) = ImageVisualizer.VisualizeImageAttrMultiple(
                        input.Attribution.detach().cpu(),
                        image.Image.detach().cpu(),
                        TensorImageLayout.Chw,
                        [ImageVisualizationMethod.OriginalImage, ImageVisualizationMethod.HeatMap],
                        [VisualizationSign.All, VisualizationSign.AbsoluteValue],
                        titles: ["Original Image", "Attribution Magnitude"],
                        cmap: CustomBlue,
                        showColorBar: true);
                    report.AddFigure(figure);
                    break;
            }
        }

        var textContribution = explanation.Inputs.FirstOrDefault(i => i.Display is TextDisplay)?.Contribution ?? 0;
        var imageContribution = explanation.Inputs.FirstOrDefault(i => i.Display is ImageDisplay)?.Contribution ?? 0;
        report.AddParagraph(string.Create(
            CultureInfo.InvariantCulture,
            $"Text Contributions: {textContribution:G6} · Image Contributions: {imageContribution:G6} · Total Contribution: {explanation.TotalContribution:G6} · convergence delta {explanation.Delta:G3}"));
    }

    public void Save(string path) => report.Save(path);
}
