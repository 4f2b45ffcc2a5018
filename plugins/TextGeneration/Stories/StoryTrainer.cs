using System.Diagnostics;
using Captum.Plugins.TextGeneration.Model;

namespace Captum.Plugins.TextGeneration.Stories;

/// <summary>
/// Trains a story model from scratch: a small <see cref="Gpt2LMHeadModel"/> on new generated stories every step, with
/// Adam and a cosine learning-rate decay, to say the answer after the question and <c>[eos]</c> after the answer (the
/// loss is the cross-entropy of those tokens, for the story's question and the same question about every other person
/// in it, see <see cref="Sequence"/>; the story's own words are not predicted, they are random). Seeded,
/// on one device and a fixed number of threads: the same options give the same weights on the same machine kind.
/// </summary>
public static class StoryTrainer
{
    /// <summary>The most tokens a training sequence has: 4 sentences of 6 tokens, 4 "where" questions with their answers and <c>[eos]</c> (6 tokens each) and 2 "who" questions (8 each), the last <c>[eos]</c> left out.</summary>
    public const int LongestSequence = (StoryGenerator.MaxSentences * 6) + (StoryGenerator.MaxSentences * 6) + (2 * 8) - 1;

    /// <summary>Trains a model.</summary>
    /// <exception cref="ArgumentException">An option is out of range; the message names it.</exception>
    /// <exception cref="OperationCanceledException">Cancelled (checked before every step).</exception>
    public static StoryTrainingResult Train(StoryTrainingOptions? options = null, IProgress<StoryTrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        options ??= new StoryTrainingOptions();
        options.Validate();
        return Captum.Runtime.TorchRuntime.WithThreads(options.Threads, () => Run(options, progress, cancellationToken));
    }

