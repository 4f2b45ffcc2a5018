using Captum.Attr;
using Captum.Golden;
using Captum.Plugins.TextGeneration.Model;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.LLM;

/// <summary>The LLM attribution classes' laws and argument checks, on a small GPT-2 with seeded weights.</summary>
public sealed class LLMAttributionTests
{
    internal static readonly string[] Vocab = ["<unk>", "<s>", "<pad>", "john", "mary", "went", "to", "the", "kitchen", "garden", ".", "where", "is", "?"];

    /// <summary>A GPT-2 of 2 blocks and width 8 over <see cref="Vocab"/>, weights seeded with 3, and its word tokenizer.</summary>
    internal static (Gpt2LMHeadModel Model, WordTokenizer Tokenizer) Setup(long positions = 32)
    {
        torch.manual_seed(3);
        var model = new Gpt2LMHeadModel(new Gpt2Config(Vocab.Length, positions, 8, 2, 2));
        model.eval();
        return (model, new WordTokenizer(Vocab));
    }

    [Fact]
    public void AnswerLogProbabilities_OnePass_EqualsFeedingTheAnswerTokenByToken()
    {
        using var scope = torch.NewDisposeScope();
        var (model, tokenizer) = Setup();
        var prompt = torch.tensor(tokenizer.Encode("john went to the kitchen . where is john ?").ToArray()).unsqueeze(0);
        long[] answer = [8, 10, 3];

        using var noGrad = torch.no_grad();
        var onePass = LLMGeneration.AnswerLogProbabilities(model, prompt, answer);

        var current = prompt;
        for (var t = 0; t < answer.Length; t++)
        {
            var stepwise = nn.functional.log_softmax(model.Logits(current)[0, -1], 0)[answer[t]];
            Assert.Equal(stepwise.item<float>(), onePass[0, t].item<float>(), 5);
            current = torch.cat([current, torch.tensor(new[] { answer[t] }).unsqueeze(0)], 1);
        }
    }

    [Fact]
    public void Attribute_FeatureAblation_EqualsTheDropOfTheAnswersLogProbabilityWhenEachTokenIsReplaced()
    {
        using var scope = torch.NewDisposeScope();
        var (model, tokenizer) = Setup();
        var input = new TextTokenInput("mary went to the garden . where is mary ?", tokenizer, baselines: "<pad>", skipTokens: ["<s>"]);

        using var result = LLMAttribution.FeatureAblation(model, tokenizer).Attribute(input, "garden", new LLMAttributionOptions<FeatureAblationOptions> { SkipTokens = ["<s>"] });

        using var noGrad = torch.no_grad();
        var ids = input.Ids.ToArray();
        double LogProbability(long[] prompt) => LLMGeneration.AnswerLogProbabilities(model, torch.tensor(prompt).unsqueeze(0), [9])[0, 0].item<float>();
        var full = LogProbability(ids);
        var attribution = result.SequenceAttribution.data<float>().ToArray();
        for (var i = 1; i < ids.Length; i++)
        {
            var ablated = (long[])ids.Clone();
            ablated[i] = 2;
            Assert.Equal(full - LogProbability(ablated), attribution[i - 1], 4);
        }

        Assert.Equal(["garden"], result.OutputTokens);
        Assert.Equal(input.Values, result.InputTokens);
        TensorAssert.AllClose(result.TokenAttribution!.sum(dim: 0), result.SequenceAttribution, 1e-5, 1e-4);
    }

    [Fact]
    public void Attribute_KernelShap_GivesNoTokenAttribution()
    {
        using var scope = torch.NewDisposeScope();
        var (model, tokenizer) = Setup();
        var input = new TextTemplateInput("{} went to the {} . where is {} ?", ["mary", "garden", "mary"]);

        using var result = LLMAttribution.KernelShap(model, tokenizer)
            .Attribute(input, "garden", new LLMAttributionOptions<KernelShapOptions> { SkipTokens = [1], Method = new KernelShapOptions { Samples = 20, Seed = 1 } });

        Assert.Null(result.TokenAttribution);
        Assert.Equal([3L], result.SequenceAttribution.shape);
    }

