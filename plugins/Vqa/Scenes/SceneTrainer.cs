using System.Diagnostics;
using Captum.Checkpoints;
using Captum.Plugins.Vqa.Model;

namespace Captum.Plugins.Vqa.Scenes;

/// <summary>
/// Trains the scenes model from scratch: the VQA net (TextProcessor, Attention, Classifier) on the
/// <see cref="SceneBackbone"/>, with Adam and a cosine learning-rate decay, on freshly generated scenes (every step
/// new ones) with all their questions; the backbone runs once per scene and its features serve every question about
/// it. Seeded, single-device and on a fixed number of threads: the same options give the same weights, bit for bit,
/// on the same machine kind.
/// </summary>
public static class SceneTrainer
{
    /// <summary>Every how many steps progress is reported.</summary>
    public const int ReportEvery = 100;

    /// <summary>Trains a model.</summary>
    /// <exception cref="ArgumentException">An option is out of range; the message names it.</exception>
    public static SceneTrainingResult Train(SceneTrainingOptions options, IProgress<SceneTrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Steps < 1 || options.ScenesPerStep < 1 || options.Threads < 1 || options.HeldOutScenes < 0 || !(options.LearningRate > 0))
        {
            throw new ArgumentException("options: Steps, ScenesPerStep and Threads must be at least 1, HeldOutScenes at least 0 and LearningRate positive.", nameof(options));
        }

        return Captum.Runtime.TorchRuntime.WithThreads(options.Threads, () => Run(options, progress, cancellationToken));
    }

    private static SceneTrainingResult Run(SceneTrainingOptions options, IProgress<SceneTrainingProgress>? progress, CancellationToken cancellationToken)
    {
        var device = options.Device ?? torch.CPU;
        torch.manual_seed(options.Seed);

        // Trained apart, joined at the end: the head is the VQA net without an image network, so it takes the
        // backbone's features, computed once per scene, for every question about that scene.
        var backbone = new SceneBackbone(options.Shape.Backbone).to(device);
        using var head = new VqaNet(options.Shape.NetConfig(options.Dropout)).to(device);
        backbone.train();
        head.train();
        var generator = new SceneGenerator();
        using var optimizer = torch.optim.Adam(backbone.parameters().Concat(head.parameters()), options.LearningRate);
        var schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, options.Steps, options.LearningRate * 0.02);
        var watch = Stopwatch.StartNew();
        var (lossSum, correct, seen) = (0.0, 0L, 0L);
        for (var step = 1; step <= options.Steps; step++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = torch.NewDisposeScope();
            var items = generator.GenerateMany(options.Seed, options.ScenesPerStep, (step - 1) * options.ScenesPerStep)
                .SelectMany(scene => scene.Questions.Select(q => new SceneItem(scene, q)))
                .ToList();

            using var batch = SceneBatch.Create(items, SceneCheckpoint.Encoder, SceneCheckpoint.AnswerIndices, device);
            var scenes = batch.Images.shape[0];
            var alpha = torch.where(torch.rand(scenes, device: device) < options.Fade, torch.rand(scenes, device: device), torch.ones(scenes, device: device)).reshape(scenes, 1, 1, 1);
            var start = VqaModel.Baseline(batch.Images, options.Baseline);
            var features = backbone.call(start + (alpha * (batch.Images - start))).index_select(0, batch.ImageIndex);
            var logits = head.call(features, batch.Questions, batch.Lengths);
            var loss = BalancedLoss(logits, batch.Answers, items);
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
            schedule.step();

            lossSum += loss.item<float>();
            correct += logits.argmax(1).eq(batch.Answers).sum().item<long>();
            seen += items.Count;
            if (step % ReportEvery == 0 || step == options.Steps)
            {
                var steps = step % ReportEvery == 0 ? ReportEvery : step % ReportEvery;
                progress?.Report(new SceneTrainingProgress(step, options.Steps, lossSum / steps, (double)correct / seen, watch.Elapsed));
                (lossSum, correct, seen) = (0.0, 0L, 0L);
            }
        }

        var elapsed = watch.Elapsed;
        var net = new VqaNet(head.Config, backbone).to(device);
        var state = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, tensor) in head.state_dict())
        {
            state[name] = tensor;
        }

        foreach (var (name, tensor) in backbone.state_dict())
        {
            state["resnet_layer4." + name] = tensor;
        }

        TorchCheckpoint.LoadStateDict(net, state);
        var model = new VqaModel(net, SceneCheckpoint.Encoder, SceneWords.Answers, new VqaModelOptions { ImageSize = generator.Options.Size, Device = options.Device, ImageBaseline = options.Baseline }, SceneCheckpoint.ModelName);
        var heldOut = Measure(model, options.Seed + 1, options.HeldOutScenes);
        return new SceneTrainingResult(model, heldOut, elapsed);
    }

    /// <summary>
    /// The cross-entropy averaged per question kind, then over the kinds: each kind weighs the same however often
    /// the scenes allow it (position questions are the rarest, count questions the most common).
    /// </summary>
    private static Tensor BalancedLoss(Tensor logits, Tensor answers, IReadOnlyList<SceneItem> items)
    {
        var losses = torch.nn.functional.cross_entropy(logits, answers, reduction: nn.Reduction.None);
        var kinds = items.Select(i => (int)i.Question.Kind).ToArray();
        var counts = new double[Enum.GetValues<QuestionKind>().Length];
        foreach (var kind in kinds)
        {
            counts[kind]++;
        }

        var present = counts.Count(c => c > 0);
        var weights = torch.tensor(kinds.Select(k => (float)(1.0 / (counts[k] * present))).ToArray(), device: logits.device);
        return (losses * weights).sum();
    }

    /// <summary>
    /// The model's accuracy on every question of scenes 0 to <paramref name="scenes"/> - 1 of the stream
    /// <paramref name="seed"/> (batched forward passes, no attribution).
    /// </summary>
    public static SceneAccuracy Measure(VqaModel model, long seed, int scenes, int batchSize = 256)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfNegative(scenes);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        var items = new SceneGenerator().GenerateMany(seed, scenes).SelectMany(s => s.Questions.Select(q => new SceneItem(s, q))).ToList();
        var right = new Dictionary<QuestionKind, (int Correct, int Total)>();
        var device = model.Options.Device ?? torch.CPU;
        using var noGrad = torch.no_grad();
        foreach (var chunk in items.Chunk(batchSize))
        {
            using var scope = torch.NewDisposeScope();
            using var batch = SceneBatch.Create(chunk, model.Encoder, model.AnswerIndices, device);
            var predicted = batch.Logits(model.Net).argmax(1).cpu().data<long>().ToArray();
            var expected = batch.Answers.cpu().data<long>().ToArray();
            for (var i = 0; i < chunk.Length; i++)
            {
                var (c, t) = right.GetValueOrDefault(chunk[i].Question.Kind);
                right[chunk[i].Question.Kind] = (c + (predicted[i] == expected[i] ? 1 : 0), t + 1);
            }
        }

        var total = right.Values.Sum(v => v.Total);
        return new SceneAccuracy(
            total,
            total == 0 ? 0 : (double)right.Values.Sum(v => v.Correct) / total,
            right.OrderBy(kv => kv.Key).ToDictionary(kv => kv.Key, kv => (double)kv.Value.Correct / kv.Value.Total));
    }
}
