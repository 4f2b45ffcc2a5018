using Captum.Plugins.TextGeneration.Model;

namespace Captum.Plugins.TextGeneration.Stories;

/// <summary>
/// The story model: a small GPT-2 (<see cref="Gpt2LMHeadModel"/>) trained from scratch on generated stories
/// (<see cref="StoryGenerator"/>) to answer "where is X ?" with the place and then <c>[eos]</c>, with its word-level
/// tokenizer. The plugin ships one, trained by <c>captum llm-train</c> (docs/llm.md), as a Hugging Face folder
/// (<c>config.json</c>, <c>model.safetensors</c>, <c>vocab.txt</c>) in <c>Stories/story-model</c> beside the plugin's
/// assembly; <see cref="Load"/> reads it.
/// </summary>
/// <remarks>The instance owns the network; dispose it when done. Calls are not thread-safe (the network is one module).</remarks>
public sealed class StoryModel : IDisposable
{
    /// <summary>The shipped model's folder name under <c>Stories/</c>.</summary>
    public const string FolderName = "story-model";

    /// <summary>Wraps a network and its tokenizer; the model takes ownership of the network.</summary>
    /// <exception cref="ArgumentException">The network's vocabulary is smaller than the tokenizer's; the message names it.</exception>
    public StoryModel(Gpt2LMHeadModel network, StoryTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(tokenizer);
        if (network.Config.VocabSize < tokenizer.Vocabulary.Count)
        {
            throw new ArgumentException($"network: its vocabulary ({network.Config.VocabSize}) is smaller than the tokenizer's ({tokenizer.Vocabulary.Count}).", nameof(network));
        }

        Network = network;
        Tokenizer = tokenizer;
    }

    /// <summary>The GPT-2 network.</summary>
    public Gpt2LMHeadModel Network { get; }

    /// <summary>The word-level tokenizer.</summary>
    public StoryTokenizer Tokenizer { get; }

    /// <summary>The folder of the model that ships with the plugin: <c>Stories/story-model</c> beside its assembly.</summary>
    public static string DefaultFolder { get; } =
        Path.Combine(Path.GetDirectoryName(typeof(StoryModel).Assembly.Location) ?? AppContext.BaseDirectory, "Stories", FolderName);

    /// <summary>Loads a story model folder (<c>config.json</c>, <c>model.safetensors</c> or <c>pytorch_model.bin</c>, <c>vocab.txt</c>); the shipped one when <paramref name="folder"/> is null. In evaluation mode.</summary>
    /// <exception cref="ArgumentException">The folder is missing or does not hold a GPT-2 with a story vocabulary; the message names it.</exception>
    public static StoryModel Load(string? folder = null)
    {
        folder ??= DefaultFolder;
        var tokenizer = StoryTokenizer.Load(folder);
        var network = Gpt2Checkpoint.Load(folder);
        try
        {
            return new StoryModel(network, tokenizer);
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    /// <summary>Writes the model as a Hugging Face folder: <c>config.json</c>, <c>model.safetensors</c>, <c>vocab.txt</c>.</summary>
    /// <param name="folder">The folder, created when missing.</param>
    /// <param name="metadata">Text stored in the safetensors header (how the model was trained), or null.</param>
    public void Save(string folder, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var special = new Dictionary<string, long>
        {
            ["bos_token_id"] = Tokenizer.EndId,
            ["eos_token_id"] = Tokenizer.EndId,
            ["pad_token_id"] = Tokenizer.PadId,
        };
        Gpt2Checkpoint.Save(Network, folder, special, metadata);
        Tokenizer.Save(folder);
    }

    /// <summary>The same network with fresh random weights as training starts from (seeded, the caller's random stream untouched), for sanity checks; the caller disposes it.</summary>
    public StoryModel Randomized(long seed)
    {
        Gpt2LMHeadModel network;
        using (var state = torch.get_rng_state())
        {
            torch.manual_seed(seed);
            try
            {
                network = StoryTrainer.Initialized(Network.Config, new StoryTrainingOptions().SinusoidalPositions);
            }
            finally
            {
                torch.set_rng_state(state);
            }
        }

        network.eval();
        return new StoryModel(network, Tokenizer);
    }

    /// <summary>The model's answer to each story: the most probable first token after its prompt, as a word.</summary>
    /// <param name="stories">The stories.</param>
    /// <param name="batchSize">Stories per forward pass.</param>
    public IReadOnlyList<string> Answer(IReadOnlyList<Story> stories, int batchSize = 256)
    {
        ArgumentNullException.ThrowIfNull(stories);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        var answers = new List<string>(stories.Count);
        using var noGrad = torch.no_grad();
        foreach (var chunk in stories.Chunk(batchSize))
        {
            using var scope = torch.NewDisposeScope();
            var prompts = chunk.Select(s => Tokenizer.Encode(s.Prompt)).ToList();
            using var batch = StoryBatch.Create(prompts, Tokenizer.PadId, Network.Config.Positions);
            var logits = Network.call(batch.Ids).gather(1, batch.Last.reshape(-1, 1, 1).expand(-1, 1, Network.Config.VocabSize)).squeeze(1);
            var best = logits.argmax(1).data<long>().ToArray();
            answers.AddRange(Tokenizer.ConvertIdsToTokens(best));
        }

        return answers;
    }

    /// <summary>The share of <paramref name="stories"/> whose answer the model gets right.</summary>
    public double Accuracy(IReadOnlyList<Story> stories, int batchSize = 256)
    {
        ArgumentNullException.ThrowIfNull(stories);
        if (stories.Count == 0)
        {
            return 0;
        }

        var answers = Answer(stories, batchSize);
        return stories.Where((s, i) => answers[i] == s.Answer).Count() / (double)stories.Count;
    }

    /// <summary>Disposes the network.</summary>
    public void Dispose() => Network.Dispose();
}