    [Fact]
    public void Attribute_LimeWithAGivenSurrogate_AttributesWithThatSurrogatesCoefficients()
    {
        using var scope = torch.NewDisposeScope();
        var (model, tokenizer) = Setup();
        var input = new TextTemplateInput("{} went to the {} . where is {} ?", ["mary", "garden", "mary"]);
        var surrogate = new RecordingSurrogate();
        var options = new LLMAttributionOptions<LimeOptions> { SkipTokens = [1], Method = new LimeOptions { Samples = 30, Seed = 4 } };

        using var result = LLMAttribution.Lime(model, tokenizer, interpretableModel: surrogate).Attribute(input, "garden", options);

        Assert.Null(result.TokenAttribution);
        Assert.Equal(1, surrogate.Fits);
        var attribution = result.SequenceAttribution.to_type(ScalarType.Float64).data<double>().ToArray();
        Assert.Equal(surrogate.Last!.Coefficients.Count, attribution.Length);
        for (var i = 0; i < attribution.Length; i++)
        {
            Assert.True(Math.Abs(attribution[i] - surrogate.Last.Coefficients[i]) <= 1e-5 * Math.Max(1, Math.Abs(attribution[i])), $"feature {i}: {attribution[i]} against the surrogate's {surrogate.Last.Coefficients[i]}");
        }
    }

    /// <summary>Lime's default surrogate, counting its fits and keeping the last.</summary>
    private sealed class RecordingSurrogate : ISurrogateModel
    {
        public int Fits { get; private set; }

        public LinearSurrogate? Last { get; private set; }

        /// <summary>Every fit's samples, as 0/1 rows joined into text.</summary>
        public List<string> Inputs { get; } = [];

        public LinearSurrogate Fit(double[,] interpretableInputs, double[] outputs, double[] weights)
        {
            Fits++;
            Inputs.Add(string.Join(" ", interpretableInputs.Cast<double>()));
            return Last = new LassoSurrogate(alpha: 0.01).Fit(interpretableInputs, outputs, weights);
        }
    }

    [Fact]
    public void Attribute_ShapleyValueSamplingTrialsWithASeed_AverageOfTrialsDrawingInTurnFromOneGeneratorSeededWithIt()
    {
        using var scope = torch.NewDisposeScope();
        var (model, tokenizer) = Setup();
        var input = new TextTemplateInput("{} {} {} {} where is mary ?", ["mary went to the garden .", "john went to the kitchen .", "mary went to the kitchen .", "john went to the garden ."]);
        var attribution = LLMAttribution.ShapleyValueSampling(model, tokenizer);
        LLMAttributionOptions<ShapleyValueSamplingOptions> Options(int trials, ShapleyValueSamplingOptions method) =>
            new() { SkipTokens = [1], NumTrials = trials, Method = method with { Samples = 1 } };

        using var averaged = attribution.Attribute(input, "kitchen", Options(3, new() { Seed = 11 }));
        using var again = attribution.Attribute(input, "kitchen", Options(3, new() { Seed = 11 }));
        using var first = attribution.Attribute(input, "kitchen", Options(1, new() { Seed = 11 }));

        // The trials one by one: the first from a generator seeded with 11 draws what Seed = 11 draws, the next continue it.
        using var generator = new Generator(11, torch.CPU);
        var trials = Enumerable.Range(0, 3).Select(_ => attribution.Attribute(input, "kitchen", Options(1, new() { Generator = generator }))).ToList();
        TensorAssert.AllClose(trials[0].TokenAttribution!, first.TokenAttribution!, 0, 0);
        Assert.NotEqual(trials[0].SequenceAttribution.data<float>().ToArray(), trials[1].SequenceAttribution.data<float>().ToArray());
        TensorAssert.AllClose(torch.stack(trials.Select(t => t.SequenceAttribution)).mean([0]), averaged.SequenceAttribution, 1e-6, 1e-5);
        TensorAssert.AllClose(torch.stack(trials.Select(t => t.TokenAttribution!)).mean([0]), averaged.TokenAttribution!, 1e-6, 1e-5);
        TensorAssert.AllClose(again.TokenAttribution!, averaged.TokenAttribution!, 0, 0);
        trials.ForEach(t => t.Dispose());
    }

