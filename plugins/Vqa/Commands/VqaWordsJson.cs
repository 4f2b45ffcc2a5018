using System.Text.Json;
using Captum.Plugins.Vqa.Scenes;

namespace Captum.Plugins.Vqa.Commands;

/// <summary>The JSON file of <c>captum vqa-words --json</c>: the settings and headline counts, the figures overall and by kind, then every question.</summary>
internal sealed record VqaWordsDocument(
    string Command,
    string Model,
    long? ModelTrainingSeed,
    int Scenes,
    long Seed,
    int Steps,
    string Target,
    string RemovedWord,
    int Questions,
    int CorrectQuestions,
    double Accuracy,
    double EfficiencyMaxError,
    VqaWordsFigures Overall,
    IReadOnlyDictionary<string, VqaWordsFigures> ByKind,
    IReadOnlyList<VqaWordsItem> Items)
{
    private static readonly JsonSerializerOptions Options = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>The document of a report.</summary>
    public static VqaWordsDocument Of(WordRankingReport report, string command, string model, long? trainingSeed) => new(
        command,
        model,
        trainingSeed,
        report.Options.Scenes,
        report.Options.Seed,
        report.Options.Steps,
        "the correct answer's logit",
        "pad",
        report.Items.Count,
        report.Overall.Questions,
        report.Accuracy,
        report.EfficiencyMaxError,
        VqaWordsFigures.Of(report.Overall),
        report.ByKind.ToDictionary(kv => Name(kv.Key.ToString()), kv => VqaWordsFigures.Of(kv.Value)),
        report.Items.Select(VqaWordsItem.Of).ToList());

    /// <summary>A method's or kind's name in the document: camelCase.</summary>
    public static string Name(string name) => JsonNamingPolicy.CamelCase.ConvertName(name);

    /// <summary>The document as indented JSON, with camelCase names.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Options);
}

/// <summary>The figures over a set of correctly answered questions.</summary>
/// <param name="Questions">The questions.</param>
/// <param name="WordChance">The mean of 1 / words.</param>
/// <param name="Methods">Per method (camelCase): the share of questions whose key word it ranks first, and each first word's share.</param>
/// <param name="Pairs">Per pair of methods ("first/second"): top-1 agreement and the mean Spearman correlation (null when undefined).</param>
internal sealed record VqaWordsFigures(
    int Questions,
    double WordChance,
    IReadOnlyDictionary<string, VqaWordsMethod> Methods,
    IReadOnlyDictionary<string, VqaWordsPair> Pairs)
{
    public static VqaWordsFigures Of(WordRankingFigures figures) => new(
        figures.Questions,
        figures.WordChance,
        figures.Methods.ToDictionary(kv => VqaWordsDocument.Name(kv.Key.ToString()), kv => new VqaWordsMethod(kv.Value.KeyWordTop, kv.Value.TopWords)),
        figures.Pairs.ToDictionary(
            p => VqaWordsDocument.Name(p.First.ToString()) + "/" + VqaWordsDocument.Name(p.Second.ToString()),
            p => new VqaWordsPair(p.TopAgreement, double.IsNaN(p.MeanSpearman) ? null : p.MeanSpearman, p.SpearmanQuestions)));
}

/// <summary>What one method ranks first.</summary>
internal sealed record VqaWordsMethod(double KeyWordTop, IReadOnlyDictionary<string, double> TopWords);

/// <summary>How two methods agree.</summary>
internal sealed record VqaWordsPair(double TopAgreement, double? MeanSpearman, int SpearmanQuestions);

/// <summary>One question: its words and every method's values of them.</summary>
internal sealed record VqaWordsItem(
    int Scene,
    string Question,
    string Answer,
    string Kind,
    string KeyWord,
    bool Correct,
    double Full,
    double Empty,
    IReadOnlyList<string> Words,
    IReadOnlyDictionary<string, IReadOnlyList<double>> Values)
{
    public static VqaWordsItem Of(WordRankingQuestion q) => new(
        q.Scene,
        q.Text,
        q.Answer,
        VqaWordsDocument.Name(q.Kind.ToString()),
        q.Words[q.KeyWordIndex],
        q.Correct,
        q.Full,
        q.Empty,
        q.Words,
        q.Values.ToDictionary(kv => VqaWordsDocument.Name(kv.Key.ToString()), kv => kv.Value));
}
