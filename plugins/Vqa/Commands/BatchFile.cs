using System.Text.Json;

namespace Captum.Plugins.Vqa.Commands;

/// <summary>Reads the <c>--batch</c> file of <c>captum vqa</c>.</summary>
internal static class BatchFile
{
    /// <summary>
    /// The largest batch file read: 16 MiB, some hundred thousand questions. The file is read whole, so a device
    /// or a runaway file must not be (<c>--batch /dev/zero</c> would fill the memory).
    /// </summary>
    public const long MaxBytes = 16 << 20;

    /// <summary>
    /// The images (full paths, relative to the file's folder) and their questions, with the expected answers where
    /// given, each labelled with its place in the file (<c>--batch FILE: scenes[1].questions[0]</c>).
    /// </summary>
    /// <exception cref="ArgumentException">
    /// The file is not a regular file, is larger than <see cref="MaxBytes"/>, or is not a batch file; the message names
    /// <c>--batch</c> and, for the last, shows the expected form.
    /// </exception>
    public static List<VqaImage> Read(string path)
    {
        var label = "--" + VqaOptionNames.Batch;
        var text = InputFile.ReadText(path, MaxBytes, label);
        var folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        try
        {
            using var document = JsonDocument.Parse(text);
            var items = new List<VqaImage>();
            foreach (var (scene, i) in document.RootElement.GetProperty("scenes").EnumerateArray().Select((s, i) => (s, i)))
            {
                var entry = $"{label} {path}: scenes[{i}]";
                var image = Path.GetFullPath(Path.Combine(folder, scene.GetProperty("image").GetString() ?? throw new InvalidDataException($"scenes[{i}].image is null")));
                var questions = scene.GetProperty("questions").EnumerateArray()
                    .Select((q, j) => new VqaQuestion(
                        q.ValueKind == JsonValueKind.String ? q.GetString()! : q.GetProperty("question").GetString() ?? string.Empty,
                        q.ValueKind == JsonValueKind.String ? null : q.TryGetProperty("answer", out var a) ? AnswerText(a) : null,
                        $"{entry}.questions[{j}]"))
                    .ToList();
                if (questions.Count == 0)
                {
                    throw new InvalidDataException($"scenes[{i}] ({image}) has no questions");
                }

                items.Add(new VqaImage(image, $"{entry}.image", questions));
            }

            return items.Count > 0 ? items : throw new InvalidDataException("it lists no scenes");
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or InvalidDataException)
        {
            throw new ArgumentException($"{label}: {path} is not a batch file ({ex.Message.Split('\n')[0]}); expected {{\"scenes\": [{{\"image\": \"a.png\", \"questions\": [{{\"question\": \"...\", \"answer\": \"...\"}}]}}]}}.", VqaOptionNames.Batch, ex);
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
