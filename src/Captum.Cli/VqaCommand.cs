using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Captum.Attr;
using Captum.Hosting;
using Captum.Plugins;
using TorchSharp;

namespace Captum.Cli;

/// <summary>
/// <c>captum vqa</c>: answer questions about images with the VQA plugin's model (the scenes model that ships with
/// it, or the tutorial's model from its checkpoint and ResNet files) and explain every answer.
/// </summary>
internal static class VqaCommand
{
    public static Command Create(PluginHost host, TextWriter output, TextWriter error)
    {
        var checkpoint = new Option<FileInfo?>("--checkpoint") { Description = "A VQA checkpoint (torch.save of {'weights', 'vocab', ...}); default: the scenes model that ships with the plugin." };
        var resnet = new Option<FileInfo?>("--resnet") { Description = "The ResNet state dict the tutorial checkpoint's image features come from." };
        var image = new Option<FileInfo?>("--image") { Description = "The image to ask about." };
        var questions = new Option<string[]>("--question") { Description = "A question about --image (repeatable)." };
        var batch = new Option<FileInfo?>("--batch") { Description = "A JSON file of images and questions: {\"scenes\": [{\"image\": \"a.png\", \"questions\": [{\"question\": \"...\", \"answer\": \"expected (optional)\"}]}]}; paths relative to it." };
        var outDir = new Option<DirectoryInfo>("--out") { Description = "Folder for report.html (and result.json).", DefaultValueFactory = _ => new DirectoryInfo("out") };
        var imageSize = new Option<int?>("--image-size") { Description = "The side of the square image the net sees; default: the model's own (448 for the tutorial's, 64 for the scenes model)." };
        var centralFraction = new Option<double>("--central-fraction") { Description = "The central fraction of the resized image kept.", DefaultValueFactory = _ => 1.0 };
        var steps = new Option<int>("--steps") { Description = "Integration steps (n_steps).", DefaultValueFactory = _ => 30 };
        var variant = new Option<string>("--resnet-variant") { Description = "caffe (the tutorial's features) or torchvision.", DefaultValueFactory = _ => "caffe" };
        variant.AcceptOnlyFromAmong("caffe", "torchvision");
        var method = new Option<string[]>("--method")
        {
            Description = $"Attribution method(s), repeatable or comma-separated, shown side by side: {string.Join(", ", Methods.Keys)} (default layer-ig: LayerIntegratedGradients on the wrapped model, as the tutorial).",
            DefaultValueFactory = _ => ["layer-ig"],
        };
        var json = new Option<bool>("--json") { Description = "Also write result.json." };
        var internalBatch = new Option<int?>("--internal-batch-size") { Description = "At most this many expanded examples per pass (internal_batch_size)." };

        var command = new Command("vqa", "Answer questions about images and explain each answer by the image's pixels and the question's words.")
        {
            checkpoint, resnet, image, questions, batch, outDir, imageSize, centralFraction, steps, variant, method, json, internalBatch,
        };
        command.SetAction(parse =>
        {
            var request = new VqaRequest(
                parse.GetValue(checkpoint)?.FullName,
                parse.GetValue(resnet)?.FullName,
                parse.GetValue(image)?.FullName,
                parse.GetValue(questions) ?? [],
                parse.GetValue(batch)?.FullName,
                parse.GetRequiredValue(outDir).FullName,
                parse.GetValue(imageSize),
                parse.GetValue(centralFraction),
                parse.GetValue(steps),
                parse.GetRequiredValue(variant),
                ParseMethods(parse.GetRequiredValue(method)),
                parse.GetValue(json),
                parse.GetValue(internalBatch));
            return Fail.Guard(error, () => Execute(request, host, output, error));
        });
        return command;
    }

    /// <summary>The methods the command offers, by command-line name.</summary>
    internal static readonly IReadOnlyDictionary<string, ExplanationMethod> Methods = new Dictionary<string, ExplanationMethod>(StringComparer.Ordinal)
    {
        ["layer-ig"] = ExplanationMethod.LayerIntegratedGradients,
        ["interpretable-embedding"] = ExplanationMethod.InterpretableEmbedding,
        ["gradient-x-activation"] = ExplanationMethod.LayerGradientXActivation,
        ["occlusion"] = ExplanationMethod.Occlusion,
    };

