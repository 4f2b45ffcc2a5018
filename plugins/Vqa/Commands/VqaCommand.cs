using Captum.Explain;
using Captum.Plugins.Vqa.Tutorial;

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

    /// <summary>The exit code when no question could be answered (as for a refused option).</summary>
    public const int FailedExitCode = 2;

    /// <summary>The exit code when some questions were answered and written and others failed.</summary>
    public const int PartialFailureExitCode = 3;

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
            new(VqaOptionNames.Batch, "A JSON file of images and questions (at most 16 MiB): {\"scenes\": [{\"image\": \"a.png\", \"questions\": [{\"question\": \"...\", \"answer\": \"expected (optional)\"}]}]}; paths relative to it.", PluginOptionKind.File),
            new(VqaOptionNames.Out, "Folder for report.html (and result.json).", PluginOptionKind.Folder, "out"),
            new(VqaOptionNames.ImageSize, "The side of the square image the net sees; default: the model's own (448 for the tutorial's, 64 for the scenes model).", PluginOptionKind.Integer),
            new(VqaOptionNames.CentralFraction, "The central fraction of the resized image kept.", PluginOptionKind.Number, "1"),
            new(
                VqaOptionNames.MaxImagePixels,
                $"The most pixels an image may have (read from its header, before decoding) and its resized copy too: the guard against decompression bombs; default PIL's limit, at most {CommandValues.Invariant(ImageFiles.HighestMaxPixels)}.",
                PluginOptionKind.Integer,
                CommandValues.Invariant(ImageFiles.DefaultMaxPixels)),
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
    public string Description =>
        "Answer questions about images and explain each answer by the image's pixels and the question's words. Exit codes: 0 all answered; 2 refused (a bad option, file or question; nothing computed) or no question answered; 3 some questions failed (listed on standard error and in result.json), the others written.";

    /// <inheritdoc />
    public IReadOnlyList<PluginCommandOption> Options { get; }

    /// <inheritdoc />
    /// <returns>
    /// 0 when every question was answered; <see cref="FailedExitCode"/> when none was (each failure on standard
    /// error, nothing written); <see cref="PartialFailureExitCode"/> when some were and some failed.
    /// </returns>
    /// <exception cref="ArgumentException">An option is missing or out of range, a file is missing or unreadable, an output cannot be written, or a question has no word the model knows; the message names the option or batch entry.</exception>
    public int Run(PluginCommandContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var request = VqaRequest.From(context, strategies);
        var output = new VqaOutput(context.Output, context.Error, request);
        VqaRun.Execute(request, output, context.Error, context.CancellationToken);
        return output.FailedCount == 0 ? 0 : output.AnsweredCount == 0 ? FailedExitCode : PartialFailureExitCode;
    }
}