    [Fact]
    public void Attribute_LimeTrialsWithASeed_EachTrialDrawsOtherSamplesAndTheSameSeedRepeats()
    {
        using var scope = torch.NewDisposeScope();
        var (model, tokenizer) = Setup();
        var input = new TextTemplateInput("{} went to the {} . where is {} ?", ["mary", "garden", "mary"]);
        var surrogate = new RecordingSurrogate();
        var attribution = LLMAttribution.Lime(model, tokenizer, interpretableModel: surrogate);
        var options = new LLMAttributionOptions<LimeOptions> { SkipTokens = [1], NumTrials = 2, Method = new LimeOptions { Samples = 12, Seed = 4 } };

        using var averaged = attribution.Attribute(input, "garden", options);
        var fits = surrogate.Inputs.ToList();
        using var again = attribution.Attribute(input, "garden", options);

        Assert.Equal(2, fits.Count);
        Assert.NotEqual(fits[0], fits[1]);
        Assert.Equal(fits, surrogate.Inputs.Skip(2));
        TensorAssert.AllClose(again.SequenceAttribution, averaged.SequenceAttribution, 0, 0);
    }

    [Fact]
    public void Attribute_NoTarget_ExplainsTheGreedyAnswer()
    {
        using var scope = torch.NewDisposeScope();
        var (model, tokenizer) = Setup();
        var input = new TextTokenInput("john went to the kitchen .", tokenizer, skipTokens: [1]);

        using var result = LLMAttribution.FeatureAblation(model, tokenizer).Attribute(input, options: new LLMAttributionOptions<FeatureAblationOptions> { MaxNewTokens = 2 });

        using var prompt = torch.tensor(input.Ids.ToArray()).unsqueeze(0);
        Assert.Equal(LLMGeneration.Greedy(model, prompt, 2), result.OutputTokenIds);
        Assert.Equal([2L, 6L], result.TokenAttribution!.shape);
    }

    [Fact]
    public void Gpt2LMHeadModel_MadeInsideADisposeScope_KeepsEveryParameterAfterIt()
    {
        Gpt2LMHeadModel model;
        using (torch.NewDisposeScope())
        {
            model = new Gpt2LMHeadModel(new Gpt2Config(Vocab.Length, 8, 8, 2, 1));
        }

        using var scope = torch.NewDisposeScope();
        Assert.All(model.named_parameters(), p => Assert.False(p.parameter.IsInvalid, p.name));
        Assert.Equal(Vocab.Length, model.Logits(torch.tensor(new long[,] { { 1, 3 } })).shape[2]);
    }

