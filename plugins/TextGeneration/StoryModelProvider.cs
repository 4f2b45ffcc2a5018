using Captum.Plugins.TextGeneration.Stories;

namespace Captum.Plugins.TextGeneration;

/// <summary>
/// Offers the story model to the plugin host as the <c>story</c> model (<see cref="StoryAnswerModel"/>): the one that
/// ships with the plugin, or a story model folder given as the <c>story-model</c> file (e.g. one written by
/// <c>captum llm-train</c>).
/// </summary>
public sealed class StoryModelProvider : IInterpretableModelProvider
{
    /// <summary>The name of the optional model folder.</summary>
    public const string FolderFile = "story-model";

    private readonly string? defaultFolder;

    /// <summary>Offers the story model, by default the one the plugin ships (<see cref="StoryModel.DefaultFolder"/>).</summary>
    public StoryModelProvider()
        : this(null)
    {
    }

    /// <summary>Offers the story model with another default folder (tests: a copy of the shipped one).</summary>
    internal StoryModelProvider(string? defaultFolder)
    {
        this.defaultFolder = defaultFolder;
        Files =
        [
            new(FolderFile, "a story model folder (config.json, model.safetensors or pytorch_model.bin, vocab.txt), e.g. from captum llm-train; default: the one the plugin ships", false)
            {
                DefaultPath = defaultFolder ?? StoryModel.DefaultFolder,
            },
        ];
    }

    /// <inheritdoc />
    public string Name => "story";

    /// <inheritdoc />
    public string Description =>
        "The text-generation plugin's story model (a small GPT-2): the next word after a story and its question, e.g. the place in \"where is mary ?\"; the words of the prompt are attributed.";

    /// <inheritdoc />
    /// <remarks>The folder's <see cref="ModelFile.DefaultPath"/> is the shipped model's, so that a run records its weights' SHA-256.</remarks>
    public IReadOnlyList<ModelFile> Files { get; }

    /// <inheritdoc />
    /// <remarks>No settings are taken; a setting is refused, naming it.</remarks>
    public IInterpretableModel Load(IReadOnlyDictionary<string, string> files, IReadOnlyDictionary<string, string> settings)
    {
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.Keys.FirstOrDefault() is { } setting)
        {
            throw new ArgumentException($"The story model takes no settings; '{setting}' is not one.", nameof(settings));
        }

        var folder = files.TryGetValue(FolderFile, out var f) && !string.IsNullOrWhiteSpace(f) ? f : null;
        if (folder is not null && !Directory.Exists(folder))
        {
            throw new ArgumentException($"{FolderFile}: folder not found: {folder}", FolderFile);
        }

        if (folder is null)
        {
            return defaultFolder is null ? StoryAnswerModel.Load() : new StoryAnswerModel(StoryModel.Load(defaultFolder));
        }

        StoryModel story;
        try
        {
            story = StoryModel.Load(folder);
        }
        catch (ArgumentException e) when (e.ParamName != FolderFile)
        {
            throw ErrorMessages.Renamed(e, FolderFile, FolderFile);
        }

        var name = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder)));
        return new StoryAnswerModel(story, string.IsNullOrEmpty(name) ? "story" : "story:" + name);
    }
}
