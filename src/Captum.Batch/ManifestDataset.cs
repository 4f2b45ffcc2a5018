using System.Globalization;
using System.Text.Json;
using Captum.Plugins;

namespace Captum.Batch;

/// <summary>
/// A dataset read from a manifest file, for any model: JSON Lines, one example per line,
/// <c>{"id": "cat-1", "inputs": {"image": "images/cat.png", "question": "what is on the mat?"}, "label": "cat", "annotations": {"split": "val"}}</c>
/// (or one JSON array of such objects). <c>inputs</c> holds the model's raw inputs by name; the value of a file
/// input (<see cref="RawInputKind.ImageFile"/>) is a path, relative to the manifest's folder unless absolute. A text
/// input may be given as a file too, <c>{"prompt": {"file": "prompts/17.txt"}}</c> (a path resolved the same way):
/// its value is the file's UTF-8 text, read when the example is (<see cref="Get"/>), without one final line ending.
/// Every raw input of the model must be given. <c>id</c> (a string or a number, taken as written) defaults to
/// <c>line-N</c> (1-based); <c>label</c> (a string or a number) and <c>annotations</c> are optional. A file that
/// is missing is not checked here: its example's row gets an error, and the others go on.
/// </summary>
public sealed class ManifestDataset : IExampleDataset
{
    /// <summary>The property of an input's object value that names its file: <c>{"file": "prompts/17.txt"}</c>.</summary>
    public const string FileProperty = "file";

    /// <summary>The largest manifest read: 512 MiB (a million examples of 500 bytes each); it is held in memory while parsed.</summary>
    public const long MaxManifestBytes = 512L << 20;

    /// <summary>The largest text input file read: 16 MiB, far beyond any model's context.</summary>
    public const long MaxTextFileBytes = 16L << 20;

    private static readonly System.Text.UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private readonly string path;
    private readonly List<Entry> entries;

    private ManifestDataset(string path, List<Entry> entries, string digest)
    {
        this.path = path;
        this.entries = entries;
        Digest = digest;
    }

    /// <summary>The SHA-256 of the manifest file (hex, lowercase): a run records it, so a changed manifest is a different dataset.</summary>
    public string Digest { get; }

    /// <inheritdoc />
    public int Count => entries.Count;

    /// <inheritdoc />
    /// <exception cref="ExampleInputException">A text input's file is missing, unreadable or not UTF-8; the message names the manifest's line, the example, the input and the path.</exception>
    public DatasetExample Get(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, entries.Count);
        var (example, line, textFiles) = entries[index];
        if (textFiles.Count == 0)
        {
            return example;
        }

        var inputs = new Dictionary<string, RawInputValue>(example.Inputs, StringComparer.Ordinal);
        foreach (var (name, file) in textFiles)
        {
            inputs[name] = ReadText(example.Id, line, name, file);
        }

