using Captum.Attr;
using Captum.Golden;
using Captum.Plugins.TextGeneration;
using Captum.Plugins.TextGeneration.Model;
using Captum.Plugins.TextGeneration.Stories;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.LLM;

/// <summary>
/// What the LLM classes check of the token ids and the answer before any pass (ids outside the vocabulary, unknown
/// words, a foil that is the answer, an answer too long), and where greedy generation stops by default.
/// </summary>
public sealed class LLMTokenChecksTests
{
    private const string Prompt = "john went to the kitchen . mary went to the garden . where is mary ?";

    /// <summary>A small GPT-2 over the story vocabulary, with seeded weights, and the story tokenizer.</summary>
    private static (Gpt2LMHeadModel Model, StoryTokenizer Tokenizer) StorySetup(long positions = 32)
    {
        torch.manual_seed(5);
        var tokenizer = new StoryTokenizer();
        var model = new Gpt2LMHeadModel(new Gpt2Config(tokenizer.Vocabulary.Count, positions, 8, 2, 1));
        model.eval();
        return (model, tokenizer);
    }

    /// <summary>A small GPT-2 with <see cref="LLMAttributionTests.Vocab"/> and the golden word tokenizer, which does not say its vocabulary's size.</summary>
    private static (Gpt2LMHeadModel Model, WordTokenizer Tokenizer) WordSetup()
    {
        torch.manual_seed(3);
        var model = new Gpt2LMHeadModel(new Gpt2Config(LLMAttributionTests.Vocab.Length, 32, 8, 2, 1));
        model.eval();
        return (model, new WordTokenizer(LLMAttributionTests.Vocab));
    }

    [Fact]
    public void Tokenizers_StoryAndGpt2_SayTheirVocabularyUnknownAndEndTokens()
    {
        ITextTokenizer story = new StoryTokenizer();
        ITextTokenizer gpt2 = new Gpt2Tokenizer();

        Assert.Equal(StoryWords.Vocabulary.Count, story.VocabularySize);
        Assert.Equal([StoryWords.Unknown], story.ConvertIdsToTokens([story.UnknownTokenId!.Value]));
        Assert.Equal([StoryWords.End], story.ConvertIdsToTokens([story.EndOfSequenceTokenId!.Value]));
        Assert.Equal(50257L, gpt2.VocabularySize);
        Assert.Null(gpt2.UnknownTokenId);
        Assert.Equal(Gpt2Tokenizer.EndOfText, gpt2.EndOfSequenceTokenId);
    }

