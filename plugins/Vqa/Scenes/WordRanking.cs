// Exact Shapley values are computed here from all 2^n coalitions rather than with Captum.Attr's ShapleyValues, which
// averages over all n! orders (9! orders of 9 evaluations for a 9-word question, against 2^9 = 512 evaluations here);
// the tests check both give the same values.
using Captum.Attr;
using Captum.Explain;
using MathNet.Numerics.Statistics;

namespace Captum.Plugins.Vqa.Scenes;

/// <summary>
/// Settles whether the word ranking of Layer Integrated Gradients on the scenes model (vqa-eval's word test: the top
/// word is "there" or "color" far more often than the key word) is the method's doing or the model's: on the same
/// questions, towards the same quantity (the correct answer's logit, as vqa-eval explains it), it ranks the words by
/// Layer Integrated Gradients as vqa-eval does, by Layer Integrated Gradients on the words alone, by their exact
/// Shapley values (a removed word replaced by the pad token, the image kept) and by the drop of the logit when the word
/// alone is replaced by the pad token, and compares the rankings.
/// </summary>
public static class WordRanking
{
    /// <summary>The most words a question may have: 2^12 coalitions.</summary>
    public const int MaxWords = 12;

    /// <summary>The coalitions evaluated in one forward pass.</summary>
    private const int CoalitionBatch = 128;

    /// <summary>Ranks the words of every question of freshly generated scenes by every <see cref="WordRankingMethod"/>.</summary>
    /// <param name="model">A scenes model (its answers include every scene answer).</param>
    /// <param name="options">Scenes, seed, steps; the defaults when null.</param>
    /// <param name="progress">Receives the number of scenes done.</param>
    /// <param name="cancellationToken">Checked between questions and forward passes.</param>
    /// <exception cref="ArgumentException">An option is out of range, or the model is not a scenes model; the message names it.</exception>
    public static WordRankingReport Evaluate(VqaModel model, WordRankingOptions? options = null, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new WordRankingOptions();
        if (options.Scenes < 1)
        {
            throw new ArgumentException($"options: Scenes must be at least 1, not {options.Scenes}.", nameof(options));
        }

        if (options.Steps < 1)
        {
            throw new ArgumentException($"options: Steps must be at least 1, not {options.Steps}.", nameof(options));
        }

        var items = new List<WordRankingQuestion>();
        SceneQuestions.ForEach(
            model,
            options.Seed,
            options.Scenes,
            (scene, question, prepared, target) => items.Add(Rank(model, prepared, scene.Index, question, target, options.Steps, cancellationToken)),
            progress,
            cancellationToken);

        var correct = items.Where(q => q.Correct).ToList();
        var kinds = Enum.GetValues<QuestionKind>().Where(k => correct.Any(q => q.Kind == k));
        return new WordRankingReport(
            options,
            items,
            items.Count(q => q.Correct) / (double)items.Count,
            WordRankingFigures.Of(correct),
            kinds.ToDictionary(k => k, k => WordRankingFigures.Of(correct.Where(q => q.Kind == k).ToList())),
            items.Max(q => Math.Abs(q.EfficiencyError)));
    }

