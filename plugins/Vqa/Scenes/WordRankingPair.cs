namespace Captum.Plugins.Vqa.Scenes;

/// <summary>How two methods' word rankings agree over a set of questions.</summary>
/// <param name="First">One method.</param>
/// <param name="Second">The other.</param>
/// <param name="TopAgreement">The share of questions where both rank the same word first.</param>
/// <param name="MeanSpearman">
/// The mean over questions of Spearman's rank correlation of the two methods' word values (ties as average ranks),
/// over the questions where neither method gives every word the same value (NaN if there are none).
/// </param>
/// <param name="SpearmanQuestions">The questions the mean is over.</param>
public sealed record WordRankingPair(WordRankingMethod First, WordRankingMethod Second, double TopAgreement, double MeanSpearman, int SpearmanQuestions);
