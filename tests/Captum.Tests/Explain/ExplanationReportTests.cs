using System.Globalization;
using System.Text.Json;
using Captum.Explain;
using Captum.Explain.Reports;
using Captum.Explain.Results;
using Captum.Plugins;
using Captum.Plugins.Vqa;
using Captum.Tests.Checkpoints;
using TorchSharp;
using Xunit;

namespace Captum.Tests.Explain;

/// <summary>
/// An explanation of a chosen target (not the predicted class) names both: the report's word table (Captum's
/// VisualizationDataRecord: pred_class, true_class, attr_class) and the result document (result.json, Insights' answer).
/// </summary>
public sealed class ExplanationReportTests
{
    private const string Question = "what color is the circle";

    [Fact]
    public void Explain_TargetOtherThanThePrediction_NamesThePredictedClassWithItsProbability()
    {
        using var scope = torch.NewDisposeScope();
        using var model = VqaModel.LoadDefault();
        using var pair = TwoExplanations(model);
        var (predicted, explained) = pair;

        Assert.NotEqual(explained.LabelIndex, explained.PredictedIndex);
        Assert.Equal(predicted.LabelIndex, explained.PredictedIndex);
        Assert.Equal(predicted.Label, explained.PredictedLabel);
        Assert.Equal(predicted.Probability, explained.PredictedProbability);
        Assert.Equal(predicted.Label, predicted.PredictedLabel);
        Assert.Equal(predicted.Probability, predicted.PredictedProbability);
    }

    [Fact]
    public void Add_TargetOtherThanThePredictionAndNoExpectedAnswer_WordTableIsPredictedExplainedAndNoTrueLabel()
    {
        using var scope = torch.NewDisposeScope();
        using var model = VqaModel.LoadDefault();
        using var pair = TwoExplanations(model);
        var (predicted, explained) = pair;
        var report = new ExplanationReport("report");

        report.Add(Question, [("layer-ig", explained)]);

        // Captum's columns: True Label, Predicted Label (probability), Attribution Label, Attribution Score.
        var html = report.ToHtml();
        Assert.Contains(Cells("–", string.Create(CultureInfo.InvariantCulture, $"{predicted.Label} ({predicted.Probability:F2})"), explained.Label), html, StringComparison.Ordinal);
    }

    [Fact]
    public void Add_TextOnlyExplanation_ContributionsNameItsInputsAndNoImage()
    {
        using var scope = torch.NewDisposeScope();
        InputExplanation Text(string name, float a, float b) =>
            new(new TextDisplay(name, "good movie", ["good", "movie"]), torch.tensor(new[] { a, b }).unsqueeze(0), a + b, [a, b]);
        using var explanation = new Explanation("pos", 1, 1, 0.6, [0.1f, 0.5f], [Text("title", 0.25f, 0.5f), Text("review", 1f, 0.5f)], double.NaN);
        var report = new ExplanationReport("report");

        report.Add("good movie", [("layer-ig", explanation)]);

        // A model without an image had "Image Contributions: 0" and only its first text input's contribution.
        var html = report.ToHtml();
        Assert.Contains("title Contribution: 0.75 · review Contribution: 1.5 · Total Contribution: 2.25", html, StringComparison.Ordinal);
        Assert.DoesNotContain("Image Contributions", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Add_ExpectedAnswerGiven_IsTheTrueLabel()
    {
        using var scope = torch.NewDisposeScope();
        using var model = VqaModel.LoadDefault();
        using var pair = TwoExplanations(model);
        var (predicted, explained) = pair;
        var report = new ExplanationReport("report");

        report.Add(Question, [("layer-ig", explained)], expected: "purple");

        Assert.Contains(Cells("purple", string.Create(CultureInfo.InvariantCulture, $"{predicted.Label} ({predicted.Probability:F2})"), explained.Label), report.ToHtml(), StringComparison.Ordinal);
    }

    [Fact]
    public void Add_PredictedProbabilityUnknown_WordTableShowsThePredictedClassAlone()
    {
        using var scope = torch.NewDisposeScope();
        using var model = VqaModel.LoadDefault();
        using var pair = TwoExplanations(model);
        var (predicted, explained) = pair;

        // As a custom strategy makes it: the predicted class without its probability (the same tensors, disposed once).
        var unknown = new Explanation(explained.Label, explained.LabelIndex, explained.PredictedIndex, explained.Probability, explained.Logits, explained.Inputs, explained.Delta);
        var report = new ExplanationReport("report");
        report.Add(Question, [("layer-ig", unknown)]);

        Assert.Null(unknown.PredictedProbability);
        var html = report.ToHtml();
        Assert.Contains(Cells("–", $"#{predicted.LabelIndex}", explained.Label), html, StringComparison.Ordinal);
        Assert.DoesNotContain("NaN", html, StringComparison.Ordinal);
    }

    [Fact]
    public void ResultOf_TargetOtherThanThePrediction_HasThePredictedClassBesideTheExplainedOne()
    {
        using var scope = torch.NewDisposeScope();
        using var model = VqaModel.LoadDefault();
        using var pair = TwoExplanations(model);
        var (predicted, explained) = pair;

        var result = ExplanationQuestionResult.Of("image.png", Question, null, [("layer-ig", explained)]);
        var json = JsonDocument.Parse(new ExplanationResultDocument(model.Name, "image.png", 4, "layer-ig", ["layer-ig"], [result], []).ToJson()).RootElement.GetProperty("results")[0];

        // The explained class stays where it was (answer, answerIndex, probability); the prediction is beside it.
        Assert.Equal(explained.Label, json.GetProperty("answer").GetString());
        Assert.Equal(explained.LabelIndex, json.GetProperty("answerIndex").GetInt64());
        Assert.Equal(explained.Probability, json.GetProperty("probability").GetDouble());
        Assert.Equal(predicted.Label, json.GetProperty("predicted").GetString());
        Assert.Equal(predicted.LabelIndex, json.GetProperty("predictedIndex").GetInt64());
        Assert.Equal(predicted.Probability, json.GetProperty("predictedProbability").GetDouble());
    }

    /// <summary>The question explained for the predicted class, and for the next class (another one).</summary>
    private static Pair TwoExplanations(VqaModel model)
    {
        var prepared = model.Prepare(new Dictionary<string, string> { ["image"] = CheckpointFiles.PathOf("e2e/image.png"), ["question"] = Question });
        var strategy = ExplanationStrategies.LayerIntegratedGradients;
        var predicted = strategy.Explain(model, prepared, new ExplanationOptions { Steps = 4 });
        var other = (predicted.LabelIndex + 1) % model.Labels.Count;
        var explained = strategy.Explain(model, prepared, new ExplanationOptions { Steps = 4, Target = other });
        return new Pair(predicted, explained);
    }

    private sealed record Pair(Explanation Predicted, Explanation Explained) : IDisposable
    {
        public void Dispose()
        {
            Predicted.Dispose();
            Explained.Dispose();
        }
    }

    /// <summary>The word table's first three cells of a row, as Captum's visualize_text writes them.</summary>
    private static string Cells(params string[] texts) =>
        string.Concat(texts.Select(t => $"<td><span style=\"padding-right:2em\"><b>{t}</b></span></td>"));
}
