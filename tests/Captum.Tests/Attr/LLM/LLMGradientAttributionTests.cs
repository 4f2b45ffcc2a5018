using Captum.Attr;
using Captum.Forward;
using Captum.Golden;
using Captum.Plugins.TextGeneration.Model;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.LLM;

/// <summary>
/// LLMGradientAttribution over each method it wraps, against the method applied by hand to the embedding layer of a
/// small GPT-2 with seeded weights: one run per answer token, on the prompt followed by the answer's earlier tokens.
/// </summary>
public sealed class LLMGradientAttributionTests
{
    private const string Prompt = "mary went to the garden . where is mary ?";
    private const long Pad = 2;

    private static (Gpt2LMHeadModel Model, WordTokenizer Tokenizer, TextTokenInput Input) Setup()
    {
        torch.manual_seed(3);
        var model = new Gpt2LMHeadModel(new Gpt2Config(LLMAttributionTests.Vocab.Length, 32, 8, 2, 2));
        model.eval();
        var tokenizer = new WordTokenizer(LLMAttributionTests.Vocab);
        return (model, tokenizer, new TextTokenInput(Prompt, tokenizer, baselines: Pad, skipTokens: ["<s>"]));
    }

    /// <summary>The log probability of <paramref name="next"/> after each row of ids.</summary>
    private static Tensor NextLogProbability(Gpt2LMHeadModel model, Tensor ids, long next) =>
        nn.functional.log_softmax(model.Logits(ids)[TensorIndex.Colon, -1], 1)[TensorIndex.Colon, next];

    /// <summary>The prompt's ids (or, with <paramref name="removed"/>, the pad token in every interpretable position) followed by the answer's first <paramref name="t"/> tokens, [1, tokens].</summary>
    private static Tensor Sequence(TextTokenInput input, long[] answer, int t, bool removed = false)
    {
        var prompt = input.Ids.Select((id, i) => removed && input.InterpretableMask[i] ? Pad : id);
        return torch.tensor(prompt.Concat(answer.Take(t)).ToArray()).unsqueeze(0);
    }

    /// <summary>A [1, tokens, width] attribution summed over the width at the prompt's interpretable positions, [1, features].</summary>
    private static Tensor PerFeature(Tensor attribution, TextTokenInput input)
    {
        var positions = torch.tensor(Enumerable.Range(0, input.Ids.Count).Where(i => input.InterpretableMask[i]).Select(i => (long)i).ToArray());
        return attribution.narrow(1, 0, input.Ids.Count).sum(-1).index_select(1, positions);
    }

    [Fact]
    public void Attribute_LayerGradientXActivation_EqualsTheMethodAppliedByHandToTheEmbeddingLayer()
    {
        using var scope = torch.NewDisposeScope();
        var (model, tokenizer, input) = Setup();
        long[] answer = [9, 10];

        using var result = LLMGradientAttribution.LayerGradientXActivation(model, tokenizer, "transformer.wte").Attribute(input, answer);

        Assert.Equal([2L, input.FeatureCount], result.TokenAttribution!.shape);
        for (var t = 0; t < answer.Length; t++)
        {
            var next = answer[t];
            var forward = ForwardFunction.FromDelegate((Tensor[] ids) => NextLogProbability(model, ids[0], next), model);
            using var byHand = new LayerGradientXActivation(forward, "transformer.wte").Attribute(Sequence(input, answer, t));
            TensorAssert.AllClose(PerFeature(byHand.Layers[0][0], input)[0], result.TokenAttribution[t], 1e-6, 1e-5);
        }

        TensorAssert.AllClose(result.TokenAttribution.sum(dim: 0), result.SequenceAttribution, 1e-6, 1e-5);
    }