    [Fact]
    public void Constructor_UnsupportedMethod_NamesMethod()
    {
        var (model, tokenizer) = Setup();

        var error = Assert.Throws<ArgumentException>(() => new LLMAttribution<SaliencyOptions>(model, tokenizer, f => new Saliency(f)));

        Assert.Equal("method", error.ParamName);
        Assert.Contains("FeatureAblation", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Attribute_PromptAndAnswerBeyondThePositions_NamesInputBeforeAnyWork()
    {
        using var scope = torch.NewDisposeScope();
        var (model, tokenizer) = Setup(positions: 8);
        var input = new TextTokenInput("john went to the kitchen . where is john ?", tokenizer, skipTokens: [1]);

        var error = Assert.Throws<ArgumentException>(() => LLMAttribution.FeatureAblation(model, tokenizer).Attribute(input, "kitchen"));

        Assert.Equal("input", error.ParamName);
    }

    [Fact]
    public void Attribute_NoTargetAndAPromptFillingThePositions_NamesInputBeforeGenerating()
    {
        using var scope = torch.NewDisposeScope();
        var (model, tokenizer) = Setup(positions: 8);

        // <s> and 7 words: exactly the model's 8 positions, none left for a generated token.
        var input = new TextTokenInput("john went to the kitchen . where", tokenizer, skipTokens: [1]);

        var ablation = Assert.Throws<ArgumentException>(() => LLMAttribution.FeatureAblation(model, tokenizer).Attribute(input));
        var gradient = Assert.Throws<ArgumentException>(() => LLMGradientAttribution.LayerIntegratedGradients(model, tokenizer, "transformer.wte").Attribute(input));

        Assert.All(new[] { ablation, gradient }, e => Assert.Equal("input", e.ParamName));
        Assert.Contains("8 tokens", ablation.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Greedy_PromptFillingThePositions_NamesPrompt()
    {
        using var scope = torch.NewDisposeScope();
        var (model, _) = Setup(positions: 4);

        var error = Assert.Throws<ArgumentException>(() => LLMGeneration.Greedy(model, torch.tensor(new long[,] { { 1, 3, 5, 6 } }), 2));

        Assert.Equal("prompt", error.ParamName);
    }

    [Fact]
    public void Greedy_TwoPrompts_NamesPromptOnePromptPerCall()
    {
        using var scope = torch.NewDisposeScope();
        var (model, _) = Setup(positions: 8);

        var error = Assert.Throws<ArgumentException>(() => LLMGeneration.Greedy(model, torch.tensor(new long[,] { { 1, 3 }, { 1, 5 } }), 2));

        Assert.Equal("prompt", error.ParamName);
        Assert.Contains("[1, tokens]", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Greedy_PromptOneShortOfThePositions_GeneratesOneToken()
    {
        using var scope = torch.NewDisposeScope();
        var (model, _) = Setup(positions: 4);

        Assert.Single(LLMGeneration.Greedy(model, torch.tensor(new long[,] { { 1, 3, 5 } }), 3));
    }

    [Fact]
    public void Attribute_TargetOfOnlySkippedTokens_NamesTarget()
    {
        using var scope = torch.NewDisposeScope();
        var (model, tokenizer) = Setup();
        var input = new TextTokenInput("john went to the kitchen .", tokenizer, skipTokens: [1]);

        var error = Assert.Throws<ArgumentException>(() => LLMAttribution.FeatureAblation(model, tokenizer).Attribute(input, "", new LLMAttributionOptions<FeatureAblationOptions> { SkipTokens = [1] }));

        Assert.Equal("target", error.ParamName);
    }

    [Fact]
    public void TextTokenInput_Perturbed_ReplacesTheRemovedTokensByTheBaselineAndKeepsSkippedOnes()
    {
        using var scope = torch.NewDisposeScope();
        var (_, tokenizer) = Setup();
        var input = new TextTokenInput("john went to", tokenizer, baselines: 2, skipTokens: ["<s>"]);

        using var ids = input.ToModelInput(torch.tensor(new long[,] { { 1, 0, 1 }, { 0, 0, 0 } }), tokenizer);

        Assert.Equal(new long[] { 1, 3, 2, 6, 1, 2, 2, 2 }, ids.data<long>().ToArray());
    }

    [Theory]
    [InlineData("{} went to the {}", 3, "values")]
    [InlineData("{} went to {0}", 2, "template")]
    [InlineData("{:>5} went", 1, "template")]
    [InlineData("{} went }", 1, "template")]
    public void TextTemplateInput_SlotsThatDoNotFitTheValues_NameTheArgument(string template, int values, string argument)
    {
        var error = Assert.Throws<ArgumentException>(() => new TextTemplateInput(template, Enumerable.Repeat("john", values).ToList()));

        Assert.Equal(argument, error.ParamName);
    }

    [Theory]
    [InlineData("{} went to {x}", "named slots such as {x}")]
    [InlineData("{} went to {1}", "numbered slots such as {1}")]
    public void TextTemplateInput_AutomaticSlotsMixedWithAnother_SaysWhichKind(string template, string kind)
    {
        var error = Assert.Throws<ArgumentException>(() => new TextTemplateInput(template, ["john", "garden"]));

        Assert.Equal("template", error.ParamName);
        Assert.Contains("template mixes {} and " + kind, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TextTemplateInput_NamedValuesAndBraces_FillAsPythonsFormat()
    {
        var input = new TextTemplateInput(
            "{{{name}}} went to the {place}",
            new Dictionary<string, string> { ["name"] = "john", ["place"] = "garden" },
            new TextTemplateOptions { NamedBaselines = new Dictionary<string, string> { ["name"] = "sam", ["place"] = "office" } });

        using var removed = torch.tensor(new float[,] { { 1, 0 } });

        Assert.Equal("{john} went to the garden", input.Prompt);
        Assert.Equal("{john} went to the office", input.ToText(removed));
    }

    [Theory]
    [InlineData(new[] { 0, 1 }, "Mask has 2 entries, but there are 3 values.")]
    [InlineData(new[] { 0, 1, 1, 2 }, "Mask has 4 entries, but there are 3 values.")]
    public void TextTemplateInput_MaskOfTheWrongLength_NamesMask(int[] mask, string message)
    {
        var error = Assert.Throws<ArgumentException>(() => new TextTemplateInput("{} {} {}", ["a", "b", "c"], new TextTemplateOptions { Mask = mask }));

        Assert.Equal("Mask", error.ParamName);
        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TextTemplateInput_NamedMaskWithoutAValuesName_NamesNamedMaskAndTheName()
    {
        var values = new Dictionary<string, string> { ["name"] = "john", ["place"] = "garden" };

        var error = Assert.Throws<ArgumentException>(() => new TextTemplateInput(
            "{name} went to the {place}", values, new TextTemplateOptions { NamedMask = new Dictionary<string, int> { ["name"] = 0 } }));

        Assert.Equal("NamedMask", error.ParamName);
        Assert.Contains("\"place\"", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TextTemplateInput_MaskOfTheOtherForm_NamesTheMaskGiven()
    {
        var named = new Dictionary<string, string> { ["name"] = "john", ["place"] = "garden" };

        var positionalMask = Assert.Throws<ArgumentException>(() => new TextTemplateInput(
            "{name} went to the {place}", named, new TextTemplateOptions { Mask = [0, 1] }));
        var namedMask = Assert.Throws<ArgumentException>(() => new TextTemplateInput(
            "{} went to the {}", ["john", "garden"], new TextTemplateOptions { NamedMask = new Dictionary<string, int> { ["name"] = 0 } }));

        Assert.Equal("Mask", positionalMask.ParamName);
        Assert.Contains("give NamedMask", positionalMask.Message, StringComparison.Ordinal);
        Assert.Equal("NamedMask", namedMask.ParamName);
        Assert.Contains("give Mask", namedMask.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TextTemplateInput_Mask_ScattersGroupAttributionsBackToTheValues()
    {
        var input = new TextTemplateInput("{} {} {}", ["a", "b", "c"], new TextTemplateOptions { Mask = [5, 2, 5] });
        using var attribution = torch.tensor(new float[,] { { 10, 20 } });

        using var values = input.FormatAttribution(attribution);

        Assert.Equal(2, input.FeatureCount);
        Assert.Equal(new float[] { 20, 10, 20 }, values.data<float>().ToArray());
    }
}
