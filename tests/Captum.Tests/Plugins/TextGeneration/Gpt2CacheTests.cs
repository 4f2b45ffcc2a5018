using Captum.Attr;
using Captum.Golden;
using Captum.Plugins.TextGeneration;
using Captum.Plugins.TextGeneration.Model;
using Captum.TestData;
using Captum.Tests.Attr.LLM;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Plugins.TextGeneration;

/// <summary>GPT-2's key-value cache (Hugging Face's past_key_values) and its use by generation and LLMAttribution.</summary>
public sealed class Gpt2CacheTests
{
    private static Gpt2LMHeadModel RandomModel(long positions = 32)
    {
        torch.manual_seed(11);
        var model = new Gpt2LMHeadModel(new Gpt2Config(LLMAttributionTests.Vocab.Length, positions, 16, 2, 2));
        model.eval();
        return model;
    }

    private static Gpt2LMHeadModel TinyCheckpoint() =>
        Gpt2Checkpoint.Load(SharedData.Locate(Path.Combine("checkpoints", "gpt2-tiny"), "CAPTUM_GPT2_TINY_DIR"));

    /// <summary>The logits of <paramref name="ids"/> read whole, and read as a cached prefix of <paramref name="split"/> tokens then the rest in steps of <paramref name="step"/>.</summary>
    private static void AssertCachedLogitsEqualWhole(Gpt2LMHeadModel model, Tensor ids, int split, int step)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var whole = model.Logits(ids);
        var parts = new List<Tensor> { model.Logits(ids.narrow(1, 0, split), null, out var cache) };
        for (var start = split; start < ids.shape[1]; start += step)
        {
            var length = Math.Min(step, ids.shape[1] - start);
            parts.Add(model.Logits(ids.narrow(1, start, length), cache, out var next));
            cache = next;
        }

