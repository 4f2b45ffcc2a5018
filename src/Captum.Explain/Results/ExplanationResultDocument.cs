using System.Text.Json;
using Captum.Plugins;

namespace Captum.Explain.Results;

/// <summary>
/// The result document of explained questions: result.json of <c>captum vqa --json</c>, and the answer of Captum
/// Insights' <c>POST /api/explain</c>. Serialized with camelCase names (<see cref="ToJson"/>); the field names are
/// stable, for scripts.
/// </summary>
/// <param name="Model">The model's name.</param>
/// <param name="Image">The image, when there is one (null for a batch of several): its path, an upload's file name, or a dataset example's id.</param>
/// <param name="Steps">Integration steps.</param>
/// <param name="Method">The first method: the one whose numbers are at the top level of each result.</param>
/// <param name="Methods">Every method, in order.</param>
/// <param name="Results">One result per question answered, in order.</param>
/// <param name="Failures">The questions that failed, in order, with why.</param>
public sealed record ExplanationResultDocument(string Model, string? Image, int Steps, string Method, IReadOnlyList<string> Methods, IReadOnlyList<ExplanationQuestionResult> Results, IReadOnlyList<ExplanationFailure> Failures)
{
    /// <summary>The baseline chosen for the run (<see cref="BaselineChoice"/>'s name) when one was chosen; left out of the JSON when null.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? Baseline { get; init; }

    /// <summary>The serializer options of the document: camelCase names, indented.</summary>
    public static JsonSerializerOptions JsonOptions { get; } = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>The document as indented JSON, with camelCase names.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>
    /// The warning for a run that writes only report.html into <paramref name="folder"/> while a result.json of an earlier
    /// run is there: it is left as it is (it may be the user's to keep) but no longer matches the report. Null when there is none.
    /// </summary>
    public static string? StaleFileWarning(string folder)
    {
        var path = Path.Combine(folder, "result.json");
        return File.Exists(path)
            ? $"captum: warning: {path} is from an earlier run: without --json this run does not rewrite it, and it does not match the new report.html."
            : null;
    }
}

/// <summary>A question that failed.</summary>
/// <param name="Image">Its image.</param>
/// <param name="Question">The question.</param>
/// <param name="Entry">What gave it: <c>--question</c>, or its place in the batch file (<c>--batch FILE: scenes[1].questions[0]</c>).</param>
/// <param name="Reason">Why it failed.</param>
public sealed record ExplanationFailure(string Image, string Question, string Entry, string Reason);

