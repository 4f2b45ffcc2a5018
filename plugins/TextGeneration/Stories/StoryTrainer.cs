using System.Diagnostics;
using Captum.Plugins.TextGeneration.Model;

namespace Captum.Plugins.TextGeneration.Stories;

/// <summary>
/// Trains a story model from scratch: a small <see cref="Gpt2LMHeadModel"/> on new generated stories every step, with
/// Adam and a cosine learning-rate decay, to say the answer after the question and <c>[eos]</c> after the answer (the
/// loss is the cross-entropy of those two tokens; the story's own words are not predicted, they are random). Seeded,
/// on one device and a fixed number of threads: the same options give the same weights on the same machine kind.
/// </summary>
public static class StoryTrainer
{
    /// <summary>The most tokens a training sequence has: 4 sentences of 6 tokens, the question's 4, the answer.</summary>
    public const int LongestSequence = (StoryGenerator.MaxSentences * 6) + 4 + 1;

    /// <summary>Trains a model.</summary>
    /// <exception cref="ArgumentException">An option is out of range; the message names it.</exception>
    /// <exception cref="OperationCanceledException">Cancelled (checked before every step).</exception>
    public static StoryTrainingResult Train(StoryTrainingOptions? options = null, IProgress<StoryTrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        options ??= new StoryTrainingOptions();
        options.Validate();
        var threads = torch.get_num_threads();
        torch.set_num_threads(options.Threads);
        try
        {
            return Run(options, progress, cancellationToken);
        }
        finally
        {
            torch.set_num_threads(threads);
        }
    }

    private static StoryTrainingResult Run(StoryTrainingOptions options, IProgress<StoryTrainingProgress>? progress, CancellationToken cancellationToken)
    {
        var tokenizer = new StoryTokenizer();
        torch.manual_seed(options.Seed);
        var network = Initialized(options.Config(tokenizer.Vocabulary.Count));
        var model = new StoryModel(network, tokenizer);
        try
        {
            network.train();
            using var optimizer = torch.optim.Adam(network.parameters(), options.LearningRate);
            var schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, options.Steps, options.LearningRate * 0.02);
            var watch = Stopwatch.StartNew();
            var (lossSum, correct, seen, steps) = (0.0, 0L, 0L, 0);
            for (var step = 1; step <= options.Steps; step++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var scope = torch.NewDisposeScope();
                var stories = StoryGenerator.GenerateMany(options.Seed, options.BatchSize, (long)(step - 1) * options.BatchSize);
                var (loss, right) = Loss(network, tokenizer, stories);
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

    /// <summary>
    /// A network with GPT-2's initialisation (Hugging Face's <c>_init_weights</c>): embeddings and linear weights drawn
    /// from N(0, 0.02²), the residual projections (<c>c_proj</c>) from N(0, (0.02 / √(2 · layers))²), biases 0, layer
    /// norms 1 and 0. TorchSharp's own embedding initialisation, N(0, 1), makes the tied head's first logits so large
    /// that training stalls.
    /// </summary>
    internal static Gpt2LMHeadModel Initialized(Gpt2Config config)
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
        }

        return network;
    }

    /// <summary>
    /// The training loss of <paramref name="stories"/>: the mean cross-entropy of the answer after the question plus
    /// that of <c>[eos]</c> after the answer, and how many answers the model already gets right.
    /// </summary>
    internal static (Tensor Loss, long Correct) Loss(Gpt2LMHeadModel network, StoryTokenizer tokenizer, IReadOnlyList<Story> stories)
    {
        var answers = stories.Select(s => tokenizer.Encode(s.Answer).Single()).ToArray();
        var sequences = stories.Select((s, i) => (IReadOnlyList<long>)[.. tokenizer.Encode(s.Prompt), answers[i]]).ToList();
        using var batch = StoryBatch.Create(sequences, tokenizer.PadId, network.Config.Positions);
        var logits = network.call(batch.Ids);
        var vocabulary = network.Config.VocabSize;
        Tensor At(Tensor positions) => logits.gather(1, positions.reshape(-1, 1, 1).expand(-1, 1, vocabulary)).squeeze(1);
        var answerLogits = At(batch.Last - 1);
        var endLogits = At(batch.Last);
        var answerTargets = torch.tensor(answers);
        var endTargets = torch.full(stories.Count, tokenizer.EndId, ScalarType.Int64);
        var loss = nn.functional.cross_entropy(answerLogits, answerTargets) + nn.functional.cross_entropy(endLogits, endTargets);
        var correct = answerLogits.argmax(1).eq(answerTargets).sum().item<long>();
        return (loss, correct);
    }
}