        return example with { Inputs = inputs };
    }

    /// <summary>Reads a manifest file.</summary>
    /// <param name="path">The manifest.</param>
    /// <param name="rawInputs">The model's raw inputs: their names are the only ones accepted, and the paths of file inputs are resolved.</param>
    /// <param name="count">Only the first <paramref name="count"/> examples; all when null.</param>
    /// <exception cref="ArgumentException">The file is missing, a line is not an example object, an input name is unknown, or two examples share an id; the message names the line.</exception>
    public static ManifestDataset Open(string path, IReadOnlyList<RawInputSpec> rawInputs, int? count = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(rawInputs);
        if (count is < 1)
        {
            throw new ArgumentException($"count must be at least 1, not {count}.", nameof(count));
        }

        var bytes = InputFile.ReadBytes(path, MaxManifestBytes, "dataset manifest", "dataset");
        var digest = ContentDigest.Of(bytes);
        var folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var kinds = rawInputs.ToDictionary(r => r.Name, r => r.Kind, StringComparer.Ordinal);
        var examples = new List<Entry>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (line, element) in Elements(path, bytes))
        {
            if (count is { } n && examples.Count == n)
            {
                break;
            }

            var entry = Parse(path, line, element, folder, kinds);
            if (!ids.Add(entry.Example.Id))
            {
                throw new ArgumentException($"{path}:{line}: the id '{entry.Example.Id}' is used twice.", "dataset");
            }

            examples.Add(entry);
        }

        if (examples.Count == 0)
        {
            throw new ArgumentException($"{path} holds no examples.", "dataset");
        }

        if (count is { } asked && examples.Count < asked)
        {
            throw new ArgumentException($"count: {asked} examples asked of {path}, which holds {examples.Count}; give at most {examples.Count}, or leave count out for all.", nameof(count));
        }

        return new ManifestDataset(path, examples, digest);
    }

    private static IEnumerable<(int Line, JsonElement Element)> Elements(string path, byte[] bytes)
    {
        var text = System.Text.Encoding.UTF8.GetString(bytes).TrimStart('\uFEFF');
        if (text.TrimStart().StartsWith('['))
        {
            var array = ParseJson(path, 1, text);
            var i = 0;
            foreach (var element in array.EnumerateArray())
            {
                yield return (++i, element);
            }

            yield break;
        }

        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            if (!string.IsNullOrWhiteSpace(lines[i]))
            {
                yield return (i + 1, ParseJson(path, i + 1, lines[i]));
            }
        }
    }

    private static JsonElement ParseJson(string path, int line, string text)
    {
        try
        {
            using var document = JsonDocument.Parse(text);
            return document.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            throw new ArgumentException($"{path}:{line}: not JSON: {ex.Message}", "dataset", ex);
        }
    }

    private static Entry Parse(string path, int line, JsonElement element, string folder, Dictionary<string, RawInputKind> kinds)
    {
        string Where() => string.Create(CultureInfo.InvariantCulture, $"{path}:{line}");
        if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty("inputs", out var inputs) || inputs.ValueKind != JsonValueKind.Object)
        {
            throw new ArgumentException($"{Where()}: an example is an object with \"inputs\": {{name: value}}.", "dataset");
        }

        var values = new Dictionary<string, RawInputValue>(StringComparer.Ordinal);
        var textFiles = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var input in inputs.EnumerateObject())
        {
            if (!kinds.TryGetValue(input.Name, out var kind))
            {
                throw new ArgumentException($"{Where()}: the model has no raw input '{input.Name}'; it takes {string.Join(", ", kinds.Keys)}.", "dataset");
            }

            if (input.Value.ValueKind == JsonValueKind.Object)
            {
                var file = FileOf(input.Value) ?? throw new ArgumentException(
                    $"{Where()}: the value of '{input.Name}' is a string or {{\"{FileProperty}\": path}}, with no other property.", "dataset");
                var resolved = Path.IsPathRooted(file) ? file : Path.Combine(folder, file);
                if (kind == RawInputKind.Text)
                {
                    textFiles[input.Name] = resolved;
                    values[input.Name] = string.Empty; // read by Get
                }
                else
                {
                    values[input.Name] = resolved;
                }

                continue;
            }

            if (input.Value.ValueKind != JsonValueKind.String)
            {
                throw new ArgumentException($"{Where()}: the value of '{input.Name}' must be a string, or {{\"{FileProperty}\": path}} for its file.", "dataset");
            }

            var value = input.Value.GetString()!;
            values[input.Name] = kind == RawInputKind.ImageFile && !Path.IsPathRooted(value) ? Path.Combine(folder, value) : value;
        }

        if (kinds.Keys.FirstOrDefault(k => !values.ContainsKey(k)) is { } lacking)
        {
            throw new ArgumentException($"{Where()}: the example has no input '{lacking}'; the model takes {string.Join(", ", kinds.Keys)}.", "dataset");
        }

        var id = Scalar(element, "id", Where) ?? string.Create(CultureInfo.InvariantCulture, $"line-{line}");
        var label = Scalar(element, "label", Where);
        var annotations = new Dictionary<string, string>(StringComparer.Ordinal);
        if (element.TryGetProperty("annotations", out var a) && a.ValueKind == JsonValueKind.Object)
        {
            foreach (var annotation in a.EnumerateObject())
            {
                annotations[annotation.Name] = annotation.Value.ValueKind == JsonValueKind.String ? annotation.Value.GetString()! : annotation.Value.GetRawText();
            }
        }

        return new Entry(new DatasetExample(id, values, label, annotations), line, textFiles);
    }

    /// <summary>
    /// The example's <paramref name="name"/> (<c>id</c>, <c>label</c>) as text: a string, or a number as written
    /// (<c>"question_id": 17</c> style ids, count labels); null when absent or null.
    /// </summary>
    /// <exception cref="ArgumentException">It is another kind of value; the message names the line and the property.</exception>
    private static string? Scalar(JsonElement element, string name, Func<string> where) =>
        !element.TryGetProperty(name, out var value) ? null : value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Number => value.GetRawText(),
            JsonValueKind.Null => null,
            _ => throw new ArgumentException($"{where()}: \"{name}\" must be a string or a number, not {value.ValueKind.ToString().ToLowerInvariant()}.", "dataset"),
        };

    /// <summary>The path of <c>{"file": path}</c>; null for any other object.</summary>
    private static string? FileOf(JsonElement value)
    {
        var properties = value.EnumerateObject().ToList();
        return properties is [{ Name: FileProperty, Value.ValueKind: JsonValueKind.String } only] && !string.IsNullOrWhiteSpace(only.Value.GetString())
            ? only.Value.GetString()
            : null;
    }

    /// <summary>A text input's file as its UTF-8 text, without one final line ending.</summary>
    private string ReadText(string id, int line, string input, string file)
    {
        string Problem(string what) => string.Create(CultureInfo.InvariantCulture, $"{path}:{line}: example '{id}': the text file of '{input}' {what}: {file}");
        if (!File.Exists(file) && !Directory.Exists(file))
        {
            throw new ExampleInputException(id, Problem("is missing"), null);
        }

        string text;
        try
        {
            // A folder, a device or a pipe is refused, not read (a FIFO would block the worker for ever).
            text = StrictUtf8.GetString(InputFile.ReadBytes(file, MaxTextFileBytes, string.Create(CultureInfo.InvariantCulture, $"{path}:{line}: example '{id}': the text file of '{input}'")));
        }
        catch (System.Text.DecoderFallbackException ex)
        {
            throw new ExampleInputException(id, Problem("is not UTF-8 text"), ex);
        }
        catch (ArgumentException ex)
        {
            throw new ExampleInputException(id, ErrorMessages.OneLine(ex), ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ExampleInputException(id, Problem($"cannot be read ({ErrorMessages.OneLine(ex)})"), ex);
        }

        text = text.TrimStart('\uFEFF');
        return text.EndsWith("\r\n", StringComparison.Ordinal) ? text[..^2] : text.EndsWith('\n') ? text[..^1] : text;
    }

    private sealed record Entry(DatasetExample Example, int Line, IReadOnlyDictionary<string, string> TextFiles);

    /// <inheritdoc />
    public void Dispose()
    {
    }
}
