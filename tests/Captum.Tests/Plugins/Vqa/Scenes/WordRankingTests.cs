using Captum.Attr;
using Captum.Forward;
using Captum.Plugins.Vqa;
using Captum.Plugins.Vqa.Scenes;
using FsCheck.Xunit;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Plugins.Vqa.Scenes;

/// <summary>
/// The word-ranking study's arithmetic: Shapley values from all coalitions against Captum's ShapleyValues (all
/// orders), efficiency, the single-word drops, the rank helpers and the figures.
/// </summary>
public sealed class WordRankingTests
{
    /// <summary>A game on token rows: token i is present when it is not 0 (the pad), and the row's value is the table's entry of the present set.</summary>
    private static Tensor TableGame(Tensor tokens, double[] table)
    {
        var n = tokens.shape[1];
        var bits = torch.tensor(Enumerable.Range(0, (int)n).Select(i => 1L << i).ToArray()).unsqueeze(0);
        var coalition = ((tokens != 0).to(ScalarType.Int64) * bits).sum(dim: 1);
        return torch.tensor(table, dtype: ScalarType.Float64)[coalition];
    }

    private static double[] RandomTable(int seed, int n)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, 1 << n).Select(_ => (random.NextDouble() * 20) - 10).ToArray();
    }

    [Property(MaxTest = 10)]
    public void ExactShapley_AnyGameOfUpToSixWords_EqualsShapleyValuesOverAllOrders(int seed)
    {
        using var scope = torch.NewDisposeScope();
        var n = new Random(seed).Next(1, 7);
        var table = RandomTable(seed, n);
        using var tokens = torch.arange(1, n + 1, dtype: ScalarType.Int64).unsqueeze(0);

        var values = WordRanking.CoalitionValues(tokens, pad: 0, batch => TableGame(batch, table));
        var exact = WordRanking.ExactShapley(values);

        Assert.Equal(table, values);
        var forward = (ForwardFunction)((Func<Tensor, Tensor>)(q => TableGame(q, table)));
        using var captum = new ShapleyValues(forward).Attribute(Inputs.Of(tokens), new ShapleyValuesOptions { Baselines = 0.0, PerturbationsPerEval = 8 });
        var expected = captum[0].reshape(-1).to(ScalarType.Float64).data<double>().ToArray();
        Assert.Equal(n, exact.Length);
        for (var i = 0; i < n; i++)
        {
            Assert.Equal(expected[i], exact[i], 9);
        }
    }

    [Property(MaxTest = 20)]
    public void ExactShapley_AnyGame_SumsToAllMinusNone(int seed)
    {
        var n = new Random(seed).Next(1, 10);
        var table = RandomTable(seed, n);

        var shapley = WordRanking.ExactShapley(table);

        Assert.Equal(table[^1] - table[0], shapley.Sum(), 9);
    }

    [Fact]
    public void ExactShapleyAndDrops_AdditiveGameWithAnInteraction_AreTheWeightsAndSplitTheInteraction()
    {
        // v(S) = sum of w_i over S, plus 6 when players 0 and 2 are both in S.
        double[] w = [1.5, -2, 4];
        var table = Enumerable.Range(0, 8).Select(c => Enumerable.Range(0, 3).Where(i => ((c >> i) & 1) == 1).Sum(i => w[i]) + ((c & 5) == 5 ? 6 : 0)).ToArray();

        var shapley = WordRanking.ExactShapley(table);
        var drops = WordRanking.SingleDrops(table);

        Assert.Equal([1.5 + 3, -2, 4 + 3], shapley.Select(v => Math.Round(v, 12)));
        Assert.Equal([1.5 + 6, -2, 4 + 6], drops.Select(v => Math.Round(v, 12)));
    }

    [Fact]
    public void ExactShapley_CountNotAPowerOfTwo_ThrowsNamingValues()
    {
        var ex = Assert.Throws<ArgumentException>(() => WordRanking.ExactShapley([1.0, 2.0, 3.0]));

        Assert.Equal("values", ex.ParamName);
    }

    [Fact]
    public void CoalitionValues_TooManyTokens_ThrowsNamingTokens()
    {
        using var scope = torch.NewDisposeScope();

        var ex = Assert.Throws<ArgumentException>(() => WordRanking.CoalitionValues(torch.ones(1, WordRanking.MaxWords + 1, dtype: ScalarType.Int64), 0, q => q.sum(dim: 1)));

        Assert.Equal("tokens", ex.ParamName);
    }

    [Fact]
    public void Spearman_IdenticalReversedAndTiedRankings_IsOneMinusOneAndUsesAverageRanks()
    {
        double[] values = [0.3, -1, 2, 7, 0];

        Assert.Equal(1.0, WordRanking.Spearman(values, values.Select(v => (10 * v) + 1).ToArray()), 12);
        Assert.Equal(-1.0, WordRanking.Spearman(values, values.Select(v => -v).ToArray()), 12);

        // Ranks [1, 2.5, 2.5, 4] against [1, 2, 3, 4]: covariance 4.5, variances 4.5 and 5.
        Assert.Equal(3 / Math.Sqrt(10), WordRanking.Spearman([1.0, 2, 2, 3], [1.0, 2, 3, 4]), 12);
        Assert.Equal([3.5, 1, 3.5, 2], WordRanking.AverageRanks([3.0, 1, 3, 2]));
        Assert.True(double.IsNaN(WordRanking.Spearman([1.0, 1, 1], [1.0, 2, 3])));
    }

    [Fact]
    public void TopIndex_EqualLargestValues_IsTheFirst()
    {
        Assert.Equal(1, WordRanking.TopIndex([0.0, 2, -1, 2]));
    }

    [Fact]
    public void Figures_OfHandMadeQuestions_CountAgreementKeyWordsAndTopWords()
    {
        static WordRankingQuestion Question(QuestionKind kind, string text, int key, double[] ig, double[] shapley, double[] drop) => new(
            0,
            text,
            "x",
            kind,
            key,
            true,
            new Dictionary<WordRankingMethod, IReadOnlyList<double>>
            {
                [WordRankingMethod.IntegratedGradients] = ig,
                [WordRankingMethod.IntegratedGradientsWordsOnly] = ig,
                [WordRankingMethod.Shapley] = shapley,
                [WordRankingMethod.Drop] = drop,
            },
            0,
            0,
            0);
        WordRankingQuestion[] questions =
        [
            Question(QuestionKind.Count, "how many circles are there", 2, [0, 0, 1, 0, 3], [0, 0, 1, 0, 2], [0, 0, 5, 1, 2]),
            Question(QuestionKind.Color, "what color is the circle", 4, [0, 3, 0, 0, 1], [0, 1, 0, 0, 3], [1, 1, 1, 1, 1]),
        ];

        var figures = WordRankingFigures.Of(questions);

        Assert.Equal(2, figures.Questions);
        Assert.Equal(0.2, figures.WordChance, 12);
        Assert.Equal(0.0, figures.Methods[WordRankingMethod.IntegratedGradients].KeyWordTop);
        Assert.Equal(0.5, figures.Methods[WordRankingMethod.Shapley].KeyWordTop);
        Assert.Equal(0.5, figures.Methods[WordRankingMethod.Drop].KeyWordTop);
        Assert.Equal(["color", "there"], figures.Methods[WordRankingMethod.IntegratedGradients].TopWords.Keys.Order());
        Assert.Equal(0.5, figures.Pair(WordRankingMethod.IntegratedGradients, WordRankingMethod.Shapley).TopAgreement);
        Assert.Equal(0.0, figures.Pair(WordRankingMethod.IntegratedGradients, WordRankingMethod.Drop).TopAgreement);

        // The drop is constant on the second question: only the first counts towards its Spearman means.
        var igDrop = figures.Pair(WordRankingMethod.Drop, WordRankingMethod.IntegratedGradients);
        Assert.Equal(1, igDrop.SpearmanQuestions);
        Assert.Equal(WordRanking.Spearman(questions[0].Values[WordRankingMethod.IntegratedGradients], questions[0].Values[WordRankingMethod.Drop]), igDrop.MeanSpearman, 12);
        Assert.Equal(2, figures.Pair(WordRankingMethod.IntegratedGradients, WordRankingMethod.Shapley).SpearmanQuestions);
    }

    [Fact]
    public void Evaluate_ZeroScenesOrSteps_ThrowsNamingOptions()
    {
        using var model = VqaModel.LoadDefault();

        Assert.Equal("options", Assert.Throws<ArgumentException>(() => WordRanking.Evaluate(model, new WordRankingOptions { Scenes = 0 })).ParamName);
        Assert.Equal("options", Assert.Throws<ArgumentException>(() => WordRanking.Evaluate(model, new WordRankingOptions { Steps = 0 })).ParamName);
    }
}