    /// <summary>Ranks one question's words by every method, towards the logit of <paramref name="target"/>.</summary>
    private static WordRankingQuestion Rank(VqaModel model, PreparedInput prepared, int sceneIndex, SceneQuestion question, long target, int steps, CancellationToken cancellationToken)
    {
        using var explanation = ModelExplainer.Explain(model, prepared, new ExplanationOptions { Steps = steps, Target = target }, cancellationToken);
        var integrated = explanation.Inputs.Single(i => i.Display is TextDisplay).TokenAttributions!.Select(v => (double)v).ToArray();
        var (image, tokens, length) = (prepared.Inputs[0], prepared.Inputs[1], (Tensor)prepared.AdditionalForwardArgs[0]!);

        var wordsOnly = new LayerIntegratedGradients(model.Forward, "module.text.embedding");
        using var wordsOnlyResult = wordsOnly.Attribute(Inputs.Of([image, tokens]), new LayerIntegratedGradientsOptions
        {
            Baselines = new BaselineValue[] { image, prepared.Baselines[1] },
            Target = target,
            AdditionalForwardArgs = prepared.AdditionalForwardArgs,
            Steps = steps,
        }, cancellationToken);
        var integratedWordsOnly = Doubles(wordsOnlyResult.Attribution.sum(dim: -1).reshape(-1));

        var values = CoalitionValues(tokens, model.Encoder.PadIndex, batch => TargetLogits(model, image, batch, length, target), cancellationToken);
        var shapley = ExactShapley(values);
        var full = values[^1];
        var empty = values[0];
        return new WordRankingQuestion(
            sceneIndex,
            question.Text,
            question.Answer,
            question.Kind,
            question.KeyWordIndex,
            explanation.PredictedIndex == target,
            new Dictionary<WordRankingMethod, IReadOnlyList<double>>
            {
                [WordRankingMethod.IntegratedGradients] = integrated,
                [WordRankingMethod.IntegratedGradientsWordsOnly] = integratedWordsOnly,
                [WordRankingMethod.Shapley] = shapley,
                [WordRankingMethod.Drop] = SingleDrops(values),
            },
            full,
            empty,
            shapley.Sum() - (full - empty));
    }

    /// <summary>The logit of <paramref name="target"/> for one image and a batch of token rows, [b].</summary>
    private static Tensor TargetLogits(VqaModel model, Tensor image, Tensor tokens, Tensor length, long target)
    {
        var b = tokens.shape[0];
        return model.Forward.Invoke(image.expand(b, -1, -1, -1), tokens, length.expand(b))[.., target];
    }

    /// <summary>
    /// The value of every coalition of a question's words: entry c is <paramref name="evaluate"/> of the tokens with
    /// word i present where bit i of c is set and the pad token elsewhere (entry 0: all pad; entry 2^n - 1: the question).
    /// </summary>
    /// <param name="tokens">The question's token ids, [1, n] or [n], 1 to <see cref="MaxWords"/> of them.</param>
    /// <param name="pad">The token id a removed word is replaced by.</param>
    /// <param name="evaluate">
    /// Maps token rows [b, n] (int64, on the tokens' device) to one value each, [b]; called without gradients, at most
    /// 128 rows at a time. Its tensors are freed after each call.
    /// </param>
    /// <param name="cancellationToken">Checked before each call.</param>
    /// <returns>2^n values.</returns>
    /// <exception cref="ArgumentException">The tokens are not one row of 1 to <see cref="MaxWords"/>, or <paramref name="evaluate"/> returns another count.</exception>
    public static double[] CoalitionValues(Tensor tokens, long pad, Func<Tensor, Tensor> evaluate, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(evaluate);
        if (tokens.dim() is < 1 or > 2 || (tokens.dim() == 2 && tokens.shape[0] != 1) || tokens.shape[^1] is < 1 or > MaxWords)
        {
            throw new ArgumentException($"tokens must be one row of 1 to {MaxWords} token ids, not [{string.Join(", ", tokens.shape)}].", nameof(tokens));
        }

        var ids = tokens.reshape(-1).cpu().to(ScalarType.Int64).data<long>().ToArray();
        var n = ids.Length;
        var values = new double[1 << n];
        using var noGrad = torch.no_grad();
        for (var start = 0; start < values.Length; start += CoalitionBatch)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var size = Math.Min(CoalitionBatch, values.Length - start);
            var rows = new long[size * n];
            for (var c = 0; c < size; c++)
            {
                for (var i = 0; i < n; i++)
                {
                    rows[(c * n) + i] = (((start + c) >> i) & 1) == 1 ? ids[i] : pad;
                }
            }

            using var scope = torch.NewDisposeScope();
            var result = Doubles(evaluate(torch.tensor(rows, [size, n], device: tokens.device)).reshape(-1));
            if (result.Length != size)
            {
                throw new ArgumentException($"evaluate must return one value per row: {result.Length} for {size} rows.", nameof(evaluate));
            }

            result.CopyTo(values, start);
        }

