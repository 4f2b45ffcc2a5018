using Captum.Attr;

namespace Captum.Plugins.TextGeneration.Stories;

/// <summary>
/// Measures whether LLM attribution finds the evidence behind a story model's answer, which generated stories know:
/// each sentence is one feature (a <see cref="TextTemplateInput"/> value; for the gradient methods, <c>layer-ig</c>,
/// <c>layer-gradient-x-activation</c> and <c>layer-gradient-shap</c>, which attribute tokens, the sum of its tokens'),
/// the answer's log probability is attributed, and a story scores when its highest-attributed
/// sentence is the supporting fact. The same is measured on the same network with random weights, which must fall to
/// chance (1 / sentences), as in Adebayo et al., "Sanity Checks for Saliency Maps" (2018). Both networks explain the
/// correct answer on every story.
/// </summary>
public static class SupportingFactQuality
{
    /// <summary>The methods measured, by the names the <c>captum llm</c> command uses (<see cref="LlmMethods.Names"/>); feature-ablation, Captum's default, first.</summary>
    public static IReadOnlyList<string> Methods => LlmMethods.Names;

    /// <summary>Evaluates <paramref name="model"/> and its randomised twin on new stories.</summary>
    /// <param name="model">The story model.</param>
    /// <param name="options">Stories, seed, methods; the defaults when null.</param>
    /// <param name="progress">Receives the number of stories done.</param>
    /// <param name="cancellationToken">Checked between stories and inside every attribution.</param>
    /// <exception cref="ArgumentException">An option is out of range or names an unknown method; the message names it.</exception>
    public static SupportingFactReport Evaluate(StoryModel model, SupportingFactOptions? options = null, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new SupportingFactOptions();
        options.Validate();
        var stories = StoryGenerator.GenerateMany(options.Seed, options.Stories);
        var answers = model.Answer(stories);
        using var random = model.Randomized(options.RandomWeightsSeed);
        var trained = options.Methods.ToDictionary(m => m, _ => 0.0);
        var randomized = options.Methods.ToDictionary(m => m, _ => 0.0);
        for (var i = 0; i < stories.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            foreach (var method in options.Methods)
            {
                trained[method] += TopCredit(SentenceAttribution(model, stories[i], method, options, cancellationToken), stories[i].SupportingFact);
                randomized[method] += TopCredit(SentenceAttribution(random, stories[i], method, options, cancellationToken), stories[i].SupportingFact);
            }

            progress?.Report(i + 1);
        }

        var n = stories.Count;
        var chance = stories.Average(s => 1.0 / s.Sentences.Count);
        return new SupportingFactReport(
            options,
            stories.Where((s, i) => answers[i] == s.Answer).Count() / (double)n,
            options.Methods.ToDictionary(m => m, m => new SupportingFactFigures(trained[m] / n, randomized[m] / n, chance)));
    }

    /// <summary>
    /// 1 when the supporting fact alone has the highest attribution, 1/k when it ties with k - 1 others for the highest
    /// (the expected score of breaking the tie at random), else 0.
    /// </summary>
    public static double TopCredit(IReadOnlyList<double> sentences, int supportingFact)
    {
        ArgumentNullException.ThrowIfNull(sentences);
        ArgumentOutOfRangeException.ThrowIfNegative(supportingFact);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(supportingFact, sentences.Count);
        var top = sentences.Max();
        return sentences[supportingFact] == top ? 1.0 / sentences.Count(v => v == top) : 0.0;
    }

    /// <summary>Each sentence's attribution towards the story's answer by <paramref name="method"/>.</summary>
    /// <exception cref="ArgumentException">The method is not one of <see cref="Methods"/>; the message names it.</exception>
    public static double[] SentenceAttribution(StoryModel model, Story story, string method, SupportingFactOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(story);
        ArgumentNullException.ThrowIfNull(options);
        var tokenizer = model.Tokenizer;
        var gradient = LlmMethods.GradientNames.Contains(method);

        // The gradient methods read the prompt's tokens, with [pad] as the baseline token (LayerGradientShap's baselines
        // default to it: its points lie between the [pad] and the prompt's embeddings); the others its sentences.
        IInterpretableInput input = gradient
            ? new TextTokenInput(story.Prompt, tokenizer, baselines: tokenizer.PadId)
            : new TextTemplateInput(story.Template, story.Sentences);
        using var result = LlmMethods.Attribute(method, model.Network, tokenizer, input, story.Answer, steps: options.Steps, seed: story.Index, cancellationToken: cancellationToken);
        var values = result.SequenceAttribution.cpu().to_type(ScalarType.Float64).data<double>().ToArray();
        return gradient ? PerSentence(values, story, tokenizer) : values;
    }

    /// <summary>Token attributions of the whole prompt summed over each sentence's tokens.</summary>
    private static double[] PerSentence(double[] tokens, Story story, StoryTokenizer tokenizer)
    {
        var sums = new double[story.Sentences.Count];
        var start = 0;
        for (var s = 0; s < sums.Length; s++)
        {
            var length = tokenizer.Encode(story.Sentences[s]).Count;
            sums[s] = tokens.Skip(start).Take(length).Sum();
            start += length;
        }

        return start + tokenizer.Encode(story.Question).Count == tokens.Length
            ? sums
            : throw new InvalidOperationException($"The prompt's {tokens.Length} tokens are not its sentences' and question's.");
    }
}