    private static string[] ParseMethods(string[] values)
    {
        var names = values.SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).Distinct().ToArray();
        return names.Length == 0 ? ["layer-ig"] : names;
    }

    private static double Contribution<T>(Explanation e)
        where T : InputDisplay => e.Inputs.FirstOrDefault(i => i.Display is T)?.Contribution ?? 0;

    /// <summary>One method's numbers: per-token attributions, text and image contributions, total and delta.</summary>
    private static Dictionary<string, object?> Summary(Explanation e) => new()
    {
        ["tokenAttributions"] = e.Inputs.FirstOrDefault(i => i.Display is TextDisplay)?.TokenAttributions,
        ["textContribution"] = Contribution<TextDisplay>(e),
        ["imageContribution"] = Contribution<ImageDisplay>(e),
        ["totalContribution"] = e.TotalContribution,
        ["delta"] = double.IsNaN(e.Delta) ? null : e.Delta,
    };

    private static int Execute(VqaRequest request, PluginHost host, TextWriter output, TextWriter error)
    {
        if (request.Methods.FirstOrDefault(m => !Methods.ContainsKey(m)) is { } unknown)
        {
            throw new UsageException($"--method: unknown method '{unknown}'; choose from {string.Join(", ", Methods.Keys)}.");
        }

        var images = Images(request);
        if (request.Checkpoint is not null)
        {
            Fail.RequireFile(request.Checkpoint, "--checkpoint");
        }

        if (request.Resnet is not null)
        {
            Fail.RequireFile(request.Resnet, "--resnet");
        }

        if (request.Steps < 1)
        {
            throw new UsageException($"--steps must be at least 1, not {request.Steps}.");
        }

        if (request.InternalBatchSize is < 1)
        {
            throw new UsageException($"--internal-batch-size must be at least 1, not {request.InternalBatchSize}.");
        }

        if (request.ImageSize is < 32)
        {
            throw new UsageException($"--image-size must be at least 32 (the image network halves it five times), not {request.ImageSize}.");
        }

        using var scope = torch.NewDisposeScope();
        CaptumCli.WarnAboutFailures(host, error);
        var provider = host.GetModelProvider("vqa");
        var files = new Dictionary<string, string>(StringComparer.Ordinal);
        if (request.Checkpoint is not null)
        {
            files["checkpoint"] = request.Checkpoint;
        }

        if (request.Resnet is not null)
        {
            files["resnet"] = request.Resnet;
        }

        foreach (var file in provider.Files.Where(f => f.Required && !files.ContainsKey(f.Name)))
        {
            throw new UsageException($"--{file.Name} is required: {file.Description}.");
        }

        var settings = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["central-fraction"] = request.CentralFraction.ToString("R", CultureInfo.InvariantCulture),
            ["resnet-variant"] = request.ResNetVariant,
        };
        if (request.ImageSize is { } size)
        {
            settings["image-size"] = size.ToString(CultureInfo.InvariantCulture);
        }

        using var model = provider.Load(files, settings);
        output.WriteLine($"Model: {model.Name}");
        output.WriteLine();

        var report = new ReportBuilder(images.Count == 1 ? $"VQA: {Path.GetFileName(images[0].Image)}" : $"VQA: {images.Count} images");
        var results = new List<Dictionary<string, object?>>();
        var total = images.Sum(i => i.Questions.Count);
        var done = 0;
        foreach (var (imagePath, imageQuestions) in images)
        {
            if (images.Count > 1)
            {
                report.AddSection(Path.GetFileName(imagePath));
                output.WriteLine($"Image: {imagePath}");
            }

            foreach (var (question, expected) in imageQuestions)
            {
                using var questionScope = torch.NewDisposeScope();
                var prepared = model.Prepare(new Dictionary<string, string> { ["image"] = imagePath, ["question"] = question });
                var index = ++done;
                var explanations = new List<(string Method, Explanation Explanation)>();
                try
                {
                    foreach (var name in request.Methods)
                    {
                        var progress = new StepProgress(error, $"[{index}/{total}] {name}: {question}");
                        explanations.Add((name, ModelExplainer.Explain(model, prepared, new ExplanationOptions
                        {
                            Method = Methods[name],
                            Steps = request.Steps,
                            InternalBatchSize = request.InternalBatchSize,
                            Progress = progress,
                        })));
                        progress.Done();
                    }

                    var (_, explanation) = explanations[0];
                    output.WriteLine($"Question: {question}");
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Predicted answer: {explanation.Label} (probability {explanation.Probability:0.####})"));
                    if (expected is not null)
                    {
                        output.WriteLine($"Expected answer: {expected}");
                    }

                    foreach (var (name, e) in explanations)
                    {
                        var prefix = explanations.Count > 1 ? $"[{name}] " : string.Empty;
                        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{prefix}Text Contributions: {Contribution<TextDisplay>(e):G6}"));
                        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{prefix}Image Contributions: {Contribution<ImageDisplay>(e):G6}"));
                        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{prefix}Total Contribution: {e.TotalContribution:G6}"));
                    }

                    output.WriteLine();
                    report.Add(question, explanations, expected);
                    var text = explanation.Inputs.FirstOrDefault(e => e.Display is TextDisplay);
                    var result = Summary(explanation);
                    result["image"] = imagePath;
                    result["question"] = question;
                    result["expected"] = expected;
                    result["answer"] = explanation.Label;
                    result["answerIndex"] = explanation.LabelIndex;
                    result["probability"] = explanation.Probability;
                    result["logits"] = explanation.Logits;
                    result["tokens"] = (text?.Display as TextDisplay)?.Tokens;
                    result["methods"] = explanations.ToDictionary(e => e.Method, e => Summary(e.Explanation));
                    results.Add(result);
                }
                finally
                {
                    foreach (var (_, e) in explanations)
                    {
                        e.Dispose();
                    }
                }
            }
        }

        Directory.CreateDirectory(request.OutDir);
        var reportPath = Path.Combine(request.OutDir, "report.html");
        report.Save(reportPath);
        output.WriteLine($"Report: {reportPath}");
        if (request.Json)
        {
            var jsonPath = Path.Combine(request.OutDir, "result.json");
            var document = new Dictionary<string, object?>
            {
                ["model"] = model.Name,
                ["image"] = images.Count == 1 ? images[0].Image : null,
                ["steps"] = request.Steps,
                ["method"] = request.Methods[0],
                ["methods"] = request.Methods,
                ["results"] = results,
            };
            File.WriteAllText(jsonPath, JsonSerializer.Serialize(document, new JsonSerializerOptions { WriteIndented = true }));
            output.WriteLine($"JSON: {jsonPath}");
        }

        return 0;
    }

    /// <summary>The images and their questions (with the expected answers when the batch file gives them), checked.</summary>
    private static List<(string Image, List<(string Question, string? Expected)> Questions)> Images(VqaRequest request)
    {
        var items = new List<(string Image, List<(string Question, string? Expected)> Questions)>();
        if (request.Batch is not null)
        {
            if (request.Image is not null || request.Questions.Length > 0)
            {
                throw new UsageException("--batch takes the images and questions from its file: give it without --image and --question.");
            }

            Fail.RequireFile(request.Batch, "--batch");
            items.AddRange(BatchFile.Read(request.Batch));
        }
        else
        {
            if (request.Image is null)
            {
                throw new UsageException("--image is required (or --batch with a file of images and questions).");
            }

            if (request.Questions.Length == 0)
            {
                throw new UsageException("--question is required: ask at least one question about --image.");
            }

            items.Add((request.Image, request.Questions.Select(q => (q, (string?)null)).ToList()));
        }

        foreach (var (image, questions) in items)
        {
            if (questions.Any(q => string.IsNullOrWhiteSpace(q.Question)))
            {
                throw new UsageException("--question is empty: every question needs at least one word.");
            }

            Fail.RequireFile(image, request.Batch is null ? "--image" : "--batch");
        }

        return items;
    }

    private sealed record VqaRequest(
        string? Checkpoint,
        string? Resnet,
        string? Image,
        string[] Questions,
        string? Batch,
        string OutDir,
        int? ImageSize,
        double CentralFraction,
        int Steps,
        string ResNetVariant,
        string[] Methods,
        bool Json,
        int? InternalBatchSize);
}

