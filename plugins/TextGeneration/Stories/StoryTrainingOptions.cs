using Captum.Plugins.TextGeneration.Model;

namespace Captum.Plugins.TextGeneration.Stories;

/// <summary>How <see cref="StoryTrainer"/> trains a story model; the defaults made the shipped one (docs/llm.md).</summary>
public sealed record StoryTrainingOptions
{
    /// <summary>The seed of the weights and of the training stories (stream <c>Seed</c>); the held-out stories are stream <c>Seed + 1</c>.</summary>
    public long Seed { get; init; } = 1;

    /// <summary>Optimisation steps, each on new stories.</summary>
    public int Steps { get; init; } = 10000;

    /// <summary>Stories per step.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Adam's peak learning rate, decayed along a cosine to 2% of it.</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>AdamW's decoupled weight decay of the matrices and embeddings (biases and layer norms are not decayed); 0 is plain Adam.</summary>
    public double WeightDecay { get; init; } = 0.1;

    /// <summary>Steps over which the learning rate rises linearly from 0 to <see cref="LearningRate"/> before the cosine decay starts.</summary>
    public int WarmupSteps { get; init; } = 300;

    /// <summary>
    /// Whether the position embeddings start from the sinusoidal table of "Attention is all you need" (scaled to
    /// GPT-2's 0.02 standard deviation) instead of GPT-2's N(0, 0.02²): attention by relative offset (a place reading
    /// its sentence's person four tokens back) is then one linear map for every position, where random positions must
    /// each learn it alone. Only the starting point changes; the model is still a GPT-2 and every weight is trained.
    /// </summary>
    public bool SinusoidalPositions { get; init; } = true;

    /// <summary>
    /// Whether the question's key word (the person of "where is X ?") is trained to predict the answer as well as the
    /// question's last token: the answer is then read from the word itself, one attention step fewer, before the
    /// network learns to carry the word to the "?" (deep supervision; the input sequence is unchanged).
    /// </summary>
    public bool EarlyAnswers { get; init; } = true;

    /// <summary>
    /// Whether each training sequence also asks "who went to the PLACE ?" for up to two places one sentence goes to:
    /// to answer, a place must carry the person of its sentence, the binding "where is X ?" needs.
    /// </summary>
    public bool WhoQuestions { get; init; } = true;

    /// <summary>Transformer blocks (<c>n_layer</c>).</summary>
    public int Layers { get; init; } = 2;

    /// <summary>Embedding width (<c>n_embd</c>).</summary>
    public int Width { get; init; } = 64;

    /// <summary>Attention heads per block (<c>n_head</c>).</summary>
    public int Heads { get; init; } = 4;

    /// <summary>Positions (<c>n_positions</c>): a 4-sentence story and its question take 28 tokens, a training sequence, which asks about every person in the story, up to 47.</summary>
    public int Positions { get; init; } = 64;

    /// <summary>libtorch threads during training (fixed, so that runs repeat bit for bit on the same machine kind).</summary>
    public int Threads { get; init; } = 1;

    /// <summary>Stories of stream <c>Seed + 1</c> the trained model answers after training; 0 skips the check.</summary>
    public int HeldOutStories { get; init; } = 2000;

    /// <summary>Every how many steps progress is reported (the loss and accuracy averaged over those steps).</summary>
    public int ReportEvery { get; init; } = 100;

    /// <summary>The network's shape for the story vocabulary.</summary>
    public Gpt2Config Config(int vocabularySize) => new(vocabularySize, Positions, Width, Heads, Layers);

    /// <summary>Checks the options.</summary>
    /// <exception cref="ArgumentException">One is out of range; the message names it.</exception>
    public void Validate()
    {
        void Positive(int value, string name)
        {
            if (value < 1)
            {
                throw new ArgumentException($"{name} must be at least 1, not {value}.", name);
            }
        }

        Positive(Steps, nameof(Steps));
        Positive(BatchSize, nameof(BatchSize));
        Positive(Layers, nameof(Layers));
        Positive(Width, nameof(Width));
        Positive(Heads, nameof(Heads));
        Positive(Threads, nameof(Threads));
        Positive(ReportEvery, nameof(ReportEvery));
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate))
        {
            throw new ArgumentException($"LearningRate must be positive and finite, not {LearningRate}.", nameof(LearningRate));
        }

        if (!(WeightDecay >= 0) || double.IsInfinity(WeightDecay))
        {
            throw new ArgumentException($"WeightDecay must be 0 or more and finite, not {WeightDecay}.", nameof(WeightDecay));
        }

        if (WarmupSteps < 0)
        {
            throw new ArgumentException($"WarmupSteps must be 0 or more, not {WarmupSteps}.", nameof(WarmupSteps));
        }

        if (HeldOutStories < 0)
        {
            throw new ArgumentException($"HeldOutStories must be 0 or more, not {HeldOutStories}.", nameof(HeldOutStories));
        }

        if (Positions < StoryTrainer.LongestSequence)
        {
            throw new ArgumentException($"Positions must be at least {StoryTrainer.LongestSequence} (the longest training sequence), not {Positions}.", nameof(Positions));
        }

        Config(StoryWords.Vocabulary.Count).Validate();
    }
}
