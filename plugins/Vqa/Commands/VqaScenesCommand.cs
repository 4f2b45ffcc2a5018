using System.Globalization;
using System.Text.Json;
using Captum.Plugins.Vqa.Scenes;

namespace Captum.Plugins.Vqa.Commands;

/// <summary>
/// <c>captum vqa-scenes</c>: writes generated scenes as PNG files with <c>scenes.json</c>, which lists every scene's
/// objects and questions with their answers, and which <c>captum vqa --batch</c> reads.
/// </summary>
public sealed class VqaScenesCommand : IPluginCommand
{
    /// <summary>The manifest's file name.</summary>
    public const string ManifestFile = "scenes.json";

    /// <inheritdoc />
    public string Name => "vqa-scenes";

    /// <inheritdoc />
    public string Description => $"Write generated scenes as PNG files and {ManifestFile} (objects, questions, answers), the batch file of captum vqa --batch.";

    /// <inheritdoc />
    public IReadOnlyList<PluginCommandOption> Options { get; } =
    [
        new("seed", "The scene stream.", PluginOptionKind.Integer, "2025"),
        new("count", "How many scenes.", PluginOptionKind.Integer, "4"),
        new("start", "The first scene's index in the stream.", PluginOptionKind.Integer, "0"),
        new("min-questions", "Skip scenes with fewer questions than this.", PluginOptionKind.Integer, "1"),
        new("out", "The folder to write to.", PluginOptionKind.Folder, Path.Combine("out", "scenes")),
    ];

    /// <inheritdoc />
    public int Run(PluginCommandContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var seed = context.GetInteger("seed");
        var count = CommandValues.Positive(context, "count");
        var start = context.GetInteger("start") is >= 0 and <= int.MaxValue and var s ? (int)s : throw new ArgumentException("--start must be a whole number from 0.", "start");
        var kinds = Enum.GetValues<QuestionKind>().Length;
        var minQuestions = context.GetInteger("min-questions") is >= 1 and var q && q <= kinds
            ? q
            : throw new ArgumentException($"--min-questions must be from 1 to {kinds} (a scene asks at most one question of each kind).", "min-questions");
        var folder = context.GetText("out")!;
        OutputFolder.Check("out", folder, ManifestFile);
        Directory.CreateDirectory(folder);
        var scenes = new List<Dictionary<string, object?>>();
        var generator = new SceneGenerator();
        var chosen = Enumerable.Range(start, int.MaxValue - start)
            .Select(i => generator.Generate(seed, i))
            .Where(s => s.Questions.Count >= minQuestions)
            .Take(count);
        foreach (var scene in chosen)
        {
            var file = string.Create(CultureInfo.InvariantCulture, $"scene-{seed}-{scene.Index:D4}.png");
            scene.SavePng(Path.Combine(folder, file));
            scenes.Add(new Dictionary<string, object?>
            {
                ["image"] = file,
                ["seed"] = seed,
                ["index"] = scene.Index,
                ["objects"] = scene.Objects.Select(o => new Dictionary<string, object?>
                {
                    ["shape"] = SceneWords.Name(o.Shape),
                    ["color"] = SceneWords.Name(o.Color),
                    ["centerX"] = o.CenterX,
                    ["centerY"] = o.CenterY,
                    ["radius"] = o.Radius,
                }).ToList(),
                ["questions"] = scene.Questions.Select(q => new Dictionary<string, object?>
                {
                    ["question"] = q.Text,
                    ["answer"] = q.Answer,
                    ["kind"] = q.Kind.ToString().ToLowerInvariant(),
                    ["decidingObjects"] = q.DecidingObjects,
                    ["keyWord"] = q.KeyWord,
                }).ToList(),
            });
        }

        var manifest = Path.Combine(folder, ManifestFile);
        var document = new Dictionary<string, object?>
        {
            ["command"] = string.Create(CultureInfo.InvariantCulture, $"captum vqa-scenes --seed {seed} --count {count} --start {start} --min-questions {minQuestions}"),
            ["scenes"] = scenes,
        };
        File.WriteAllText(manifest, JsonSerializer.Serialize(document, new JsonSerializerOptions { WriteIndented = true }) + "\n");
        context.Output.WriteLine($"{count} scenes: {manifest}");
        return 0;
    }
}
