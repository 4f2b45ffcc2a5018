using Captum.Attr;
using Captum.Golden;
using Captum.Plugins.TextGeneration.Model;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.LLM;

/// <summary>Contrastive targets (a foil) and step scores (probability, entropy) of the LLM attribution classes.</summary>
public sealed class LLMContrastAndStepScoresTests
{
    private static readonly string[] Vocab = LLMAttributionTests.Vocab;

    private static (Gpt2LMHeadModel Model, WordTokenizer Tokenizer, TextTokenInput Input) Setup()
    {
        torch.manual_seed(5);
        var model = new Gpt2LMHeadModel(new Gpt2Config(Vocab.Length, 32, 8, 2, 2));
        model.eval();
        var tokenizer = new WordTokenizer(Vocab);
        return (model, tokenizer, new TextTokenInput("mary went to the garden . where is mary ?", tokenizer, baselines: "<pad>", skipTokens: ["<s>"]));
    }

    private static LLMAttributionOptions<FeatureAblationOptions> Options(LLMTarget? foil = null) => new() { SkipTokens = ["<s>"], Foil = foil };

    [Theory]
    [InlineData(LLMAttributionTarget.LogProbability)]
    [InlineData(LLMAttributionTarget.Probability)]
    public void FeatureAblation_FoilOfTheSameLength_EqualsTheDifferenceOfTheTwoSeparateAttributions(LLMAttributionTarget target)
    {
        using var scope = torch.NewDisposeScope();
        var (model, tokenizer, input) = Setup();
        var fa = LLMAttribution.FeatureAblation(model, tokenizer, target);

        using var contrast = fa.Attribute(input, "garden .", Options("kitchen ?"));
        using var answer = fa.Attribute(input, "garden .", Options());
        using var foil = fa.Attribute(input, "kitchen ?", Options());

        TensorAssert.AllClose(answer.SequenceAttribution - foil.SequenceAttribution, contrast.SequenceAttribution, 1e-5, 1e-5);
        TensorAssert.AllClose(answer.TokenAttribution! - foil.TokenAttribution!, contrast.TokenAttribution!, 1e-5, 1e-5);
        Assert.Equal(["kitchen", "?"], contrast.FoilTokens);
        Assert.Equal([8L, 13L], contrast.FoilTokenIds);
    }

    [Fact]
    public void FeatureAblation_FoilOfAnotherLength_OnlyTheWholeAnswersContrastAndNoTokenAttribution()
    {
        using var scope = torch.NewDisposeScope();
        var (model, tokenizer, input) = Setup();
        var fa = LLMAttribution.FeatureAblation(model, tokenizer);

        using var contrast = fa.Attribute(input, "garden", Options("the kitchen"));
        using var answer = fa.Attribute(input, "garden", Options());
        using var foil = fa.Attribute(input, "the kitchen", Options());

        Assert.Null(contrast.TokenAttribution);
        TensorAssert.AllClose(answer.SequenceAttribution - foil.SequenceAttribution, contrast.SequenceAttribution, 1e-5, 1e-5);
    }

    [Fact]
    public void FeatureAblation_FoilGivenAsIds_SameAsGivenAsText()
    {
        using var scope = torch.NewDisposeScope();
        var (model, tokenizer, input) = Setup();
        var fa = LLMAttribution.FeatureAblation(model, tokenizer);

        using var byText = fa.Attribute(input, "garden", Options("kitchen"));
        using var byIds = fa.Attribute(input, "garden", Options(new long[] { 8 }));

        TensorAssert.AllClose(byText.SequenceAttribution, byIds.SequenceAttribution, 0, 0);
    }

    [Fact]
    public void LayerIntegratedGradients_Foil_EqualsTheDifferenceOfTheTwoSeparateAttributions()
    {
        using var scope = torch.NewDisposeScope();
        var (model, tokenizer, input) = Setup();
        var lig = LLMGradientAttribution.LayerIntegratedGradients(model, tokenizer, "transformer.wte");
        LLMAttributionOptions<LayerIntegratedGradientsOptions> Lig(LLMTarget? foil = null) =>
            new() { SkipTokens = ["<s>"], Foil = foil, Method = new LayerIntegratedGradientsOptions { Steps = 8 } };

        using var contrast = lig.Attribute(input, "garden .", Lig("kitchen ?"));
        using var answer = lig.Attribute(input, "garden .", Lig());
        using var foil = lig.Attribute(input, "kitchen ?", Lig());
        using var longer = lig.Attribute(input, "garden", Lig("the kitchen"));
        using var garden = lig.Attribute(input, "garden", Lig());
        using var theKitchen = lig.Attribute(input, "the kitchen", Lig());

        TensorAssert.AllClose(answer.TokenAttribution! - foil.TokenAttribution!, contrast.TokenAttribution!, 1e-5, 1e-5);
        TensorAssert.AllClose(answer.SequenceAttribution - foil.SequenceAttribution, contrast.SequenceAttribution, 1e-5, 1e-5);
        Assert.Null(longer.TokenAttribution);
        TensorAssert.AllClose(garden.SequenceAttribution - theKitchen.SequenceAttribution, longer.SequenceAttribution, 1e-5, 1e-5);
    }

