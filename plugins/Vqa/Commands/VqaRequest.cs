using Captum.Explain;
using Captum.Plugins.Vqa.Model;

namespace Captum.Plugins.Vqa.Commands;

/// <summary>
/// What <c>captum vqa</c> was asked to do, checked before any work: the images and their questions, the model's
/// files and settings, the strategies and their options, and where the output goes.
/// </summary>
/// <param name="Checkpoint">The VQA checkpoint, or null for the scenes model that ships with the plugin.</param>
/// <param name="Resnet">The tutorial checkpoint's ResNet state dict, or null.</param>
/// <param name="Images">The images and their questions (with the expected answers when a batch file gives them).</param>
/// <param name="OutDir">The folder of report.html and result.json.</param>
/// <param name="ModelOptions">Image size, central fraction and ResNet variant.</param>
/// <param name="Steps">Integration steps.</param>
/// <param name="Methods">The strategies, in the order given, each once; the first gives the top-level numbers.</param>
/// <param name="Json">Whether result.json is written.</param>
/// <param name="InternalBatchSize">At most this many expanded examples per pass, or null.</param>
internal sealed record VqaRequest(
    string? Checkpoint,
    string? Resnet,
    IReadOnlyList<(string Image, List<(string Question, string? Expected)> Questions)> Images,
    string OutDir,
    VqaModelOptions ModelOptions,
    int Steps,
    IReadOnlyList<IExplanationStrategy> Methods,
    bool Json,
    int? InternalBatchSize)
{
    /// <summary>The smallest image side: the image network halves it five times.</summary>
    public const int MinImageSize = 32;

    /// <summary>Reads and checks the options.</summary>
    /// <exception cref="ArgumentException">An option is missing, out of range or names a missing file; the message names the option.</exception>
    public static VqaRequest From(PluginCommandContext context, ExplanationStrategyRegistry strategies)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(strategies);
        var methods = MethodNames(context.GetTexts(VqaOptionNames.Method)).Select(name => strategies.Get(name, "--" + VqaOptionNames.Method)).ToList();
        var images = ReadImages(context);
        var checkpoint = context.GetText(VqaOptionNames.Checkpoint);
        if (checkpoint is not null)
        {
            RequireFile(checkpoint, VqaOptionNames.Checkpoint);
        }

        var resnet = context.GetText(VqaOptionNames.Resnet);
        if (resnet is not null)
        {
            RequireFile(resnet, VqaOptionNames.Resnet);
        }

        var steps = AtLeast(context.GetInteger(VqaOptionNames.Steps), 1, VqaOptionNames.Steps);
        var internalBatch = context.GetText(VqaOptionNames.InternalBatchSize) is null ? (int?)null : AtLeast(context.GetInteger(VqaOptionNames.InternalBatchSize), 1, VqaOptionNames.InternalBatchSize);
        var imageSize = context.GetText(VqaOptionNames.ImageSize) is null
            ? (int?)null
            : AtLeast(context.GetInteger(VqaOptionNames.ImageSize), MinImageSize, VqaOptionNames.ImageSize, " (the image network halves it five times)");
        var centralFraction = context.GetNumber(VqaOptionNames.CentralFraction);
        if (!(centralFraction > 0 && centralFraction <= 1))
        {
            throw new ArgumentException(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"--{VqaOptionNames.CentralFraction} must be in (0, 1], not {centralFraction}."), VqaOptionNames.CentralFraction);
        }

        var variant = context.GetText(VqaOptionNames.ResnetVariant) is { } name && Enum.TryParse<ResNetVariant>(name, ignoreCase: true, out var v)
            ? v
            : throw new ArgumentException($"--{VqaOptionNames.ResnetVariant} must be caffe or torchvision.", VqaOptionNames.ResnetVariant);
        return new VqaRequest(
            checkpoint,
            resnet,
            images,
            context.GetText(VqaOptionNames.Out) ?? throw new ArgumentException($"--{VqaOptionNames.Out} is required.", VqaOptionNames.Out),
            new VqaModelOptions { ImageSize = imageSize, CentralFraction = centralFraction, ResNetVariant = variant },
            steps,
            methods,
            context.GetFlag(VqaOptionNames.Json),
            internalBatch);
    }

    /// <summary>The method names, from repeated and comma-separated values, each once, in order; the default when none.</summary>
    private static string[] MethodNames(IReadOnlyList<string> values)
    {
        var names = values.SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).Distinct().ToArray();
        return names.Length == 0 ? [VqaCommand.DefaultMethod] : names;
    }

    /// <summary>The images and their questions (with the expected answers when the batch file gives them), checked.</summary>
    private static List<(string Image, List<(string Question, string? Expected)> Questions)> ReadImages(PluginCommandContext context)
    {
        var items = new List<(string Image, List<(string Question, string? Expected)> Questions)>();
        var batch = context.GetText(VqaOptionNames.Batch);
        var image = context.GetText(VqaOptionNames.Image);
        var questions = context.GetTexts(VqaOptionNames.Question);
        if (batch is not null)
        {
            if (image is not null || questions.Count > 0)
            {
                throw new ArgumentException("--batch takes the images and questions from its file: give it without --image and --question.", VqaOptionNames.Batch);
            }

            RequireFile(batch, VqaOptionNames.Batch);
            items.AddRange(BatchFile.Read(batch));
        }
        else
        {
            if (image is null)
            {
                throw new ArgumentException("--image is required (or --batch with a file of images and questions).", VqaOptionNames.Image);
            }

            if (questions.Count == 0)
            {
                throw new ArgumentException("--question is required: ask at least one question about --image.", VqaOptionNames.Question);
            }

            items.Add((image, questions.Select(q => (q, (string?)null)).ToList()));
        }

        foreach (var (path, asked) in items)
        {
            if (asked.Any(q => string.IsNullOrWhiteSpace(q.Question)))
            {
                throw new ArgumentException("--question is empty: every question needs at least one word.", VqaOptionNames.Question);
            }

            RequireFile(path, batch is null ? VqaOptionNames.Image : VqaOptionNames.Batch);
        }

        return items;
    }

    private static void RequireFile(string path, string option)
    {
        if (!File.Exists(path))
        {
            throw new ArgumentException($"--{option}: file not found: {path}", option);
        }
    }

    private static int AtLeast(long value, int minimum, string option, string why = "")
    {
        if (value < minimum)
        {
            throw new ArgumentException($"--{option} must be at least {minimum}{why}, not {value}.", option);
        }

        return value <= int.MaxValue ? (int)value : throw new ArgumentException($"--{option} must be at most {int.MaxValue}, not {value}.", option);
    }
}
