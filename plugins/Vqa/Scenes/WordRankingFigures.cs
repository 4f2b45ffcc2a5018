namespace Captum.Plugins.Vqa.Scenes;

/// <summary>The figures of a set of questions.</summary>
/// <param name="Questions">The questions.</param>
/// <param name="WordChance">The mean of 1 / words: the key word's chance of being first in a random ranking.</param>
/// <param name="Methods">Every method's first words.</param>
/// <param name="Pairs">Every pair of methods' agreement, in the order of <see cref="WordRankingMethod"/>.</param>
public sealed record WordRankingFigures(
    int Questions,
    double WordChance,
    IReadOnlyDictionary<WordRankingMethod, WordRankingTops> Methods,
    IReadOnlyList<WordRankingPair> Pairs)
{
    /// <summary>The figures of <paramref name="questions"/>.</summary>
    public static WordRankingFigures Of(IReadOnlyCollection<WordRankingQuestion> questions)
    {
        ArgumentNullException.ThrowIfNull(questions);
        var methods = Enum.GetValues<WordRankingMethod>();
        double Share(Func<WordRankingQuestion, bool> hit) => questions.Count == 0 ? 0 : questions.Count(hit) / (double)questions.Count;
        var tops = methods.ToDictionary(
            m => m,
            m => new WordRankingTops(
                Share(q => q.Top(m) == q.KeyWordIndex),
                questions.GroupBy(q => q.Words[q.Top(m)])
                    .OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal)
                    .ToDictionary(g => g.Key, g => g.Count() / (double)questions.Count, StringComparer.Ordinal)));
        var pairs = new List<WordRankingPair>();
        for (var i = 0; i < methods.Length; i++)
        {
            for (var j = i + 1; j < methods.Length; j++)
            {
                var (a, b) = (methods[i], methods[j]);
                var correlations = questions.Select(q => WordRanking.Spearman(q.Values[a], q.Values[b])).Where(r => !double.IsNaN(r)).ToList();
                pairs.Add(new WordRankingPair(a, b, Share(q => q.Top(a) == q.Top(b)), correlations.Count == 0 ? double.NaN : correlations.Average(), correlations.Count));
            }
        }

        return new WordRankingFigures(questions.Count, questions.Count == 0 ? 0 : questions.Average(q => 1.0 / q.Words.Count), tops, pairs);
    }

    /// <summary>The agreement of <paramref name="first"/> and <paramref name="second"/> (in either order).</summary>
    public WordRankingPair Pair(WordRankingMethod first, WordRankingMethod second) =>
        Pairs.Single(p => (p.First == first && p.Second == second) || (p.First == second && p.Second == first));
}