    [Theory]
    [InlineData(999)]
    [InlineData(-5)]
    public void TextTokenInput_BaselineOutsideTheTokenizersVocabulary_ThrowsNamingBaselines(long baseline)
    {
        var error = Assert.Throws<ArgumentException>(() => new TextTokenInput(Prompt, new StoryTokenizer(), baseline));

        Assert.Equal("baselines", error.ParamName);
        Assert.Contains($"{baseline} is not a token id of the tokenizer's {StoryWords.Vocabulary.Count} tokens", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TextTokenInput_BaselineOrSkippedTokenStringThatIsNoToken_ThrowsNamingTheArgument()
    {
        // Captum's tokenizer call would turn "<s>" into the unknown token, which GPT-2 does not have.
        var gpt2 = new Gpt2Tokenizer();

        var baseline = Assert.Throws<ArgumentException>(() => new TextTokenInput("Where is the dog?", gpt2, "<s>"));
        var skipped = Assert.Throws<ArgumentException>(() => new TextTokenInput("Where is the dog?", gpt2, skipTokens: ["<s>"]));

        Assert.Equal("baselines", baseline.ParamName);
        Assert.Equal("skipTokens", skipped.ParamName);
        Assert.StartsWith("skipTokens: \"<s>\" is not a token of the tokenizer's vocabulary", skipped.Message, StringComparison.Ordinal);
        Assert.Equal(gpt2.Encode(" the")[0], new TextTokenInput("Where is the dog?", gpt2, "Ġthe").Baseline);
    }

    [Fact]
    public void TextTokenInput_CharactersSplitAcrossGpt2Tokens_ShowWholeOnEachTokenMarkedOverlapAfterTheFirst()
    {
        const string Text = "I love 😀 and café";
        var gpt2 = new Gpt2Tokenizer();

        var input = new TextTokenInput(Text, gpt2);

        // GPT-2 spells 😀 (F0 9F 98 80) as " ðŁĺ" and "Ģ": Hugging Face's offsets give both tokens the whole character,
        // which Captum shows, the second marked; each id decoded alone would give U+FFFD twice.
        Assert.Equal(["I", "Ġlove", "ĠðŁĺ", "Ģ", "Ġand", "ĠcafÃ©"], input.Tokens);
        Assert.Equal(["I", "love", "😀", "😀 [OVERLAP]", "and", "café"], input.Values);
    }

    /// <summary>
    /// One token per UTF-8 byte: the plainest tokenizer that splits characters. Either it says it decodes by
    /// concatenation, or, as SentencePiece's decoders do, it drops the leading space of what it decodes (and says not).
    /// </summary>
    private sealed class ByteTokenizer(bool concatenates) : ITextTokenizer
    {
        public bool DecodesByConcatenation => concatenates;

        public IReadOnlyList<long> Encode(string text) => System.Text.Encoding.UTF8.GetBytes(text).Select(b => (long)b).ToList();

        public string Decode(IReadOnlyList<long> ids)
        {
            var text = System.Text.Encoding.UTF8.GetString(ids.Select(i => (byte)i).ToArray());
            return concatenates ? text : text.TrimStart(' ');
        }

        public IReadOnlyList<string> ConvertIdsToTokens(IReadOnlyList<long> ids) => ids.Select(i => $"<{i:X2}>").ToList();

        public IReadOnlyList<long> ConvertTokensToIds(IReadOnlyList<string> tokens) =>
            tokens.Select(t => (long)Convert.ToByte(t.Trim('<', '>'), 16)).ToList();
    }

    [Theory]
    [InlineData(true)] // decoded a few tokens at a time, from the last character boundary
    [InlineData(false)] // decoded from the start: a window starting at " b" would lose its space
    public void TextTokenInput_CharacterSplitAcrossThreeTokensBesideWholeOnes_ShowsItWholeOnEach(bool concatenates)
    {
        var input = new TextTokenInput("a日 b\n", new ByteTokenizer(concatenates));

        // 日 is E6 97 A5; the space alone trims to nothing and keeps the tokenizer's string.
        Assert.Equal(["a", "日", "日 [OVERLAP]", "日 [OVERLAP]", "<20>", "b", "\\n"], input.Values);
    }

    [Theory]
    [InlineData(999L)]
    [InlineData(-1L)]
    public void Attribute_TargetIdsOutsideTheVocabulary_ThrowNamingTargetNotANativeError(long id)
    {
        using var scope = torch.NewDisposeScope();
        var (model, tokenizer) = StorySetup();
        var input = new TextTokenInput(Prompt, tokenizer);

        var ablation = Assert.Throws<ArgumentException>(() => LLMAttribution.FeatureAblation(model, tokenizer).Attribute(input, new[] { id }));
        var gradient = Assert.Throws<ArgumentException>(() => LLMGradientAttribution.LayerIntegratedGradients(model, tokenizer, "transformer.wte").Attribute(input, new[] { id }));

        Assert.All(new[] { ablation, gradient }, e => Assert.Equal("target", e.ParamName));
        Assert.Contains($"{id} is not a token id", ablation.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Attribute_IdsOutsideTheModelsVocabularyWithATokenizerThatDoesNotSayItsSize_ThrowNamingThem()
    {
        using var scope = torch.NewDisposeScope();
        var (model, tokenizer) = WordSetup();
        var size = LLMAttributionTests.Vocab.Length;
        var llm = LLMAttribution.FeatureAblation(model, tokenizer);

        // The tokenizer does not know its size, so the input takes the baseline; the model's embedding refuses it.
        var input = new TextTokenInput("john went to the kitchen .", tokenizer, baselines: size);
        var baseline = Assert.Throws<ArgumentException>(() => llm.Attribute(input, "kitchen"));
        var target = Assert.Throws<ArgumentException>(() => llm.Attribute(new TextTokenInput("john went to the kitchen .", tokenizer), new[] { (long)size }));
        var foil = Assert.Throws<ArgumentException>(() => llm.Attribute(
            new TextTokenInput("john went to the kitchen .", tokenizer), "kitchen", new LLMAttributionOptions<FeatureAblationOptions> { Foil = new[] { (long)size } }));

        Assert.Equal("baselines", baseline.ParamName);
        Assert.Contains($"the model's {size} tokens", baseline.Message, StringComparison.Ordinal);
        Assert.Equal("target", target.ParamName);
        Assert.Equal("Foil", foil.ParamName);
    }

    [Fact]
    public void Attribute_TextTargetWithAWordOutsideTheVocabulary_ThrowsNamingTargetAndTheUnknownToken()
    {
        using var scope = torch.NewDisposeScope();
        var (model, tokenizer) = StorySetup();
        var input = new TextTokenInput("where is mary ?", tokenizer);

        var error = Assert.Throws<ArgumentException>(() => LLMAttribution.FeatureAblation(model, tokenizer).Attribute(input, "zzzz"));
        var foil = Assert.Throws<ArgumentException>(() => LLMAttribution.FeatureAblation(model, tokenizer)
            .Attribute(input, "garden", new LLMAttributionOptions<FeatureAblationOptions> { Foil = "the zzzz" }));

        Assert.Equal("target", error.ParamName);
        Assert.Contains("does not know", error.Message, StringComparison.Ordinal);
        Assert.Contains(StoryWords.Unknown, error.Message, StringComparison.Ordinal);
        Assert.Equal("Foil", foil.ParamName);
    }

    [Fact]
    public void Attribute_FoilThatIsTheAnswer_ThrowsNamingFoil()
    {
        using var scope = torch.NewDisposeScope();
        var (model, tokenizer) = StorySetup();
        var input = new TextTokenInput(Prompt, tokenizer);
        var options = new LLMAttributionOptions<FeatureAblationOptions> { Foil = "garden" };

        var error = Assert.Throws<ArgumentException>(() => LLMAttribution.FeatureAblation(model, tokenizer).Attribute(input, "garden", options));
        var gradient = Assert.Throws<ArgumentException>(() => LLMGradientAttribution.LayerIntegratedGradients(model, tokenizer, "transformer.wte")
            .Attribute(input, "garden", new LLMAttributionOptions<LayerIntegratedGradientsOptions> { Foil = "garden" }));

        Assert.All(new[] { error, gradient }, e => Assert.Equal("Foil", e.ParamName));
        Assert.Contains("the foil is the answer itself", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Attribute_TargetLongerThanThePositions_NamesTargetNotThePrompt()
    {
        using var scope = torch.NewDisposeScope();
        var (model, tokenizer) = StorySetup(positions: 8);
        var input = new TextTokenInput("where is mary ?", tokenizer);

        var alone = Assert.Throws<ArgumentException>(() => LLMAttribution.FeatureAblation(model, tokenizer).Attribute(input, string.Join(" ", Enumerable.Repeat("garden", 9))));
        var together = Assert.Throws<ArgumentException>(() => LLMAttribution.FeatureAblation(model, tokenizer).Attribute(input, string.Join(" ", Enumerable.Repeat("garden", 6))));

        Assert.Equal("target", alone.ParamName);
        Assert.Contains("the answer has 9 tokens", alone.Message, StringComparison.Ordinal);
        Assert.Equal("input", together.ParamName);
        Assert.Contains("Shorten the prompt or the target", together.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Attribute_GenerationOptionWithATarget_ThrowsNamingTheOption()
    {
        using var scope = torch.NewDisposeScope();
        var (model, tokenizer) = StorySetup();
        var input = new TextTokenInput(Prompt, tokenizer);
        var fa = LLMAttribution.FeatureAblation(model, tokenizer);

        var maxNew = Assert.Throws<ArgumentException>(() => fa.Attribute(input, "garden", new LLMAttributionOptions<FeatureAblationOptions> { MaxNewTokens = 4 }));
        var stop = Assert.Throws<ArgumentException>(() => fa.Attribute(input, "garden", new LLMAttributionOptions<FeatureAblationOptions> { StopAtEndOfSequence = false }));
        var end = Assert.Throws<ArgumentException>(() => fa.Attribute(input, "garden", new LLMAttributionOptions<FeatureAblationOptions>() with { EndOfSequence = 2 }));
        var gradient = Assert.Throws<ArgumentException>(() => LLMGradientAttribution.LayerIntegratedGradients(model, tokenizer, "transformer.wte")
            .Attribute(input, "garden", new LLMAttributionOptions<LayerIntegratedGradientsOptions> { MaxNewTokens = 25 }));

        Assert.Equal(["MaxNewTokens", "StopAtEndOfSequence", "EndOfSequence", "MaxNewTokens"], new[] { maxNew, stop, end, gradient }.Select(e => e.ParamName));
        Assert.Contains("apply only when no target is given", maxNew.Message, StringComparison.Ordinal);
        using var fine = fa.Attribute(input, "garden", new LLMAttributionOptions<FeatureAblationOptions> { NumTrials = 1 });
        Assert.Equal(["garden"], fine.OutputTokens);
    }

    [Fact]
    public void Attribute_FourThreadsOnOneModel_EqualTheSerialResults()
    {
        using var scope = torch.NewDisposeScope();
        using var story = StoryModel.Load();
        var input = new TextTokenInput(Prompt, story.Tokenizer);
        var template = new TextTemplateInput("{} . {} . where is mary ?", ["john went to the kitchen", "mary went to the garden"]);
        Func<Tensor>[] calls =
        [
            () => LLMAttribution.FeatureAblation(story.Network, story.Tokenizer).Attribute(input, "garden").TokenAttribution!,
            () => LLMAttribution.FeatureAblation(story.Network, story.Tokenizer).Attribute(template, options: new LLMAttributionOptions<FeatureAblationOptions> { UseCachedOutputs = false }).SequenceAttribution,
            () => LLMAttribution.ShapleyValueSampling(story.Network, story.Tokenizer).Attribute(template, "garden", new() { Method = new() { Seed = 3, Samples = 4 }, NumTrials = 2 }).SequenceAttribution,
            () => LLMGradientAttribution.LayerIntegratedGradients(story.Network, story.Tokenizer, "transformer.wte").Attribute(input, "garden", new() { Method = new() { Steps = 8 } }).TokenAttribution!,
        ];
        var serial = calls.Select(call => call()).ToList();

        var parallel = new Tensor[calls.Length * 2];
        var threads = Enumerable.Range(0, calls.Length).Select(t => new Thread(() =>
        {
            for (var round = 0; round < 2; round++)
            {
                using var threadScope = torch.NewDisposeScope();
                var call = (t + round) % calls.Length;
                parallel[(round * calls.Length) + t] = calls[call]().clone().MoveToOuterDisposeScope();
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        for (var i = 0; i < parallel.Length; i++)
        {
            var (t, round) = (i % calls.Length, i / calls.Length);
            TensorAssert.AllClose(parallel[i], serial[(t + round) % calls.Length], 0, 0, $"thread {t}, round {round}");
        }
    }

    [Fact]
    public void Attribute_NoTargetAndNoEndOfSequence_StopsAtTheTokenizersEndOfSequence()
    {
        using var scope = torch.NewDisposeScope();
        using var story = StoryModel.Load();
        var input = new TextTokenInput(Prompt, story.Tokenizer);
        var llm = LLMAttribution.FeatureAblation(story.Network, story.Tokenizer);

        using var stopped = llm.Attribute(input);
        using var unstopped = llm.Attribute(input, options: new LLMAttributionOptions<FeatureAblationOptions> { StopAtEndOfSequence = false, MaxNewTokens = 4 });

        // The story model answers the place, then [eos]; generation ends there, [eos] kept as Hugging Face's generate keeps it.
        Assert.Equal(["garden", StoryWords.End], stopped.OutputTokens);
        Assert.Equal(4, unstopped.OutputTokens.Count);
        Assert.Equal(["garden", StoryWords.End], unstopped.OutputTokens.Take(2));
    }
}
