using Captum.Explain;

namespace Captum.Plugins.Vqa.Commands;

/// <summary>
/// <c>captum vqa</c>: answers questions about images with the VQA model (the scenes model that ships with the
/// plugin, or the tutorial's model from its checkpoint and ResNet files) and explains every answer with the
/// explanation strategies chosen by <c>--method</c> (any the host offers: the built-in ones and the plugins').
/// The work is split in three: <see cref="VqaRequest"/> checks the options before anything is loaded,
/// <see cref="VqaRun"/> loads the model and explains, <see cref="VqaOutput"/> prints the answers and writes
/// report.html and result.json.
/// </summary>
public sealed class VqaCommand : IPluginCommand
{
    /// <summary>The strategy used when <c>--method</c> is not given.</summary>
    public const string DefaultMethod = "layer-ig";

    private readonly ExplanationStrategyRegistry strategies;

    /// <summary>Creates the command over the strategies the host offers (the built-in ones and every plugin's).</summary>
    /// <param name="strategies">The host's <see cref="IExplanationStrategy"/> services, in registration order.</param>
    public VqaCommand(IEnumerable<IExplanationStrategy> strategies)
    {
        this.strategies = new ExplanationStrategyRegistry(strategies);
        Options =
        [
            new(VqaOptionNames.Checkpoint, "A VQA checkpoint (torch.save of {'weights', 'vocab', ...}); default: the scenes model that ships with the plugin.", PluginOptionKind.File),
            new(VqaOptionNames.Resnet, "The ResNet state dict the tutorial checkpoint's image features come from.", PluginOptionKind.File),
            new(VqaOptionNames.Image, "The image to ask about.", PluginOptionKind.File),
            new(VqaOptionNames.Question, "A question about --image (repeatable).", PluginOptionKind.Text) { Repeatable = true },
            new(VqaOptionNames.Batch, "A JSON file of images and questions: {\"scenes\": [{\"image\": \"a.png\", \"questions\": [{\"question\": \"...\", \"answer\": \"expected (optional)\"}]}]}; paths relative to it.", PluginOptionKind.File),
            new(VqaOptionNames.Out, "Folder for report.html (and result.json).", PluginOptionKind.Folder, "out"),
            new(VqaOptionNames.ImageSize, "The side of the square image the net sees; default: the model's own (448 for the tutorial's, 64 for the scenes model).", PluginOptionKind.Integer),
            new(VqaOptionNames.CentralFraction, "The central fraction of the resized image kept.", PluginOptionKind.Number, "1"),
            new(VqaOptionNames.Steps, "Integration steps (n_steps).", PluginOptionKind.Integer, "30"),
            new(VqaOptionNames.ResnetVariant, "caffe (the tutorial's features) or torchvision.", PluginOptionKind.Text, "caffe") { AllowedValues = ["caffe", "torchvision"] },
            new(
                VqaOptionNames.Method,
                $"Attribution method(s), repeatable or comma-separated, shown side by side: {string.Join(", ", this.strategies.Names)} (default {DefaultMethod}: LayerIntegratedGradients on the wrapped model, as the tutorial).",
                PluginOptionKind.Text,
                DefaultMethod) { Repeatable = true },
            new(VqaOptionNames.Json, "Also write result.json.", PluginOptionKind.Flag),
            new(VqaOptionNames.InternalBatchSize, "At most this many expanded examples per pass (internal_batch_size).", PluginOptionKind.Integer),
        ];
    }

    /// <inheritdoc />
    public string Name => "vqa";

    /// <inheritdoc />
    public string Description => "Answer questions about images and explain each answer by the image's pixels and the question's words.";

    /// <inheritdoc />
    public IReadOnlyList<PluginCommandOption> Options { get; }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">An option is missing or out of range, or a file is missing; the message names the option.</exception>
    public int Run(PluginCommandContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var request = VqaRequest.From(context, strategies);
        VqaRun.Execute(request, new VqaOutput(context.Output, request), context.Error, context.CancellationToken);
        return 0;
    }
}