        Assert.Equal(ids.shape[1], cache.Length);
        TensorAssert.AllClose(torch.cat(parts, 1), whole, 1e-5, 1e-5);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(5, 3)]
    [InlineData(11, 1)]
    public void Logits_RandomWeightsWithCache_EqualTheWholeSequencesLogits(int split, int step)
    {
        using var scope = torch.NewDisposeScope();
        var model = RandomModel();
        var ids = torch.tensor(new long[,] { { 1, 4, 5, 6, 7, 9, 10, 11, 12, 4, 13, 9 }, { 1, 3, 5, 6, 7, 8, 10, 11, 12, 3, 13, 8 } });

        AssertCachedLogitsEqualWhole(model, ids, split, step);
    }

    [Fact]
    public void Logits_CacheOfOneRowServingABatch_EqualsEachRowReadWhole()
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var model = RandomModel();
        var prefix = torch.tensor(new long[,] { { 1, 4, 5, 6 } });
        var rest = torch.tensor(new long[,] { { 7, 9 }, { 7, 8 }, { 2, 2 } });

        model.Logits(prefix, null, out var cache);
        var cached = model.Logits(rest, cache, out var present);

        var whole = model.Logits(torch.cat([prefix.expand(3, -1), rest], 1)).narrow(1, 4, 2);
        TensorAssert.AllClose(cached, whole, 1e-5, 1e-5);
        Assert.Equal(3, present.BatchSize);
        Assert.Equal(6, present.Length);
    }

    [Fact]
    public void Logits_Gpt2TinyCheckpointWithCache_EqualTheWholeSequencesLogits()
    {
        using var scope = torch.NewDisposeScope();
        using var model = TinyCheckpoint();
        var ids = torch.tensor(new Gpt2Tokenizer().Encode("The cat went to the kitchen. The dog went to the garden. Where is the dog?").ToArray()).unsqueeze(0);

        AssertCachedLogitsEqualWhole(model, ids, 7, 4);
    }

    [Fact]
    public void Greedy_WithAndWithoutCache_SameTokens()
    {
        using var scope = torch.NewDisposeScope();
        using var tiny = TinyCheckpoint();
        var random = RandomModel();
        var tinyPrompt = torch.tensor(new Gpt2Tokenizer().Encode("The cat went to the kitchen. Where is the cat?").ToArray()).unsqueeze(0);
        var randomPrompt = torch.tensor(new long[] { 1, 4, 5, 6, 7, 9 }).unsqueeze(0);

        Assert.Equal(LLMGeneration.Greedy(tiny, tinyPrompt, 8, useCache: false), LLMGeneration.Greedy(tiny, tinyPrompt, 8));

        // Up to the model's last position (32): the cached path stops where the uncached one does.
        var uncached = LLMGeneration.Greedy(random, randomPrompt, 40, useCache: false);
        Assert.Equal(26, uncached.Length);
        Assert.Equal(uncached, LLMGeneration.Greedy(random, randomPrompt, 40));
    }

    [Fact]
    public void Attribute_FeatureAblationWithAndWithoutCache_SameAttributions_AndTheCachedReadsFewerTokens()
    {
        using var scope = torch.NewDisposeScope();
        var model = new TokenCounting(RandomModel());
        var tokenizer = new WordTokenizer(LLMAttributionTests.Vocab);
        var tokens = new TextTokenInput("mary went to the garden . john went to the kitchen . where is mary ?", tokenizer, baselines: "<pad>", skipTokens: ["<s>"]);
        var template = new TextTemplateInput("{} went to the {} . john went to the {} . where is {} ?", ["mary", "garden", "kitchen", "mary"]);
        var fa = LLMAttribution.FeatureAblation(model, tokenizer);
        var svs = LLMAttribution.ShapleyValueSampling(model, tokenizer);
        LLMAttributionOptions<FeatureAblationOptions> Fa(bool cache) => new() { SkipTokens = ["<s>"], UseCachedOutputs = cache };
        LLMAttributionOptions<ShapleyValueSamplingOptions> Svs(bool cache) =>
            new() { SkipTokens = ["<s>"], UseCachedOutputs = cache, Foil = "kitchen .", Method = new() { Samples = 2, Seed = 3 } };

        model.Read = 0;
        using var uncached = fa.Attribute(tokens, "garden . mary", Fa(false));
        var uncachedReads = model.Read;
        model.Read = 0;
        using var cached = fa.Attribute(tokens, "garden . mary", Fa(true));
        var cachedReads = model.Read;
        using var templateUncached = fa.Attribute(template, "garden .", Fa(false));
        using var templateCached = fa.Attribute(template, "garden .", Fa(true));
        using var shapleyUncached = svs.Attribute(template, "garden .", Svs(false));
        using var shapleyCached = svs.Attribute(template, "garden .", Svs(true));
        using var generatedUncached = fa.Attribute(tokens, null, Fa(false) with { MaxNewTokens = 3 });
        using var generatedCached = fa.Attribute(tokens, null, Fa(true) with { MaxNewTokens = 3 });

        foreach (var (a, b) in new[] { (uncached, cached), (templateUncached, templateCached), (shapleyUncached, shapleyCached), (generatedUncached, generatedCached) })
        {
            TensorAssert.AllClose(a.SequenceAttribution, b.SequenceAttribution, 1e-5, 1e-5);
            TensorAssert.AllClose(a.TokenAttribution!, b.TokenAttribution!, 1e-5, 1e-5);
            Assert.Equal(a.OutputTokenIds, b.OutputTokenIds);
        }

        Assert.True(cachedReads < uncachedReads * 0.7, $"{cachedReads} tokens read with the cache, {uncachedReads} without");
    }

    [Fact]
    public void Attribute_ModelWithAForwardHookOnABlock_ReadsWholeSequencesAndMatchesTheUncachedRun()
    {
        using var scope = torch.NewDisposeScope();
        var inner = RandomModel();
        var model = new TokenCounting(inner);
        var tokenizer = new WordTokenizer(LLMAttributionTests.Vocab);
        var tokens = new TextTokenInput("mary went to the garden . where is mary ?", tokenizer, baselines: "<pad>", skipTokens: ["<s>"]);
        var fa = LLMAttribution.FeatureAblation(model, tokenizer);
        LLMAttributionOptions<FeatureAblationOptions> Fa(bool cache) => new() { SkipTokens = ["<s>"], UseCachedOutputs = cache, MaxNewTokens = 2 };
        var block = (nn.Module<Tensor, Tensor>)inner.named_modules().Single(m => m.name == "transformer.h.0").module;
        // An intervention the cached path would skip: the block is not called as a module there.
        block.register_forward_hook((_, _, output) => output * 0.5);

        model.Read = 0;
        using var uncached = fa.Attribute(tokens, null, Fa(false));
        var uncachedReads = model.Read;
        model.Read = 0;
        using var cached = fa.Attribute(tokens, null, Fa(true));

        Assert.Equal(uncachedReads, model.Read);
        Assert.Equal(uncached.OutputTokenIds, cached.OutputTokenIds);
        TensorAssert.AllClose(uncached.SequenceAttribution, cached.SequenceAttribution, 0, 0);
        TensorAssert.AllClose(uncached.TokenAttribution!, cached.TokenAttribution!, 0, 0);
    }

    [Fact]
    public void Logits_CachedAndNewTokensBeyondThePositions_NamesInputIds()
    {
        using var scope = torch.NewDisposeScope();
        var model = RandomModel(positions: 8);
        model.Logits(torch.ones(1, 6, ScalarType.Int64), null, out var cache);

        var error = Assert.Throws<ArgumentException>(() => model.Logits(torch.ones(1, 3, ScalarType.Int64), cache, out _));

        Assert.Equal("inputIds", error.ParamName);
        Assert.Contains("6 cached", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Logits_CacheOfAnotherBatch_NamesPast()
    {
        using var scope = torch.NewDisposeScope();
        var model = RandomModel();
        model.Logits(torch.ones(2, 3, ScalarType.Int64), null, out var cache);

        Assert.Equal("past", Assert.Throws<ArgumentException>(() => model.Logits(torch.ones(3, 1, ScalarType.Int64), cache, out _)).ParamName);
    }

    /// <summary>A caching model that counts the tokens it reads (rows times tokens, over every call).</summary>
    private sealed class TokenCounting(Gpt2LMHeadModel inner) : ICachingCausalLanguageModel
    {
        public long Read { get; set; }

        public nn.Module Module => inner;

        public int MaxPositions => inner.MaxPositions;

        public Tensor Logits(Tensor inputIds)
        {
            Read += inputIds.numel();
            return inner.Logits(inputIds);
        }

        public Tensor Logits(Tensor inputIds, KeyValueCache? past, out KeyValueCache present)
        {
            Read += inputIds.numel();
            return inner.Logits(inputIds, past, out present);
        }
    }
}
