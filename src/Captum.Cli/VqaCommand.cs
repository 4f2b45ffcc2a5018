using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Captum.Attr;
using Captum.Plugins;
using TorchSharp;

namespace Captum.Cli;

/// <summary><c>captum vqa</c>: answer questions about an image with the VQA plugin and explain every answer.</summary>
internal static class VqaCommand
{
    public static Command Create(Option<string[]> pluginsOption, TextWriter output, TextWriter error)
    {
        var checkpoint = new Option<FileInfo?>("--checkpoint") { Description = "The VQA checkpoint (torch.save of {'weights', 'vocab', ...})." };
        var resnet = new Option<FileInfo?>("--resnet") { Description = "The ResNet state dict the image features come from." };
        var image = new Option<FileInfo>("--image") { Description = "The image to ask about.", Required = true };
        var questions = new Option<string[]>("--question") { Description = "A question (repeatable).", Required = true };
        var outDir = new Option<DirectoryInfo>("--out") { Description = "Folder for report.html (and result.json).", DefaultValueFactory = _ => new DirectoryInfo("out") };
        var imageSize = new Option<int>("--image-size") { Description = "The side of the square image the net sees.", DefaultValueFactory = _ => 448 };
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

        var command = new Command("vqa", "Answer questions about an image and explain each answer by the image's pixels and the question's words.")
        {
            checkpoint, resnet, image, questions, outDir, imageSize, centralFraction, steps, variant, method, json, internalBatch,
        };
        command.SetAction(parse =>
        {
            var request = new VqaRequest(
                parse.GetValue(checkpoint)?.FullName,
                parse.GetValue(resnet)?.FullName,
                parse.GetRequiredValue(image).FullName,
                parse.GetRequiredValue(questions),
                parse.GetRequiredValue(outDir).FullName,
                parse.GetValue(imageSize),
                parse.GetValue(centralFraction),
                parse.GetValue(steps),
                parse.GetRequiredValue(variant),
                ParseMethods(parse.GetRequiredValue(method)),
                parse.GetValue(json),
                parse.GetValue(internalBatch));
            return Fail.Guard(error, () => Execute(request, parse.GetValue(pluginsOption), output, error));
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

    private static int Execute(VqaRequest request, string[]? plugins, TextWriter output, TextWriter error)
    {
        if (request.Methods.FirstOrDefault(m => !Methods.ContainsKey(m)) is { } unknown)
        {
            throw new UsageException($"--method: unknown method '{unknown}'; choose from {string.Join(", ", Methods.Keys)}.");
        }

        foreach (var q in request.Questions)
        {
            if (string.IsNullOrWhiteSpace(q))
            {
                throw new UsageException("--question is empty: every question needs at least one word.");
            }
        }

        Fail.RequireFile(request.Image, "--image");
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

        if (request.ImageSize < 32)
        {
            throw new UsageException($"--image-size must be at least 32 (the image network halves it five times), not {request.ImageSize}.");
        }

        using var scope = torch.NewDisposeScope();
        using var host = CaptumCli.LoadPlugins(plugins, error);
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
            ["image-size"] = request.ImageSize.ToString(CultureInfo.InvariantCulture),
            ["central-fraction"] = request.CentralFraction.ToString("R", CultureInfo.InvariantCulture),
            ["resnet-variant"] = request.ResNetVariant,
        };
        using var model = provider.Load(files, settings);

        var report = new ReportBuilder($"VQA: {Path.GetFileName(request.Image)}");
        var results = new List<Dictionary<string, object?>>();
        for (var i = 0; i < request.Questions.Length; i++)
        {
            var question = request.Questions[i];
            using var questionScope = torch.NewDisposeScope();
            var prepared = model.Prepare(new Dictionary<string, string> { ["image"] = request.Image, ["question"] = question });
            var explanations = new List<(string Method, Explanation Explanation)>();
            try
            {
                foreach (var name in request.Methods)
                {
                    var progress = new StepProgress(error, $"[{i + 1}/{request.Questions.Length}] {name}: {question}");
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
                foreach (var (name, e) in explanations)
                {
                    var prefix = explanations.Count > 1 ? $"[{name}] " : string.Empty;
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{prefix}Text Contributions: {Contribution<TextDisplay>(e):G6}"));
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{prefix}Image Contributions: {Contribution<ImageDisplay>(e):G6}"));
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{prefix}Total Contribution: {e.TotalContribution:G6}"));
                }

                output.WriteLine();
                report.Add(question, explanations);
                var text = explanation.Inputs.FirstOrDefault(e => e.Display is TextDisplay);
                var result = Summary(explanation);
                result["question"] = question;
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

        Directory.CreateDirectory(request.OutDir);
        var reportPath = Path.Combine(request.OutDir, "report.html");
        report.Save(reportPath);
        output.WriteLine($"Report: {reportPath}");
        if (request.Json)
        {
            var jsonPath = Path.Combine(request.OutDir, "result.json");
            var document = new Dictionary<string, object?>
            {
                ["image"] = request.Image,
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

    private sealed record VqaRequest(
        string? Checkpoint,
        string? Resnet,
        string Image,
        string[] Questions,
        string OutDir,
        int ImageSize,
        double CentralFraction,
        int Steps,
        string ResNetVariant,
        string[] Methods,
        bool Json,
        int? InternalBatchSize);
}