/// <summary>The coalition values on the shipped scenes model, against Captum.Attr's ShapleyValues on the same question.</summary>
public sealed class WordRankingSceneModelTests
{
    [Fact]
    public void ExactShapley_FiveWordSceneQuestion_EqualsShapleyValuesOnTheModel()
    {
        using var scope = torch.NewDisposeScope();
        using var model = VqaModel.LoadDefault();
        var scene = new SceneGenerator().Generate(4242, 0);
        var question = scene.Questions.First(q => q.Words.Count == 5);
        using var image = scene.ToImage();
        var (original, normalized) = model.Transform.Apply(image);
        var prepared = model.Prepare(original, normalized, question.Text);
        var (v, tokens, length) = (prepared.Inputs[0], prepared.Inputs[1], (Tensor)prepared.AdditionalForwardArgs[0]!);
        var target = model.AnswerIndices[question.Answer];

        var values = WordRanking.CoalitionValues(
            tokens,
            model.Encoder.PadIndex,
            q => model.Forward.Invoke(v.expand(q.shape[0], -1, -1, -1), q, length.expand(q.shape[0]))[.., target]);
        var exact = WordRanking.ExactShapley(values);

        var forward = (ForwardFunction)((Func<Tensor, Tensor, Tensor, Tensor>)((q, image, qLength) => model.Forward.Invoke(image, q, qLength)));
        using var noGrad = torch.no_grad();
        using var captum = new ShapleyValues(forward).Attribute(Inputs.Of(tokens), new ShapleyValuesOptions
        {
            Baselines = (double)model.Encoder.PadIndex,
            Target = target,
            AdditionalForwardArgs = [v, length],
            PerturbationsPerEval = 60,
        });
        var expected = captum[0].reshape(-1).to(ScalarType.Float64).data<double>().ToArray();
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(expected[i], exact[i], 1e-4);
        }

        // The ends of the table are the question and the all-pad question.
        using var full = model.Forward.Invoke(v, tokens, length);
        Assert.Equal(full[0, target].item<float>(), values[^1], 1e-5);
    }
}
