namespace Captum.Plugins.Vqa.Scenes;

/// <summary>The figures of one model over a set of questions.</summary>
/// <param name="Questions">The questions the figures are over.</param>
/// <param name="PointingQuestions">Of those, the questions with deciding objects (the pointing game's and the mass's).</param>
/// <param name="PointingGame">The share of pointing questions whose attribution peak lies on a deciding object.</param>
/// <param name="MassOnObjects">The mean share of positive attribution mass on the deciding objects.</param>
/// <param name="AreaOfObjects">The deciding objects' mean share of the image: the pointing game's and the mass's chance level.</param>
/// <param name="ObjectShare">
/// The deciding objects' mean share of all objects' pixels: the chance level of an attribution that lands on some
/// object at random, as any attribution against a blank-canvas baseline does.
/// </param>
/// <param name="WordTest">The share of questions whose key word got the largest attribution.</param>
/// <param name="WordChance">The word test's chance level: the mean of 1 / words.</param>
/// <param name="DeltaMedian">The median absolute convergence delta.</param>
/// <param name="DeltaMean">The mean absolute convergence delta.</param>
/// <param name="DeltaP90">The 90th percentile of the absolute convergence delta.</param>
/// <param name="DeltaMax">The largest absolute convergence delta.</param>
/// <param name="TopWords">How often each word got the largest attribution, as shares of the questions, commonest first.</param>
public sealed record AttributionFigures(
    int Questions,
    int PointingQuestions,
    double PointingGame,
    double MassOnObjects,
    double AreaOfObjects,
    double ObjectShare,
    double WordTest,
    double WordChance,
    double DeltaMedian,
    double DeltaMean,
    double DeltaP90,
    double DeltaMax,
    IReadOnlyDictionary<string, double> TopWords)
{
    /// <summary>The figures of a set of scores.</summary>
    public static AttributionFigures Of(IReadOnlyCollection<QuestionScore> scores)
    {
        ArgumentNullException.ThrowIfNull(scores);
        var pointing = scores.Where(s => s.HasObjects).ToList();
        var deltas = scores.Select(s => Math.Abs(s.Delta)).Order().ToArray();
        return new AttributionFigures(
            scores.Count,
            pointing.Count,
            Share(pointing, s => s.Pointed),
            Mean(pointing, s => s.Mass),
            Mean(pointing, s => s.Area),
            Mean(pointing, s => s.ObjectShare),
            Share(scores, s => s.WordHit),
            Mean(scores, s => s.WordChance),
            Quantile(deltas, 0.5),
            deltas.Length == 0 ? 0 : deltas.Average(),
            Quantile(deltas, 0.9),
            deltas.Length == 0 ? 0 : deltas[^1],
            scores.GroupBy(s => s.TopWord)
                .OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.Count() / (double)scores.Count, StringComparer.Ordinal));
    }

    private static double Share(IEnumerable<QuestionScore> scores, Func<QuestionScore, bool> hit) =>
        scores.Any() ? scores.Count(hit) / (double)scores.Count() : 0;

    private static double Mean(IEnumerable<QuestionScore> scores, Func<QuestionScore, double> value) =>
        scores.Any() ? scores.Average(value) : 0;

    private static double Quantile(double[] sorted, double q)
    {
        if (sorted.Length == 0)
        {
            return 0;
        }

        var position = q * (sorted.Length - 1);
        var low = (int)Math.Floor(position);
        var high = Math.Min(low + 1, sorted.Length - 1);
        return sorted[low] + ((position - low) * (sorted[high] - sorted[low]));
    }
}
