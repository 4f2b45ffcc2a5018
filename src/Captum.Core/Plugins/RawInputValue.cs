namespace Captum.Plugins;

/// <summary>
/// The value of one raw input (see <see cref="RawInputSpec"/>): text (a question, or the path of an image file,
/// as on the command line), or the contents of a file held in memory (an uploaded image, an image a dataset
/// generated). A string converts implicitly.
/// </summary>
public sealed class RawInputValue
{
    private RawInputValue(string? text, ReadOnlyMemory<byte> content, string? contentName)
    {
        Text = text;
        Content = content;
        ContentName = contentName;
    }

    /// <summary>The text: the value itself for <see cref="RawInputKind.Text"/>, a file path for <see cref="RawInputKind.ImageFile"/>; null for file contents.</summary>
    public string? Text { get; }

    /// <summary>A file's bytes (e.g. a PNG), when <see cref="IsContent"/>.</summary>
    public ReadOnlyMemory<byte> Content { get; }

    /// <summary>A name for <see cref="Content"/> used in messages (an upload's file name, "scene 12"); null for text.</summary>
    public string? ContentName { get; }

    /// <summary>Whether the value is a file's contents rather than text.</summary>
    public bool IsContent => Text is null;

    /// <summary>A text value (or a file path).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    public static RawInputValue FromText(string text) => new(text ?? throw new ArgumentNullException(nameof(text)), default, null);

    /// <summary>A file's contents held in memory; <paramref name="name"/> names it in messages.</summary>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty.</exception>
    public static RawInputValue FromContent(ReadOnlyMemory<byte> content, string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return new(null, content, name);
    }

    /// <summary>A text value (or a file path).</summary>
    public static implicit operator RawInputValue(string text) => FromText(text);

    /// <inheritdoc />
    public override string ToString() => Text ?? $"{ContentName} ({Content.Length} bytes)";
}
