namespace Captum.Plugins.Vqa.Scenes;

/// <summary>One question's word values under every <see cref="WordRankingMethod"/>, all towards the correct answer's logit.</summary>
/// <param name="Scene">The scene's index in the stream.</param>
/// <param name="Text">The question.</param>
/// <param name="Answer">The correct answer (the explained class).</param>
/// <param name="Kind">The question's kind.</param>
/// <param name="KeyWordIndex">The index of the key word (see <see cref="SceneQuestion.KeyWordIndex"/>).</param>
/// <param name="Correct">Whether the model answered correctly.</param>
/// <param name="Values">Every method's value of each word, in the question's word order.</param>
/// <param name="Full">The explained logit with every word present.</param>
/// <param name="Empty">The explained logit with every word replaced by the pad token (the image kept).</param>
/// <param name="EfficiencyError">The sum of the Shapley values minus (<paramref name="Full"/> - <paramref name="Empty"/>).</param>
public sealed record WordRankingQuestion(
    int Scene,
    string Text,
    string Answer,
    QuestionKind Kind,
    int KeyWordIndex,
    bool Correct,
    IReadOnlyDictionary<WordRankingMethod, IReadOnlyList<double>> Values,
    double Full,
    double Empty,
    double EfficiencyError)
{
    /// <summary>The question's words.</summary>
    public IReadOnlyList<string> Words => Text.Split(' ');

    /// <summary>The index of the word <paramref name="method"/> ranks first (the first of equal values).</summary>
    public int Top(WordRankingMethod method) => WordRanking.TopIndex(Values[method]);
}

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

/// <summary>What one method ranks first over a set of questions.</summary>
/// <param name="KeyWordTop">The share of questions whose key word it ranks first (vqa-eval's word test).</param>
/// <param name="TopWords">How often each word is ranked first, as shares of the questions, commonest first.</param>
public sealed record WordRankingTops(double KeyWordTop, IReadOnlyDictionary<string, double> TopWords);

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
