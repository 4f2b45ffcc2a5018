using Captum.Checkpoints;
using Captum.Plugins.Vqa.Model;
using Captum.Plugins.Vqa.Tutorial;

namespace Captum.Plugins.Vqa.Scenes;

/// <summary>
/// The scenes model's checkpoint: a <c>torch.save</c>-compatible file holding a dict with <c>"name"</c>
/// (<c>"scenes-vqa"</c>), <c>"config"</c> (the backbone's kind, the image size and baseline), <c>"weights"</c> (the state dict of
/// the VQA net with its backbone under <c>resnet_layer4.</c>), <c>"vocab"</c> (<c>{"question": {word: index},
/// "answer": {answer: index}}</c>, as the tutorial's checkpoint) and <c>"training"</c> (the command, seed and
/// held-out accuracy that made it). The plugin ships one, trained by <c>captum vqa-train</c>, as its default model.
/// </summary>
public static class SceneCheckpoint
{
    /// <summary>The checkpoint's <c>"name"</c>.</summary>
    public const string ModelName = "scenes-vqa";

    /// <summary>The resource name of the checkpoint embedded in the plugin (plugins/Vqa/Scenes/scenes-vqa.pth).</summary>
    public const string ResourceName = "scenes-vqa.pth";

    /// <summary>The question vocabulary: <see cref="SceneWords.QuestionWords"/>, indices from 1 (0 pads and stands for unknown words).</summary>
    public static QuestionEncoder Encoder { get; } = new(
        SceneWords.QuestionWords.Select((w, i) => (w, (long)i + 1)).ToDictionary(p => p.w, p => p.Item2, StringComparer.Ordinal));

    /// <summary>The class index of every answer.</summary>
    public static IReadOnlyDictionary<string, long> AnswerIndices { get; } =
        VqaModel.Classes(SceneWords.Answers);

    /// <summary>
    /// A model of the same architecture as <paramref name="model"/> with fresh random weights (Adebayo et al.'s full
    /// model randomisation), initialised after <c>torch.manual_seed(<paramref name="seed"/>)</c>.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="model"/> has no scenes backbone.</exception>
    public static VqaModel Randomized(VqaModel model, long seed, VqaModelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.Net.ImageNetwork is not SceneBackbone backbone)
        {
            throw new ArgumentException("model is not a scenes model (its image network is not the scenes backbone).", nameof(model));
        }

        options ??= model.Options;
        VqaNet net;
        using (var state = torch.get_rng_state())
        {
            // Seeded for repeatability, without changing the caller's random stream.
            torch.manual_seed(seed);
            try
            {
                net = new VqaNet(model.Net.Config, new SceneBackbone(backbone.Config));
            }
            finally
            {
                torch.set_rng_state(state);
            }
        }

        if (options.Device is { } device)
        {
            net.to(device);
        }

