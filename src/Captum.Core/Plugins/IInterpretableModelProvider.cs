namespace Captum.Plugins;

/// <summary>Describes a file a model is loaded from.</summary>
/// <param name="Name">The key in the files dictionary and the command-line option, e.g. "checkpoint".</param>
/// <param name="Description">What the file is.</param>
/// <param name="Required">Whether loading fails without it (otherwise the provider has a default).</param>
public sealed record ModelFile(string Name, string Description, bool Required)
{
    /// <summary>
    /// The file or folder <see cref="IInterpretableModelProvider.Load"/> reads when this one is not given, e.g. a model
    /// the plugin ships beside its assembly; null when it reads none (no default, or one embedded in the assembly).
    /// Hosts identify the model by its contents: <c>captum attribute-dataset</c> records its SHA-256 as it records a
    /// given file's, so a run refuses to resume with other weights at that path. A provider that reads a default from
    /// disk should set it.
    /// </summary>
    public string? DefaultPath { get; init; }
}

/// <summary>Describes a raw input the model takes, e.g. an image file or a question.</summary>
/// <param name="Name">The key in the raw inputs dictionary, e.g. "image" or "question".</param>
/// <param name="Kind">What kind of value it is.</param>
/// <param name="Description">What it is.</param>
public sealed record RawInputSpec(string Name, RawInputKind Kind, string Description);

/// <summary>Kinds of raw inputs.</summary>
public enum RawInputKind
{
    /// <summary>A path to an image file.</summary>
    ImageFile,

    /// <summary>Free text, e.g. a question.</summary>
    Text,
}

/// <summary>One interpretable model a plugin offers: how to load it.</summary>
public interface IInterpretableModelProvider
{
    /// <summary>A short unique name, e.g. "vqa".</summary>
    string Name { get; }

    /// <summary>One sentence on the model.</summary>
    string Description { get; }

    /// <summary>The files <see cref="Load"/> reads.</summary>
    IReadOnlyList<ModelFile> Files { get; }

    /// <summary>
    /// Loads the model from <paramref name="files"/> (name to path; names from <see cref="Files"/>) with
    /// <paramref name="settings"/> (provider-specific, e.g. "image-size" = "448"). The caller owns the
    /// result and disposes it.
    /// </summary>
    /// <exception cref="ArgumentException">A required file is missing or a setting is invalid; the message names it.</exception>
    /// <exception cref="System.IO.InvalidDataException">A file is unreadable; the message names the file.</exception>
    IInterpretableModel Load(IReadOnlyDictionary<string, string> files, IReadOnlyDictionary<string, string> settings);
}
