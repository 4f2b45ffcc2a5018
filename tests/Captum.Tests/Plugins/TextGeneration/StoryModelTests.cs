using Captum.Plugins.TextGeneration.Model;
using Captum.Plugins.TextGeneration.Stories;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Plugins.TextGeneration;

/// <summary>The story model the plugin ships, its training and its Hugging Face folder.</summary>
/// <remarks>Serial: training and the randomised model seed TorchSharp's global generator.</remarks>
[Collection(Captum.Tests.Attr.SerialCollection.Name)]
public sealed class StoryModelTests
{
    /// <summary>A story model with fresh weights, as training starts.</summary>
    internal static StoryModel Fresh(long seed)
    {
        torch.manual_seed(seed);
        var network = StoryTrainer.Initialized(new StoryTrainingOptions().Config(StoryWords.Vocabulary.Count));
        network.eval();
        return new StoryModel(network, new StoryTokenizer());
    }

    [Fact]
    public void Load_ShippedModel_AnswersHeldOutStoriesAtLeast95PercentRight()
    {
        using var model = StoryModel.Load();

        // Stream 2 is the training run's held-out check (training used stream 1); 777 is a stream no run has seen.
        foreach (var seed in new long[] { 2, 777 })
        {
            var accuracy = model.Accuracy(StoryGenerator.GenerateMany(seed, 300));
            Assert.True(accuracy >= 0.95, $"accuracy {accuracy:0.000} on stream {seed}");
        }
    }

    [Fact]
    public void Load_ShippedModel_GeneratesTheAnswerThenTheEndToken()
    {
        using var model = StoryModel.Load();
        var story = StoryGenerator.Generate(777, 3);
        var prompt = torch.tensor(model.Tokenizer.Encode(story.Prompt).ToArray()).unsqueeze(0);

        var generated = Captum.Attr.LLMGeneration.Greedy(model.Network, prompt, 5, model.Tokenizer.EndId);

        Assert.Equal([story.Answer, StoryWords.End], model.Tokenizer.ConvertIdsToTokens(generated));
        Assert.Equal(story.Answer, model.Tokenizer.Decode(generated));
    }

    [Fact]
    public void Train_FewSteps_ReducesTheLoss()
    {
        var reports = new List<StoryTrainingProgress>();
        var options = new StoryTrainingOptions { Steps = 60, BatchSize = 16, Width = 32, Heads = 2, Layers = 1, LearningRate = 3e-3, WarmupSteps = 0, HeldOutStories = 0, ReportEvery = 10, Threads = 1 };

        using var model = StoryTrainer.Train(options, new SynchronousProgress<StoryTrainingProgress>(reports.Add)).Model;

        Assert.Equal(6, reports.Count);
        Assert.True(reports[^1].Loss < 0.75 * reports[0].Loss, $"loss {reports[0].Loss:0.000} -> {reports[^1].Loss:0.000}");
    }

    [Fact]
    public void Sequence_StoryWithTwoPeople_AsksWhereOfEachThenWhoOfEachPlaceOneSentenceGoesTo()
    {
        var tokenizer = new StoryTokenizer();
        var story = new Story(0, 0, ["mary went to the garden .", "john moved to the office .", "mary went to the kitchen ."], "john", "office", 1);

        var (ids, trained) = StoryTrainer.Sequence(story, tokenizer);

        var expected = "mary went to the garden . john moved to the office . mary went to the kitchen . "
            + "where is john ? office [eos] where is mary ? kitchen [eos] who went to the garden ? mary [eos] who went to the office ? john";
        Assert.Equal(expected, string.Join(" ", tokenizer.ConvertIdsToTokens(ids)));

        // Each question's key word and last token are trained on the answer, each answer on [eos] (the last one beyond the input).
        var words = expected.Split(' ');
        var wanted = new List<(int, string)>();
        for (var i = 0; i < words.Length; i++)
        {
            if (words[i] == "?")
            {
                wanted.Add((i - 1, words[i + 1]));
                wanted.Add((i, words[i + 1]));
                wanted.Add((i + 1, "[eos]"));
            }
        }

        Assert.Equal(wanted, trained.Select(t => (t.Position, tokenizer.ConvertIdsToTokens([t.Target])[0])));
    }

    [Fact]
    public void Sequence_WithoutEarlyAnswersAndWhoQuestions_TrainsOnlyTheWhereQuestionsLastTokens()
    {
        var tokenizer = new StoryTokenizer();
        var story = new Story(0, 0, ["mary went to the garden .", "john moved to the office ."], "mary", "garden", 0);

        var (ids, trained) = StoryTrainer.Sequence(story, tokenizer, new StoryTrainingOptions { EarlyAnswers = false, WhoQuestions = false });

        Assert.Equal("mary went to the garden . john moved to the office . where is mary ? garden [eos] where is john ? office", string.Join(" ", tokenizer.ConvertIdsToTokens(ids)));
        Assert.Equal([(15, "garden"), (16, "[eos]"), (21, "office"), (22, "[eos]")], trained.Select(t => (t.Position, tokenizer.ConvertIdsToTokens([t.Target])[0])));
    }