    [Fact]
    public void Attribute_FoilOfOnlySkippedTokens_NamesFoilBeforeAnyWork()
    {
        using var scope = torch.NewDisposeScope();
        var (_, tokenizer, input) = Setup();
        var model = new CountingModel(new FixedLogits(torch.zeros(Vocab.Length)));

        var error = Assert.Throws<ArgumentException>(() => LLMAttribution.FeatureAblation(model, tokenizer).Attribute(input, "garden", Options("<s>")));

        Assert.Equal("Foil", error.ParamName);
        Assert.Equal(0, model.Calls);
    }

    [Fact]
    public void StepScores_UniformNextTokenDistribution_ProbabilityOneOverVAndEntropyLogV()
    {
        using var scope = torch.NewDisposeScope();
        var (_, tokenizer, input) = Setup();
        var model = new FixedLogits(torch.zeros(Vocab.Length));

        using var result = LLMAttribution.FeatureAblation(model, tokenizer).Attribute(input, "garden .", Options());

        Assert.Equal(2, result.StepScores!.Count);
        Assert.All(result.StepScores, s =>
        {
            Assert.Equal(1.0 / Vocab.Length, s.Probability, 6);
            Assert.Equal(Math.Log(Vocab.Length), s.Entropy, 5);
        });
    }

    [Fact]
    public void StepScores_KnownDistribution_ItsProbabilityAndEntropy()
    {
        using var scope = torch.NewDisposeScope();
        var (_, tokenizer, input) = Setup();

        // p(kitchen) = 1/2, p(garden) = 1/4, p(.) = p(?) = 1/8, every other token 0: H = 1.75 ln 2.
        var probabilities = new double[Vocab.Length];
        (probabilities[8], probabilities[9], probabilities[10], probabilities[13]) = (0.5, 0.25, 0.125, 0.125);
        var model = new FixedLogits(torch.tensor(probabilities).log().to_type(ScalarType.Float32));

        using var result = LLMAttribution.FeatureAblation(model, tokenizer).Attribute(input, "garden kitchen", Options());

        Assert.Equal([0.25, 0.5], result.StepScores!.Select(s => Math.Round(s.Probability, 6)));
        Assert.All(result.StepScores!, s => Assert.Equal(1.75 * Math.Log(2), s.Entropy, 5));
    }

    [Fact]
    public void StepScores_Gpt2_EqualTheAnswersTeacherForcedProbabilities_AndTheGradientClassGivesTheSame()
    {
        using var scope = torch.NewDisposeScope();
        var (model, tokenizer, input) = Setup();

        using var perturbation = LLMAttribution.FeatureAblation(model, tokenizer).Attribute(input, "garden . mary", Options());
        using var gradient = LLMGradientAttribution.LayerIntegratedGradients(model, tokenizer, "transformer.wte")
            .Attribute(input, "garden . mary", new LLMAttributionOptions<LayerIntegratedGradientsOptions> { SkipTokens = ["<s>"], Method = new() { Steps = 2 } });

        using var noGrad = torch.no_grad();
        var expected = LLMGeneration.AnswerLogProbabilities(model, torch.tensor(input.Ids.ToArray()).unsqueeze(0), [9, 10, 4])[0].exp().data<float>().ToArray();
        Assert.Equal(expected.Select(p => Math.Round(p, 5)), perturbation.StepScores!.Select(s => Math.Round(s.Probability, 5)));
        Assert.Equal(perturbation.StepScores, gradient.StepScores);
        Assert.All(perturbation.StepScores!, s => Assert.InRange(s.Entropy, 0, Math.Log(Vocab.Length) + 1e-9));
    }

    /// <summary>A model whose next-token logits are the same at every position, whatever the tokens.</summary>
    private sealed class FixedLogits(Tensor logits) : ICausalLanguageModel
    {
        private readonly Tensor logits = logits.detach().DetachFromDisposeScope();

        public nn.Module Module { get; } = nn.Identity();

        public int MaxPositions => 64;

        public Tensor Logits(Tensor inputIds) => logits.reshape(1, 1, -1).expand(inputIds.shape[0], inputIds.shape[1], -1).clone();
    }

    private sealed class CountingModel(ICausalLanguageModel inner) : ICausalLanguageModel
    {
        public int Calls { get; private set; }

        public nn.Module Module => inner.Module;

        public int MaxPositions => inner.MaxPositions;

        public Tensor Logits(Tensor inputIds)
        {
            Calls++;
            return inner.Logits(inputIds);
        }
    }
}