/// <summary>One question's answer and the first method's numbers, then every method's.</summary>
/// <param name="TokenAttributions">The first method's per-token attributions of the text input, or null.</param>
/// <param name="TextContribution">The first method's sum over the text input.</param>
/// <param name="ImageContribution">The first method's sum over the image input.</param>
/// <param name="TotalContribution">The first method's sum over every input.</param>
/// <param name="Delta">The first method's convergence delta; null for methods without one.</param>
/// <param name="Image">The image (path, file name or example id).</param>
/// <param name="Question">The question.</param>
/// <param name="Expected">The expected answer, when known.</param>
/// <param name="Answer">The explained answer's label: the predicted one (<see cref="Predicted"/>) unless a target was chosen.</param>
/// <param name="AnswerIndex">The explained answer's class.</param>
/// <param name="Probability">The explained answer's score (its softmax probability unless the model's <c>Scores</c> says otherwise).</param>
/// <param name="Logits">The model's output for every class.</param>
/// <param name="Tokens">The question's tokens, one per token attribution.</param>
/// <param name="Methods">Every method's numbers, by method name, in order.</param>
public sealed record ExplanationQuestionResult(
    IReadOnlyList<float>? TokenAttributions,
    double TextContribution,
    double ImageContribution,
    double TotalContribution,
    double? Delta,
    string Image,
    string Question,
    string? Expected,
    string Answer,
    long AnswerIndex,
    double Probability,
    IReadOnlyList<float> Logits,
    IReadOnlyList<string>? Tokens,
    IReadOnlyDictionary<string, ExplanationMethodResult> Methods)
{
    /// <summary>
    /// The first method's contribution of each of the model's inputs, by the input's name (e.g. <c>image</c> and
    /// <c>question</c>): what <see cref="TextContribution"/> and <see cref="ImageContribution"/> say for a VQA model,
    /// for a model with any inputs.
    /// </summary>
    public IReadOnlyDictionary<string, double> Contributions { get; init; } = new Dictionary<string, double>();

    /// <summary>
    /// The predicted class's label: <see cref="Answer"/> unless a target other than the prediction was explained.
    /// Null in documents written before it was added.
    /// </summary>
    public string? Predicted { get; init; }

    /// <summary>The predicted class: <see cref="AnswerIndex"/> unless a target other than the prediction was explained.</summary>
    public long? PredictedIndex { get; init; }

    /// <summary>The predicted class's score, as <see cref="Probability"/> is the explained class's; null when the explanation does not give it.</summary>
    public double? PredictedProbability { get; init; }

    /// <summary>The result of a question from its explanations by method (the first gives the top-level numbers).</summary>
    /// <exception cref="ArgumentException">No explanations are given.</exception>
    public static ExplanationQuestionResult Of(string image, string question, string? expected, IReadOnlyList<(string Method, Explanation Explanation)> explanations)
    {
        ArgumentNullException.ThrowIfNull(explanations);
        if (explanations.Count == 0)
        {
            throw new ArgumentException("at least one explanation is needed.", nameof(explanations));
        }

        var first = explanations[0].Explanation;
        var summary = ExplanationMethodResult.Of(first);
        var methods = new Dictionary<string, ExplanationMethodResult>(StringComparer.Ordinal);
        foreach (var (method, explanation) in explanations)
        {
            methods.Add(method, ExplanationMethodResult.Of(explanation));
        }

        return new ExplanationQuestionResult(
            summary.TokenAttributions,
            summary.TextContribution,
            summary.ImageContribution,
            summary.TotalContribution,
            summary.Delta,
            image,
            question,
            expected,
            first.Label,
            first.LabelIndex,
            first.Probability,
            first.Logits,
            (first.Inputs.FirstOrDefault(i => i.Display is TextDisplay)?.Display as TextDisplay)?.Tokens,
            methods)
        {
            Contributions = summary.Contributions,
            Predicted = first.PredictedLabel,
            PredictedIndex = first.PredictedIndex,
            PredictedProbability = first.PredictedProbability,
        };
    }
}

/// <summary>One method's numbers: per-token attributions, text and image contributions, total and delta (null for methods without one).</summary>
/// <param name="TokenAttributions">Per-token attributions of the text input, or null.</param>
/// <param name="TextContribution">The sum over the text input.</param>
/// <param name="ImageContribution">The sum over the image input.</param>
/// <param name="TotalContribution">The sum over every input.</param>
/// <param name="Delta">The convergence delta; null for methods without one.</param>
public sealed record ExplanationMethodResult(IReadOnlyList<float>? TokenAttributions, double TextContribution, double ImageContribution, double TotalContribution, double? Delta)
{
    /// <summary>The contribution of each of the model's inputs, by the input's name, in the model's order.</summary>
    public IReadOnlyDictionary<string, double> Contributions { get; init; } = new Dictionary<string, double>();

    /// <summary>
    /// A path method's rows per forward and backward pass (<see cref="Explanation.InternalBatchSize"/>: the one given,
    /// or the one the memory budget chose); left out of the JSON for other methods.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public int? InternalBatchSize { get; init; }

    /// <summary>A perturbation method's perturbations per forward pass (<see cref="Explanation.PerturbationsPerEval"/>); left out of the JSON for other methods.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public int? PerturbationsPerEval { get; init; }

    /// <summary>The numbers of an explanation.</summary>
    public static ExplanationMethodResult Of(Explanation e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var contributions = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var input in e.Inputs)
        {
            contributions[input.Display.Name] = contributions.GetValueOrDefault(input.Display.Name) + input.Contribution;
        }

        return new(
            e.Inputs.FirstOrDefault(i => i.Display is TextDisplay)?.TokenAttributions,
            e.ContributionOf<TextDisplay>(),
            e.ContributionOf<ImageDisplay>(),
            e.TotalContribution,
            double.IsNaN(e.Delta) ? null : e.Delta)
        {
            Contributions = contributions,
            InternalBatchSize = e.InternalBatchSize,
            PerturbationsPerEval = e.PerturbationsPerEval,
        };
    }
}