        return values;
    }

    /// <summary>
    /// The exact Shapley value of every player from the values of all coalitions (entry c: the coalition of the players
    /// whose bits are set in c): φ_i = Σ over coalitions S without i of |S|! (n - |S| - 1)! / n! (v(S ∪ {i}) - v(S)).
    /// </summary>
    /// <param name="values">2^n coalition values, as <see cref="CoalitionValues"/> gives them.</param>
    /// <returns>n values, summing to v(all) - v(none).</returns>
    /// <exception cref="ArgumentException">The count is not a power of 2 from 2 to 2^<see cref="MaxWords"/>.</exception>
    public static double[] ExactShapley(IReadOnlyList<double> values)
    {
        var n = Players(values);
        var factorial = new double[n + 1];
        factorial[0] = 1;
        for (var k = 1; k <= n; k++)
        {
            factorial[k] = factorial[k - 1] * k;
        }

        var weight = Enumerable.Range(0, n).Select(size => factorial[size] * factorial[n - size - 1] / factorial[n]).ToArray();
        var shapley = new double[n];
        for (var c = 0; c < values.Count; c++)
        {
            for (var i = 0; i < n; i++)
            {
                if (((c >> i) & 1) == 0)
                {
                    shapley[i] += weight[System.Numerics.BitOperations.PopCount((uint)c)] * (values[c | (1 << i)] - values[c]);
                }
            }
        }

        return shapley;
    }

    /// <summary>Every player's drop: v(all) - v(all but that player), from the values of all coalitions.</summary>
    /// <param name="values">2^n coalition values, as <see cref="CoalitionValues"/> gives them.</param>
    /// <exception cref="ArgumentException">The count is not a power of 2 from 2 to 2^<see cref="MaxWords"/>.</exception>
    public static double[] SingleDrops(IReadOnlyList<double> values)
    {
        var n = Players(values);
        var all = values.Count - 1;
        return Enumerable.Range(0, n).Select(i => values[all] - values[all & ~(1 << i)]).ToArray();
    }

    /// <summary>The index of the largest value (the first of equal ones), as vqa-eval's word test picks its top word.</summary>
    /// <exception cref="ArgumentException">There are no values.</exception>
    public static int TopIndex(IReadOnlyList<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        return values.Count == 0
            ? throw new ArgumentException("values is empty.", nameof(values))
            : Enumerable.Range(0, values.Count).MaxBy(i => values[i]);
    }

    /// <summary>The rank of every value, 1 for the smallest, equal values sharing the average of their ranks.</summary>
    public static double[] AverageRanks(IReadOnlyList<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        return Statistics.Ranks(values, RankDefinition.Average);
    }

    /// <summary>
    /// Spearman's rank correlation: the Pearson correlation of the average ranks (ties share their average rank, as
    /// scipy.stats.spearmanr). NaN when either side has every value equal (or fewer than 2 values).
    /// </summary>
    /// <exception cref="ArgumentException">The two lists differ in length.</exception>
    public static double Spearman(IReadOnlyList<double> first, IReadOnlyList<double> second)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        if (first.Count != second.Count)
        {
            throw new ArgumentException($"second has {second.Count} values, first {first.Count}.", nameof(second));
        }

        return first.Count < 2 || first.Distinct().Count() == 1 || second.Distinct().Count() == 1
            ? double.NaN
            : Correlation.Spearman(first, second);
    }

    private static int Players(IReadOnlyList<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var n = System.Numerics.BitOperations.Log2((uint)values.Count);
        return values.Count >= 2 && values.Count == 1 << n && n <= MaxWords
            ? n
            : throw new ArgumentException($"values must hold 2^n coalition values for 1 to {MaxWords} players, not {values.Count}.", nameof(values));
    }

    private static double[] Doubles(Tensor values) => values.detach().cpu().to(ScalarType.Float64).data<double>().ToArray();
}
