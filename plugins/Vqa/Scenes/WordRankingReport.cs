namespace Captum.Plugins.Vqa.Scenes;

/// <summary>What <see cref="WordRanking.Evaluate"/> found.</summary>
/// <param name="Options">The options it ran with.</param>
/// <param name="Items">Every question, correctly answered or not.</param>
/// <param name="Accuracy">The share of questions the model answered correctly.</param>
/// <param name="Overall">The figures over the correctly answered questions (those vqa-eval's word test counts).</param>
/// <param name="ByKind">The same per question kind.</param>
/// <param name="EfficiencyMaxError">The largest |sum of Shapley values - (f(all words) - f(all pad))| over every question: a sanity figure, rounding only.</param>
public sealed record WordRankingReport(
    WordRankingOptions Options,
    IReadOnlyList<WordRankingQuestion> Items,
    double Accuracy,
    WordRankingFigures Overall,
    IReadOnlyDictionary<QuestionKind, WordRankingFigures> ByKind,
    double EfficiencyMaxError);
