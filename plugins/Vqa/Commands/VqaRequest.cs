using System.Globalization;
using Captum.Explain;
using Captum.Plugins.Vqa.Model;
using Captum.Plugins.Vqa.Tutorial;

namespace Captum.Plugins.Vqa.Commands;

/// <summary>
/// What <c>captum vqa</c> was asked to do, checked before any work: the images and their questions, the model's
/// files and settings, the strategies and their options, and where the output goes.
/// </summary>
/// <param name="Checkpoint">The VQA checkpoint, or null for the scenes model that ships with the plugin.</param>
/// <param name="Resnet">The tutorial checkpoint's ResNet state dict, or null.</param>
/// <param name="Images">The images and their questions (with the expected answers when a batch file gives them).</param>
/// <param name="OutDir">The folder of report.html and result.json.</param>
/// <param name="ModelOptions">Image size, central fraction, pixel limit and ResNet variant.</param>
/// <param name="Steps">Integration steps.</param>
/// <param name="Methods">The strategies, in the order given, each once; the first gives the top-level numbers.</param>
/// <param name="Json">Whether result.json is written.</param>
/// <param name="InternalBatchSize">At most this many expanded examples per pass, or null.</param>
internal sealed record VqaRequest(
    string? Checkpoint,
    string? Resnet,
    IReadOnlyList<VqaImage> Images,
    string OutDir,
    VqaModelOptions ModelOptions,
    int Steps,
    IReadOnlyList<IExplanationStrategy> Methods,
    bool Json,
    int? InternalBatchSize)
{
    /// <summary>The smallest image side: the image network halves it five times.</summary>
    public const int MinImageSize = 32;

    /// <summary>The files written into <see cref="OutDir"/>.</summary>
    public IEnumerable<string> OutputFiles => Json ? ["report.html", "result.json"] : ["report.html"];

    /// <summary>Reads and checks the options, the images' headers and the output folder.</summary>
    /// <exception cref="ArgumentException">An option is missing or out of range, names a missing or unreadable file, or an output cannot be written; the message names the option or batch entry.</exception>
    public static VqaRequest From(PluginCommandContext context, ExplanationStrategyRegistry strategies)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(strategies);
        var methods = MethodNames(context.GetTexts(VqaOptionNames.Method)).Select(name => strategies.Get(name, "--" + VqaOptionNames.Method)).ToList();
        var images = ReadImages(context);
        var checkpoint = context.GetText(VqaOptionNames.Checkpoint);
        if (checkpoint is not null)
        {
            InputFile.RequireRegular(checkpoint, "--" + VqaOptionNames.Checkpoint);
        }

        var resnet = context.GetText(VqaOptionNames.Resnet);
        if (resnet is not null)
        {
            InputFile.RequireRegular(resnet, "--" + VqaOptionNames.Resnet);
        }

        var steps = AtLeast(context.GetInteger(VqaOptionNames.Steps), 1, VqaOptionNames.Steps);
        if (steps > Captum.Attr.IntegratedGradientsOptions.MaxSteps)
        {
            throw new ArgumentException($"--{VqaOptionNames.Steps} must be at most {Captum.Attr.IntegratedGradientsOptions.MaxSteps}, not {steps}.", VqaOptionNames.Steps);
        }
        var internalBatch = context.GetText(VqaOptionNames.InternalBatchSize) is null ? (int?)null : AtLeast(context.GetInteger(VqaOptionNames.InternalBatchSize), 1, VqaOptionNames.InternalBatchSize);
        var imageSize = context.GetText(VqaOptionNames.ImageSize) is null
            ? (int?)null
            : AtMost(AtLeast(context.GetInteger(VqaOptionNames.ImageSize), MinImageSize, VqaOptionNames.ImageSize, " (the image network halves it five times)"), ImageTransform.MaxImageSize, VqaOptionNames.ImageSize, " (an attribution holds many copies of the image at once)");
        var centralFraction = context.GetNumber(VqaOptionNames.CentralFraction);
        if (!(centralFraction > 0 && centralFraction <= 1))
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"--{VqaOptionNames.CentralFraction} must be in (0, 1], not {centralFraction}."), VqaOptionNames.CentralFraction);
        }

        var maxPixels = context.GetInteger(VqaOptionNames.MaxImagePixels);
        if (maxPixels is < 1 or > ImageFiles.HighestMaxPixels)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"--{VqaOptionNames.MaxImagePixels} must be in [1, {ImageFiles.HighestMaxPixels}], not {maxPixels}."), VqaOptionNames.MaxImagePixels);
        }

        var variant = context.GetText(VqaOptionNames.ResnetVariant) is { } name && Enum.TryParse<ResNetVariant>(name, ignoreCase: true, out var v)
            ? v
            : throw new ArgumentException($"--{VqaOptionNames.ResnetVariant} must be caffe or torchvision.", VqaOptionNames.ResnetVariant);

        // The tutorial's model sees 448; a scenes checkpoint's size is known only once it is loaded (VqaRun checks again then).
        var knownSize = imageSize ?? (checkpoint is not null && resnet is not null ? VqaModel.TutorialImageSize : null);
        CheckImages(images, knownSize, centralFraction, maxPixels);
        var json = context.GetFlag(VqaOptionNames.Json);
        var outDir = context.GetText(VqaOptionNames.Out) ?? throw new ArgumentException($"--{VqaOptionNames.Out} is required.", VqaOptionNames.Out);
        var request = new VqaRequest(
            checkpoint,
            resnet,
            images,
            outDir,
            new VqaModelOptions { ImageSize = imageSize, CentralFraction = centralFraction, MaxImagePixels = maxPixels, ResNetVariant = variant },
            steps,
            methods,
            json,
            internalBatch);
        request.CheckOut();
        return request;
    }

    /// <summary>The method names, from repeated and comma-separated values, each once, in order; the default when none.</summary>
    private static string[] MethodNames(IReadOnlyList<string> values)
    {
        var names = values.SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).Distinct().ToArray();
        return names.Length == 0 ? [VqaCommand.DefaultMethod] : names;
    }

    /// <summary>The images and their questions (with the expected answers when the batch file gives them): regular files, questions of at least one word.</summary>
    private static List<VqaImage> ReadImages(PluginCommandContext context)
    {
        var items = new List<VqaImage>();
        var batch = context.GetText(VqaOptionNames.Batch);
        var image = context.GetText(VqaOptionNames.Image);
        var questions = context.GetTexts(VqaOptionNames.Question);
        if (batch is not null)
        {
            if (image is not null || questions.Count > 0)
            {
                throw new ArgumentException("--batch takes the images and questions from its file: give it without --image and --question.", VqaOptionNames.Batch);
            }

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

            items.Add(new VqaImage(image, "--" + VqaOptionNames.Image, questions.Select(q => new VqaQuestion(q, null, "--" + VqaOptionNames.Question)).ToList()));
        }

        foreach (var item in items)
        {
            if (item.Questions.FirstOrDefault(q => string.IsNullOrWhiteSpace(q.Text)) is { } empty)
            {
                throw new ArgumentException($"{empty.Label} is empty: every question needs at least one word.", VqaOptionNames.Question);
            }

            InputFile.RequireRegular(item.Path, item.Label);
        }

        return items;
    }

    /// <summary>
    /// Checks the resize cannot blow up, whatever the images (at least <c>floor(size / fraction)</c> pixels a side),
    /// then reads every image's header (format, pixel limit, a JPEG whole) and, when the net's image size is known
    /// here, checks its resize.
    /// </summary>
    private static void CheckImages(IReadOnlyList<VqaImage> images, int? knownSize, double centralFraction, long maxPixels)
    {
        var size = knownSize ?? MinImageSize;
        var transform = new ImageTransform(size, centralFraction, maxPixels);
        var side = transform.ResizedSide;
        if (side * side > maxPixels)
        {
            var sizeText = knownSize is null ? $"an image size of at least {MinImageSize}" : $"image size {size}";
            var largest = Math.Floor(Math.Sqrt(maxPixels));
            var sideText = side < 1e9 ? side.ToString("F0", CultureInfo.InvariantCulture) : side.ToString("G3", CultureInfo.InvariantCulture);
            throw size > largest
                ? new ArgumentException(
                    string.Create(CultureInfo.InvariantCulture, $"--{VqaOptionNames.MaxImagePixels} {maxPixels} is less than the {(long)size * size} pixels of the {size} x {size} image the net sees; raise it to at least that."),
                    VqaOptionNames.MaxImagePixels)
                : new ArgumentException(
                    string.Create(CultureInfo.InvariantCulture, $"--{VqaOptionNames.CentralFraction} {centralFraction:R} with {sizeText} resizes every image to at least {sideText} x {sideText} pixels, more than --{VqaOptionNames.MaxImagePixels} ({maxPixels:N0}); raise --{VqaOptionNames.CentralFraction} to at least {Math.Ceiling(1e4 * size / largest) / 1e4:0.####}."),
                    VqaOptionNames.CentralFraction);
        }

        foreach (var image in images)
        {
            var info = Labelled(image.Label, () => ImageFiles.Inspect(image.Path, maxPixels));
            if (knownSize is not null)
            {
                Labelled(image.Label, () => transform.CheckSize(info.Width, info.Height, image.Path));
            }
        }
    }

    /// <summary>Runs a check of an input, starting its message with the input's label.</summary>
    internal static void Labelled(string label, Action check) => Labelled(label, () =>
    {
        check();
        return 0;
    });

    /// <summary>Runs a check of an input, starting its message with the input's label.</summary>
    internal static T Labelled<T>(string label, Func<T> check)
    {
        try
        {
            return check();
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException($"{label}: {ErrorMessages.OneLine(ex)}", ex);
        }
    }

    /// <summary>Checks the outputs can be written before anything is computed (<see cref="OutputFolder.Check"/>).</summary>
    private void CheckOut() => OutputFolder.Check(VqaOptionNames.Out, OutDir, OutputFiles);

    private static int AtLeast(long value, int minimum, string option, string why = "")
    {
        if (value < minimum)
        {
            throw new ArgumentException($"--{option} must be at least {minimum}{why}, not {value}.", option);
        }

        return value <= int.MaxValue ? (int)value : throw new ArgumentException($"--{option} must be at most {int.MaxValue}, not {value}.", option);
    }

    private static int AtMost(int value, int maximum, string option, string why) =>
        value <= maximum ? value : throw new ArgumentException($"--{option} must be at most {maximum}{why}, not {value}.", option);
}
