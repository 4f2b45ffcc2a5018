using System.Text.Json;

namespace Captum.Plugins.Vqa.Commands;

/// <summary>Reads the <c>--batch</c> file of <c>captum vqa</c>.</summary>
internal static class BatchFile
{
    /// <summary>The images (full paths, relative to the file's folder) and their questions, with the expected answers where given.</summary>
    /// <exception cref="ArgumentException">The file is not a batch file; the message names <c>--batch</c> and shows the expected form.</exception>
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
            throw new ArgumentException($"--batch: {path} is not a batch file ({ex.Message.Split('\n')[0]}); expected {{\"scenes\": [{{\"image\": \"a.png\", \"questions\": [{{\"question\": \"...\", \"answer\": \"...\"}}]}}]}}.", VqaOptionNames.Batch, ex);
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
