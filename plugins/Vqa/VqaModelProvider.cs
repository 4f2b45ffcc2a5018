namespace Captum.Plugins.Vqa;

/// <summary>Offers the VQA model to the plugin host.</summary>
public sealed class VqaModelProvider : IInterpretableModelProvider
{
    /// <inheritdoc />
    public string Name => "vqa";

    /// <inheritdoc />
    public string Description =>
        "The VQA net of Captum's multimodal tutorial (question LSTM and attention over image features): by default the scenes model that ships with the plugin; the tutorial's with its checkpoint and ResNet files.";

    /// <inheritdoc />
    public IReadOnlyList<ModelFile> Files { get; } =
    [
        new("checkpoint", "a VQA checkpoint: the tutorial's (torch.save of {'weights', 'vocab', ...}, with resnet) or a scenes checkpoint from captum vqa-train; default: the scenes model that ships with the plugin", false),
        new("resnet", "the ResNet state dict the tutorial checkpoint's image features come from", false),
    ];

    /// <inheritdoc />
    /// <remarks>
    /// No files: the scenes model that ships with the plugin. A checkpoint and a ResNet: the tutorial's model. A
    /// checkpoint alone: a checkpoint with its own image network (a scenes checkpoint).
    /// </remarks>
    public IInterpretableModel Load(IReadOnlyDictionary<string, string> files, IReadOnlyDictionary<string, string> settings)
    {
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(settings);
        var options = VqaModel.ParseSettings(settings);
        var checkpoint = files.TryGetValue("checkpoint", out var c) && !string.IsNullOrWhiteSpace(c) ? c : null;
        var resnet = files.TryGetValue("resnet", out var r) && !string.IsNullOrWhiteSpace(r) ? r : null;
        return LoadModel(checkpoint, resnet, options);
    }

    /// <summary>
    /// Loads the model from its files: none, the scenes model that ships with the plugin; a checkpoint and a ResNet,
    /// the tutorial's model; a checkpoint alone, a checkpoint with its own image network (a scenes checkpoint).
    /// </summary>
    /// <exception cref="ArgumentException">A ResNet without a checkpoint, a missing file, or contents that do not fit; the message names the file.</exception>
    public static VqaModel LoadModel(string? checkpoint, string? resnet, VqaModelOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return (checkpoint, resnet) switch
        {
            (null, null) => VqaModel.LoadDefault(options),
            (not null, not null) => VqaModel.Load(checkpoint, resnet, options),
            (not null, null) => VqaModel.Load(checkpoint, options),
            (null, not null) => throw new ArgumentException("resnet is given without checkpoint: the ResNet file goes with the tutorial's VQA checkpoint.", "checkpoint"),
        };
    }
}