    [Fact]
    public void LearningRateFactor_WarmupThenCosine_RisesLinearlyPeaksAndEndsAtTwoPercent()
    {
        var options = new StoryTrainingOptions { Steps = 1000, WarmupSteps = 100 };

        Assert.Equal(0.01, StoryTrainer.LearningRateFactor(options, 0), 12);
        Assert.Equal(0.5, StoryTrainer.LearningRateFactor(options, 49), 12);
        Assert.Equal(1.0, StoryTrainer.LearningRateFactor(options, 100), 12);
        Assert.Equal(0.02 + (0.98 * 0.5), StoryTrainer.LearningRateFactor(options, 550), 12);
        Assert.Equal(0.02, StoryTrainer.LearningRateFactor(options, 1000), 12);
    }

    [Fact]
    public void Initialized_SinusoidalPositions_StartsThePositionEmbeddingsFromScaledSinusoids()
    {
        var config = new StoryTrainingOptions().Config(StoryWords.Vocabulary.Count);
        using var network = StoryTrainer.Initialized(config, sinusoidalPositions: true);
        var wpe = network.named_parameters().Single(p => p.name.EndsWith("wpe.weight", StringComparison.Ordinal)).parameter;

        foreach (var (position, column) in new[] { (0, 0), (0, 1), (5, 0), (5, 1), (17, 10), (17, 11), (40, 62), (40, 63) })
        {
            var angle = position / Math.Pow(10000, (column - (column % 2)) / (double)config.Width);
            var expected = 0.02 * Math.Sqrt(2) * (column % 2 == 0 ? Math.Sin(angle) : Math.Cos(angle));
            Assert.Equal(expected, wpe[position, column].item<float>(), 6);
        }
    }

    [Fact]
    public void Train_OptionOutOfRange_NamesIt()
    {
        Assert.Equal("Steps", Assert.Throws<ArgumentException>(() => StoryTrainer.Train(new StoryTrainingOptions { Steps = 0 })).ParamName);
        Assert.Equal("Positions", Assert.Throws<ArgumentException>(() => StoryTrainer.Train(new StoryTrainingOptions { Positions = 16 })).ParamName);
        Assert.Equal("WeightDecay", Assert.Throws<ArgumentException>(() => StoryTrainer.Train(new StoryTrainingOptions { WeightDecay = -0.1 })).ParamName);
        Assert.Equal("WarmupSteps", Assert.Throws<ArgumentException>(() => StoryTrainer.Train(new StoryTrainingOptions { WarmupSteps = -1 })).ParamName);
    }

    [Fact]
    public void SaveThenLoad_HuggingFaceFolder_GivesTheSameLogits()
    {
        using var scope = torch.NewDisposeScope();
        using var folder = new TempFolder();
        using var model = Fresh(3);
        using var random = model.Randomized(4);
        var ids = torch.tensor(random.Tokenizer.Encode(StoryGenerator.Generate(3, 0).Prompt).ToArray()).unsqueeze(0);

        random.Save(folder.Path);
        using var loaded = StoryModel.Load(folder.Path);

        using var noGrad = torch.no_grad();
        Assert.Equal(random.Network.Config, loaded.Network.Config);
        TensorAssert.AllClose(random.Network.Logits(ids), loaded.Network.Logits(ids), 0, 0);
        Assert.False(model.Network.Logits(ids).allclose(loaded.Network.Logits(ids)));
        Assert.True(File.Exists(Path.Combine(folder.Path, "vocab.txt")));
    }

    [Fact]
    public void Randomized_SameSeed_SameWeightsAndTheCallersRandomStreamUntouched()
    {
        using var scope = torch.NewDisposeScope();
        using var model = Fresh(3);
        torch.manual_seed(11);
        var expected = torch.rand(3);
        torch.manual_seed(11);

        using var a = model.Randomized(4);
        using var b = model.Randomized(4);

        TensorAssert.AllClose(torch.rand(3), expected, 0, 0);
        TensorAssert.AllClose(a.Network.TokenEmbedding.weight!, b.Network.TokenEmbedding.weight!, 0, 0);
    }

    [Fact]
    public void Load_MissingFolder_NamesCheckpoint()
    {
        Assert.Equal("checkpoint", Assert.Throws<ArgumentException>(() => StoryModel.Load(Path.Combine(Path.GetTempPath(), "no-such-story-model"))).ParamName);
    }
}
