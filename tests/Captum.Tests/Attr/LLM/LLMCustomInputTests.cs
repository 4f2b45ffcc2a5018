using Captum.Attr;
using Captum.Golden;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.LLM;

/// <summary>
/// The interpretable-input contract (<see cref="IInterpretableInput"/>) implemented by a user, as docs/llm.md describes
/// it: an input of token ids cut into sentences, each sentence one feature, run through LLMAttribution.
/// </summary>
public sealed class LLMCustomInputTests
{
    private static readonly string[] Sentences = ["john went to the kitchen .", "mary went to the garden .", "john went to the garden ."];

    private const string Question = "where is mary ?";

    [Theory]
    [InlineData("feature-ablation")]
    [InlineData("shapley-values")]
    public void Attribute_UserWrittenSentenceInput_EqualsTheSameSentencesAsTemplateValues(string method)
    {
        using var scope = torch.NewDisposeScope();
        var (model, tokenizer) = LLMAttributionTests.Setup();
        var custom = new SentenceInput(string.Join(" ", Sentences.Append(Question)), tokenizer);
        var template = new TextTemplateInput("{} {} {} " + Question, Sentences);
        LLMAttributionResult Run(IInterpretableInput input) => method == "feature-ablation"
            ? LLMAttribution.FeatureAblation(model, tokenizer).Attribute(input, "garden .", new LLMAttributionOptions<FeatureAblationOptions> { SkipTokens = ["<s>"] })
            : LLMAttribution.ShapleyValues(model, tokenizer).Attribute(input, "garden .", new LLMAttributionOptions<ShapleyValuesOptions> { SkipTokens = ["<s>"] });

        using var fromCustom = Run(custom);
        using var fromTemplate = Run(template);

        Assert.Equal(Sentences, fromCustom.InputTokens);
        Assert.Equal([3L], fromCustom.SequenceAttribution.shape);
        Assert.Equal([2L, 3L], fromCustom.TokenAttribution!.shape);
        TensorAssert.AllClose(fromCustom.SequenceAttribution, fromTemplate.SequenceAttribution, 1e-6, 1e-5);
        TensorAssert.AllClose(fromCustom.TokenAttribution!, fromTemplate.TokenAttribution!, 1e-6, 1e-5);
        Assert.True(fromCustom.SequenceAttribution.abs().max().item<float>() > 1e-3, "every sentence attributed 0");
    }

    [Fact]
    public void Attribute_UserWrittenSentenceInputWithFeatureAblation_IsTheAnswersDropWhenASentencesTokensAreLeftOut()
    {
        using var scope = torch.NewDisposeScope();
        var (model, tokenizer) = LLMAttributionTests.Setup();
        var input = new SentenceInput(string.Join(" ", Sentences.Append(Question)), tokenizer);

        using var result = LLMAttribution.FeatureAblation(model, tokenizer).Attribute(input, "garden", new LLMAttributionOptions<FeatureAblationOptions> { SkipTokens = ["<s>"] });

        using var noGrad = torch.no_grad();
        double LogProbability(IEnumerable<string> sentences) => LLMGeneration.AnswerLogProbabilities(
            model, torch.tensor(tokenizer.Encode(string.Join(" ", sentences.Append(Question))).ToArray()).unsqueeze(0), [9])[0, 0].item<float>();
        var full = LogProbability(Sentences);
        var attribution = result.SequenceAttribution.data<float>().ToArray();
        for (var s = 0; s < Sentences.Length; s++)
        {
            Assert.Equal(full - LogProbability(Sentences.Where((_, i) => i != s)), attribution[s], 4);
        }
    }

    /// <summary>
    /// A user's input: a prompt's token ids cut into sentences after each ".", every sentence one feature, removed by
    /// leaving its tokens out; the leading BOS and the question after the last "." are always kept. It works on ids
    /// and never calls the tokenizer it is handed.
    /// </summary>
    private sealed class SentenceInput : IInterpretableInput
    {
        private readonly long[] start;
        private readonly List<long[]> sentences = [];
        private readonly long[] end;

        public SentenceInput(string prompt, WordTokenizer tokenizer)
        {
            var ids = tokenizer.Encode(prompt).ToArray();
            var period = tokenizer.ConvertTokensToIds(["."])[0];
            start = ids[..1];
            var from = 1;
            for (var i = 1; i < ids.Length; i++)
            {
                if (ids[i] == period)
                {
                    sentences.Add(ids[from..(i + 1)]);
                    from = i + 1;
                }
            }

            end = ids[from..];
            Values = sentences.Select(s => string.Join(" ", tokenizer.ConvertIdsToTokens(s))).ToList();
        }

        public int FeatureCount => sentences.Count;

        public IReadOnlyList<string> Values { get; }

        public Tensor ToTensor() => torch.ones(1, FeatureCount);

        public Tensor ToModelInput(Tensor? perturbed, ITextTokenizer tokenizer)
        {
            if (perturbed is not null && (perturbed.dim() != 2 || perturbed.shape[0] != 1 || perturbed.shape[1] != FeatureCount))
            {
                throw new ArgumentException($"perturbed must be [1, {FeatureCount}].", nameof(perturbed));
            }

            var kept = perturbed?.cpu().to_type(ScalarType.Float32).data<float>().ToArray() ?? Enumerable.Repeat(1f, FeatureCount).ToArray();
            var ids = start.Concat(sentences.Where((_, i) => kept[i] == 1).SelectMany(s => s)).Concat(end).ToArray();
            return torch.tensor(ids, ScalarType.Int64).unsqueeze(0);
        }

        public Tensor FormatAttribution(Tensor attribution) => attribution.alias();
    }
}
