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
