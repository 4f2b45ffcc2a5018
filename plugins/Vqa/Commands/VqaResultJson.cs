using System.Text.Json;
using Captum.Explain;

namespace Captum.Plugins.Vqa.Commands;

/// <summary>result.json of <c>captum vqa --json</c>.</summary>
/// <param name="Model">The model's name.</param>
/// <param name="Image">The image, when there is one (null for a batch of several).</param>
/// <param name="Steps">Integration steps.</param>
/// <param name="Method">The first method: the one whose numbers are at the top level of each result.</param>
/// <param name="Methods">Every method, in order.</param>
/// <param name="Results">One result per question answered, in order.</param>
/// <param name="Failures">The questions that failed, in order, with why.</param>
internal sealed record VqaResultDocument(string Model, string? Image, int Steps, string Method, IReadOnlyList<string> Methods, IReadOnlyList<VqaQuestionResult> Results, IReadOnlyList<VqaFailure> Failures)
{
    private static readonly JsonSerializerOptions Options = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>The document as indented JSON, with camelCase names.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Options);
}

/// <summary>A question that failed.</summary>
/// <param name="Image">Its image.</param>
/// <param name="Question">The question.</param>
/// <param name="Entry">What gave it: <c>--question</c>, or its place in the batch file (<c>--batch FILE: scenes[1].questions[0]</c>).</param>
/// <param name="Reason">Why it failed.</param>
internal sealed record VqaFailure(string Image, string Question, string Entry, string Reason);

/// <summary>One question's answer and the first method's numbers, then every method's.</summary>
internal sealed record VqaQuestionResult(
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
    IReadOnlyDictionary<string, VqaMethodResult> Methods)
{
    /// <summary>The result of a question from its explanations by method (the first gives the top-level numbers).</summary>
    public static VqaQuestionResult Of(string image, string question, string? expected, IReadOnlyList<(string Method, Explanation Explanation)> explanations)
    {
        var first = explanations[0].Explanation;
        var summary = VqaMethodResult.Of(first);
        var methods = new Dictionary<string, VqaMethodResult>(StringComparer.Ordinal);
        foreach (var (method, explanation) in explanations)
        {
            methods.Add(method, VqaMethodResult.Of(explanation));
        }

        return new VqaQuestionResult(
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
            methods);
    }
}

/// <summary>One method's numbers: per-token attributions, text and image contributions, total and delta (null for methods without one).</summary>
internal sealed record VqaMethodResult(IReadOnlyList<float>? TokenAttributions, double TextContribution, double ImageContribution, double TotalContribution, double? Delta)
{
    /// <summary>The numbers of an explanation.</summary>
    public static VqaMethodResult Of(Explanation e) => new(
        e.Inputs.FirstOrDefault(i => i.Display is TextDisplay)?.TokenAttributions,
        e.ContributionOf<TextDisplay>(),
        e.ContributionOf<ImageDisplay>(),
        e.TotalContribution,
        double.IsNaN(e.Delta) ? null : e.Delta);
}