    [Fact]
    public void Attribute_LayerGradientShap_EqualsGradientShapOnTheEmbeddingsBetweenTheBaselineTokensAndThePrompts()
    {
        using var scope = torch.NewDisposeScope();
        var (model, tokenizer, input) = Setup();
        long[] answer = [9, 10];

        // One reference (all features removed) as a one-row distribution, so that both draw the same random numbers.
        var options = new LLMAttributionOptions<LayerGradientShapOptions>
        {
            Method = new LayerGradientShapOptions { Samples = 6, Seed = 11, Baselines = torch.zeros(1, input.FeatureCount) },
        };
        using var result = LLMGradientAttribution.LayerGradientShap(model, tokenizer, "transformer.wte").Attribute(input, answer, options);

        for (var t = 0; t < answer.Length; t++)
        {
            // Gradient SHAP with the embeddings as the input: points between the pad token's embedding and the prompt's
            // (the answer's earlier tokens are the same at both ends), fed to the model in place of the embedding layer's output.
            var ids = Sequence(input, answer, t);
            Tensor embedded, reference;
            using (torch.no_grad())
            {
                embedded = model.TokenEmbedding.call(ids);
                reference = model.TokenEmbedding.call(Sequence(input, answer, t, removed: true));
            }

            var next = answer[t];
            var forward = ForwardFunction.FromDelegate(
                (Tensor[] points) =>
                {
                    var replace = model.TokenEmbedding.register_forward_hook((_, _, _) => points[0]);
                    try
                    {
                        return NextLogProbability(model, ids.expand(points[0].shape[0], -1), next);
                    }
                    finally
                    {
                        replace.remove();
                    }
                },
                model);
            using var byHand = new GradientShap(forward).Attribute(embedded, new GradientShapOptions { Samples = 6, Seed = 11, Baselines = reference });

            TensorAssert.AllClose(PerFeature(byHand.Attributions[0], input)[0], result.TokenAttribution![t], 1e-6, 1e-4);
        }
    }

    [Fact]
    public void Attribute_LayerGradientShapWithoutBaselines_RemovesEveryFeatureAsBaselinesZero()
    {
        using var scope = torch.NewDisposeScope();
        var (model, tokenizer, input) = Setup();
        var attribution = LLMGradientAttribution.LayerGradientShap(model, tokenizer, "transformer.wte");

        using var unset = attribution.Attribute(input, "garden", new() { Method = new LayerGradientShapOptions { Seed = 4 } });
        using var zero = attribution.Attribute(input, "garden", new() { Method = new LayerGradientShapOptions { Seed = 4, Baselines = 0.0 } });
        using var ones = attribution.Attribute(input, "garden", new() { Method = new LayerGradientShapOptions { Seed = 4, Baselines = 1.0 } });

        TensorAssert.AllClose(zero.SequenceAttribution, unset.SequenceAttribution, 0, 0);
        Assert.True(unset.SequenceAttribution.abs().sum().item<float>() > 0);

        // A reference equal to the prompt has nothing to attribute.
        Assert.Equal(0, ones.SequenceAttribution.abs().max().item<float>());
    }

    [Theory]
    [InlineData(2)]
    [InlineData(5)]
    public void Attribute_NumTrialsOtherThanOne_NamesNumTrialsBeforeAnyPass(int trials)
    {
        using var scope = torch.NewDisposeScope();
        var (model, tokenizer, input) = Setup();
        var passes = 0;
        var counting = model.TokenEmbedding.register_forward_hook((_, _, output) =>
        {
            passes++;
            return output;
        });

        ArgumentException error;
        try
        {
            error = Assert.Throws<ArgumentException>(() => LLMGradientAttribution.LayerGradientShap(model, tokenizer, "transformer.wte")
                .Attribute(input, "garden", new() { NumTrials = trials, Method = new LayerGradientShapOptions { Seed = 4 } }));
        }
        finally
        {
            counting.remove();
        }

        Assert.Equal("NumTrials", error.ParamName);
        Assert.Contains("num_trials", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, passes);
    }
}