        return new VqaModel(net, model.Encoder, model.Labels, options, model.Name + " (random weights)");
    }

    /// <summary>Writes the checkpoint of a scenes net.</summary>
    /// <param name="net">The net, with a <see cref="SceneBackbone"/>.</param>
    /// <param name="path">The file to write.</param>
    /// <param name="imageSize">The image size the net was trained on.</param>
    /// <param name="baseline">The image baseline the net was trained to be explained with.</param>
    /// <param name="training">What made the weights (command, seed, accuracy), saved under <c>"training"</c>.</param>
    /// <exception cref="ArgumentException">The net has no scenes backbone.</exception>
    public static void Save(VqaNet net, string path, int imageSize, ImageBaseline baseline, IReadOnlyDictionary<string, object?> training)
    {
        ArgumentNullException.ThrowIfNull(net);
        ArgumentNullException.ThrowIfNull(training);
        if (net.ImageNetwork is not SceneBackbone)
        {
            throw new ArgumentException("net has no scenes backbone.", nameof(net));
        }

        using var scope = torch.NewDisposeScope();
        var weights = new CheckpointDict("collections.OrderedDict");
        foreach (var (name, tensor) in net.state_dict())
        {
            weights.Add(name, tensor.detach().cpu());
        }

        var checkpoint = new Dictionary<string, object?>
        {
            ["name"] = ModelName,
            ["config"] = new Dictionary<string, object?>
            {
                ["backbone"] = SceneBackboneConfig.Kind,
                ["imageSize"] = (long)imageSize,
                ["imageBaseline"] = ImageBaselineNames.Name(baseline),
            },
            ["weights"] = weights,
            ["vocab"] = new Dictionary<string, object?>
            {
                ["question"] = SceneWords.QuestionWords.ToDictionary(w => w, w => (object?)Encoder.TokenIds([w])[0]),
                ["answer"] = AnswerIndices.ToDictionary(a => a.Key, a => (object?)a.Value),
            },
            ["training"] = training,
        };
        TorchCheckpoint.Save(checkpoint, path);
    }

    /// <summary>Whether a loaded checkpoint is a scenes checkpoint (its config names the scenes backbone).</summary>
    public static bool IsSceneCheckpoint(CheckpointValue checkpoint) =>
        checkpoint is not null
        && checkpoint.TryGet("config", out var config)
        && config.TryGet("backbone", out var backbone)
        && backbone.Raw is SceneBackboneConfig.Kind;

    /// <summary>
    /// The scene stream a checkpoint was trained on (its <c>training.seed</c>; stream seed + 1 checked it), null when
    /// it does not record one; and, when <paramref name="seed"/> is one of those two streams, a warning for
    /// <paramref name="command"/> that figures on it are not fresh.
    /// </summary>
    internal static (long? TrainingSeed, string? Warning) TrainingSeed(CheckpointValue checkpoint, long seed, string command)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        long? trained = checkpoint.TryGet("training", out var training) && training.TryGet("seed", out var value) && value.Kind == CheckpointValueKind.Integer
            ? value.AsInt64()
            : null;
        return trained is { } s && (seed == s || seed == s + 1)
            ? (trained, $"{command}: warning: the model was trained on scene stream {s} and checked on {s + 1}; seed {seed} is not fresh.")
            : (trained, null);
    }

    /// <summary>The checkpoint that ships with the plugin, read from its embedded resource through <see cref="TorchCheckpoint"/>.</summary>
    /// <exception cref="InvalidOperationException">The plugin was built without it.</exception>
    public static CheckpointValue LoadDefault()
    {
        using var stream = OpenDefault();
        return TorchCheckpoint.Load(stream, $"{typeof(SceneCheckpoint).Assembly.GetName().Name}:{ResourceName}");
    }

    /// <summary>The bytes of the checkpoint that ships with the plugin; the caller disposes the stream.</summary>
    /// <exception cref="InvalidOperationException">The plugin was built without it.</exception>
    internal static Stream OpenDefault()
    {
        var assembly = typeof(SceneCheckpoint).Assembly;
        return assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"{assembly.GetName().Name} was built without its default model ({ResourceName}).");
    }

    /// <summary>Builds the model a scenes checkpoint holds.</summary>
    /// <exception cref="ArgumentException">The checkpoint's contents do not fit the scenes model; the message names the source.</exception>
    internal static VqaModel Build(CheckpointValue checkpoint, VqaModelOptions? options)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var source = checkpoint.Source;
        try
        {
            var weights = TorchCheckpoint.StateDict(checkpoint, "weights").StripPrefix("module.");
            var vocab = TorchCheckpoint.Vocab(checkpoint, "vocab");
            var backboneState = weights
                .Where(kv => kv.Key.StartsWith("resnet_layer4.", StringComparison.Ordinal))
                .ToDictionary(kv => kv.Key["resnet_layer4.".Length..], kv => kv.Value, StringComparer.Ordinal);
            var backbone = new SceneBackbone(SceneBackboneConfig.FromStateDict(backboneState));
            var config = VqaConfig.FromStateDict(weights);
            var net = new VqaNet(config, backbone);
            TorchCheckpoint.LoadStateDict(net, weights);
            var imageSize = checkpoint["config"].TryGet("imageSize", out var size) ? (int)size.AsInt64() : 64;
            var baseline = checkpoint["config"].TryGet("imageBaseline", out var b) && b.AsString() == ImageBaselineNames.MedianColor ? ImageBaseline.MedianColor : ImageBaseline.Zero;
            options ??= new VqaModelOptions();
            options = options with { ImageSize = options.ImageSize ?? imageSize, ImageBaseline = options.ImageBaseline ?? baseline };
            if (options.Device is { } device)
            {
                net.to(device);
            }

            return new VqaModel(net, new QuestionEncoder(vocab["question"]), VqaModel.AnswerList(vocab["answer"]), options, ModelName);
        }
        catch (Exception ex) when (ex is KeyNotFoundException or InvalidCastException or ArgumentException)
        {
            throw new ArgumentException($"{source}: not a scenes model checkpoint: {ex.Message}", nameof(checkpoint), ex);
        }
    }
}