    private static StoryTrainingResult Run(StoryTrainingOptions options, IProgress<StoryTrainingProgress>? progress, CancellationToken cancellationToken)
    {
        var tokenizer = new StoryTokenizer();
        torch.manual_seed(options.Seed);
        var network = Initialized(options.Config(tokenizer.Vocabulary.Count), options.SinusoidalPositions);
        var model = new StoryModel(network, tokenizer);
        try
        {
            network.train();
            using var optimizer = Optimizer(network, options);
            var schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, step => LearningRateFactor(options, step));
            var watch = Stopwatch.StartNew();
            var (lossSum, correct, seen, steps) = (0.0, 0L, 0L, 0);
            for (var step = 1; step <= options.Steps; step++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var scope = torch.NewDisposeScope();
                var stories = StoryGenerator.GenerateMany(options.Seed, options.BatchSize, (long)(step - 1) * options.BatchSize);
                var (loss, right) = Loss(network, tokenizer, stories, options);
                optimizer.zero_grad();
                loss.backward();
                optimizer.step();
                schedule.step();

                lossSum += loss.item<float>();
                correct += right;
                seen += stories.Count;
                steps++;
                if (step % options.ReportEvery == 0 || step == options.Steps)
                {
                    progress?.Report(new StoryTrainingProgress(step, options.Steps, lossSum / steps, (double)correct / seen, watch.Elapsed));
                    (lossSum, correct, seen, steps) = (0.0, 0L, 0L, 0);
                }
            }

            var elapsed = watch.Elapsed;
            network.eval();
            var accuracy = model.Accuracy(StoryGenerator.GenerateMany(options.Seed + 1, options.HeldOutStories));
            return new StoryTrainingResult(model, options.HeldOutStories, accuracy, elapsed);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>AdamW with <see cref="StoryTrainingOptions.WeightDecay"/> on the matrices and embeddings, none on biases and layer norms (as GPT-2 is trained).</summary>
    private static torch.optim.Optimizer Optimizer(Gpt2LMHeadModel network, StoryTrainingOptions options)
    {
        var parameters = network.named_parameters().ToList();
        var decayed = parameters.Where(p => p.parameter.dim() >= 2).Select(p => p.parameter).ToList();
        var kept = parameters.Where(p => p.parameter.dim() < 2).Select(p => p.parameter).ToList();
        return torch.optim.AdamW(
            [
                new TorchSharp.Modules.AdamW.ParamGroup(decayed, options.LearningRate, weight_decay: options.WeightDecay),
                new TorchSharp.Modules.AdamW.ParamGroup(kept, options.LearningRate, weight_decay: 0),
            ],
            options.LearningRate);
    }

    /// <summary>The learning rate at <paramref name="step"/> as a share of the peak: a linear warm-up, then a cosine decay to 2%.</summary>
    internal static double LearningRateFactor(StoryTrainingOptions options, int step)
    {
        if (step < options.WarmupSteps)
        {
            return (step + 1.0) / options.WarmupSteps;
        }

        var progress = Math.Min(1.0, (step - options.WarmupSteps) / (double)Math.Max(1, options.Steps - options.WarmupSteps));
        return 0.02 + (0.98 * 0.5 * (1 + Math.Cos(Math.PI * progress)));
    }

    /// <summary>
    /// A network with GPT-2's initialisation (Hugging Face's <c>_init_weights</c>): embeddings and linear weights drawn
    /// from N(0, 0.02²), the residual projections (<c>c_proj</c>) from N(0, (0.02 / √(2 · layers))²), biases 0, layer
    /// norms 1 and 0. TorchSharp's own embedding initialisation, N(0, 1), makes the tied head's first logits so large
    /// that training stalls.
    /// </summary>
    internal static Gpt2LMHeadModel Initialized(Gpt2Config config, bool sinusoidalPositions = false)
    {
        var network = new Gpt2LMHeadModel(config);
        using var noGrad = torch.no_grad();
        foreach (var (name, parameter) in network.named_parameters())
        {
            if (name.Contains(".ln_", StringComparison.Ordinal))
            {
                continue;
            }

            if (name.EndsWith(".bias", StringComparison.Ordinal))
            {
                parameter.zero_();
            }
            else
            {
                var std = name.EndsWith("c_proj.weight", StringComparison.Ordinal) ? 0.02 / Math.Sqrt(2.0 * config.Layers) : 0.02;
                parameter.normal_(0, std);
            }

            if (sinusoidalPositions && name.EndsWith("wpe.weight", StringComparison.Ordinal))
            {
                parameter.copy_(SinusoidalTable(config.Positions, config.Width) * (0.02 * Math.Sqrt(2)));
            }
        }

        return network;
    }

    /// <summary>The [positions, width] table of sinusoids: sin(p / 10000^(2i/width)) in even columns, the cosine in odd ones.</summary>
    internal static Tensor SinusoidalTable(long positions, long width)
    {
        var position = torch.arange(positions, dtype: ScalarType.Float32).unsqueeze(1);
        var frequency = torch.exp(torch.arange(0, width, 2, dtype: ScalarType.Float32) * (-Math.Log(10000.0) / width));
        var angle = position * frequency;
        return torch.stack([angle.sin(), angle.cos()], dim: 2).reshape(positions, width);
    }

    /// <summary>
    /// The training sequence of a story, as bAbI asks several questions of one story: the prompt, the answer and
    /// <c>[eos]</c>, then the same question and answer about each other person in the story (in order of appearance),
    /// each answer followed by <c>[eos]</c>; with <see cref="StoryTrainingOptions.WhoQuestions"/>, then "who went to
    /// the PLACE ?" and its person for up to two places only one sentence goes to. The first question is exactly what
    /// the model is asked later, and greedy generation stops at the first <c>[eos]</c>; the others ask the same network
    /// to tell the people apart in the same story, which teaches it to read the name in the question many times faster
    /// than one question does.
    /// </summary>
    /// <returns>The token ids, and the trained positions with the token each is trained to predict: the question's
    /// last token predicts the answer, the answer predicts <c>[eos]</c>; with
    /// <see cref="StoryTrainingOptions.EarlyAnswers"/> the question's key word (the person, the place) predicts the
    /// answer too.</returns>
    internal static (List<long> Ids, List<(int Position, long Target)> Trained) Sequence(Story story, StoryTokenizer tokenizer, StoryTrainingOptions? options = null)
    {
        options ??= new StoryTrainingOptions();
        var moves = story.Sentences.Select(sentence => sentence.Split(' ')).Select(w => (Person: w[0], Place: w[4])).ToList();
        var others = moves.Select(m => m.Person).Distinct().Where(p => p != story.Person);
        var ids = new List<long>(tokenizer.Encode(string.Join(" ", story.Sentences)));
        var trained = new List<(int, long)>();
        void Ask(string question, string answer)
        {
            ids.AddRange(tokenizer.Encode(question));
            var answerId = tokenizer.Encode(answer).Single();
            if (options.EarlyAnswers)
            {
                trained.Add((ids.Count - 2, answerId));
            }

            trained.Add((ids.Count - 1, answerId));
            ids.Add(answerId);
            trained.Add((ids.Count - 1, tokenizer.EndId));
            ids.Add(tokenizer.EndId);
        }

        foreach (var person in others.Prepend(story.Person))
        {
            Ask($"where is {person} ?", moves.Last(m => m.Person == person).Place);
        }

        if (options.WhoQuestions)
        {
            foreach (var move in moves.Where(m => moves.Count(n => n.Place == m.Place) == 1).Take(2))
            {
                Ask($"who went to the {move.Place} ?", move.Person);
            }
        }

        // The last [eos] is a target, not an input.
        ids.RemoveAt(ids.Count - 1);
        return (ids, trained);
    }

    /// <summary>
    /// The training loss of <paramref name="stories"/>: the mean cross-entropy of every answer and every <c>[eos]</c>
    /// of their <see cref="Sequence"/>s, and how many of the stories' own questions the model already answers right.
    /// </summary>
    internal static (Tensor Loss, long Correct) Loss(Gpt2LMHeadModel network, StoryTokenizer tokenizer, IReadOnlyList<Story> stories, StoryTrainingOptions? options = null)
    {
        options ??= new StoryTrainingOptions();
        var sequences = stories.Select(s => Sequence(s, tokenizer, options)).ToList();
        using var batch = StoryBatch.Create(sequences.Select(s => (IReadOnlyList<long>)s.Ids).ToList(), tokenizer.PadId, network.Config.Positions);
        var length = batch.Ids.shape[1];
        var targets = new long[stories.Count * length];
        Array.Fill(targets, -100L);
        var first = new long[stories.Count];
        for (var r = 0; r < stories.Count; r++)
        {
            var (_, trained) = sequences[r];
            foreach (var (position, next) in trained)
            {
                targets[(r * length) + position] = next;
            }

            // The story's own question: its last token's prediction is the model's answer.
            first[r] = (r * length) + trained[options.EarlyAnswers ? 1 : 0].Position;
        }

        var vocabulary = network.Config.VocabSize;
        var logits = network.call(batch.Ids).reshape(-1, vocabulary);
        var target = torch.tensor(targets);
        var loss = nn.functional.cross_entropy(logits, target, ignore_index: -100);
        var index = torch.tensor(first);
        var correct = logits.index_select(0, index).argmax(1).eq(target.index_select(0, index)).sum().item<long>();
        return (loss, correct);
    }
}