/// <summary>Reads the <c>--batch</c> file of <c>captum vqa</c>.</summary>
internal static class BatchFile
{
    public static List<(string Image, List<(string Question, string? Expected)> Questions)> Read(string path)
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path));
            var items = new List<(string, List<(string, string?)>)>();
            foreach (var scene in document.RootElement.GetProperty("scenes").EnumerateArray())
            {
                var image = Path.GetFullPath(Path.Combine(folder, scene.GetProperty("image").GetString() ?? throw new InvalidDataException("an image is null")));
                var questions = scene.GetProperty("questions").EnumerateArray()
                    .Select(q => q.ValueKind == JsonValueKind.String
                        ? (q.GetString()!, (string?)null)
                        : (q.GetProperty("question").GetString() ?? string.Empty, q.TryGetProperty("answer", out var a) ? AnswerText(a) : null))
                    .ToList();
                if (questions.Count == 0)
                {
                    throw new InvalidDataException($"{image} has no questions");
                }

                items.Add((image, questions));
            }

            return items.Count > 0 ? items : throw new InvalidDataException("it lists no scenes");
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or InvalidDataException)
        {
            throw new UsageException($"--batch: {path} is not a batch file ({ex.Message.Split('\n')[0]}); expected {{\"scenes\": [{{\"image\": \"a.png\", \"questions\": [{{\"question\": \"...\", \"answer\": \"...\"}}]}}]}}.");
        }
    }
    /// <summary>An expected answer: text, or a number (a count) written as one.</summary>
    private static string? AnswerText(JsonElement answer) => answer.ValueKind switch
    {
        JsonValueKind.String => answer.GetString(),
        JsonValueKind.Number => answer.GetRawText(),
        JsonValueKind.Null => null,
        _ => throw new InvalidDataException($"an answer must be text or a number, not {answer.ValueKind}"),
    };
}
