namespace Captum.Plugins.Vqa.Scenes;

/// <summary>What one method ranks first over a set of questions.</summary>
/// <param name="KeyWordTop">The share of questions whose key word it ranks first (vqa-eval's word test).</param>
/// <param name="TopWords">How often each word is ranked first, as shares of the questions, commonest first.</param>
public sealed record WordRankingTops(double KeyWordTop, IReadOnlyDictionary<string, double> TopWords);
