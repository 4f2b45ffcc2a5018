using System.Text.Json;
using Captum.Cli;
using Captum.Tests.Core.Checkpoints;
using Captum.Tests.Plugins.Vqa.Scenes;
using Xunit;

namespace Captum.Tests.Cli;

/// <summary>The captum command, run in-process with the plugins bundled beside it.</summary>
public sealed class CaptumCliTests
{
    private static string Plugins => Path.Combine(BuildOutputs.Of(Path.Combine("src", "Captum.Cli")), "plugins");

    private static (int Code, string Output, string Error) Run(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = CaptumCli.Run(["--plugins", Plugins, .. args], output, error);
        return (code, output.ToString(), error.ToString());
    }

    private static string[] E2eArgs(string outDir, params string[] more) =>
    [
        "vqa",
        "--checkpoint", CheckpointFiles.PathOf("e2e/vqa.pth"),
        "--resnet", CheckpointFiles.PathOf("e2e/resnet.pth"),
        "--image", CheckpointFiles.PathOf("e2e/image.png"),
        "--image-size", "64",
        "--out", outDir,
        .. more,
    ];

    [Theory]
    [InlineData("layer-ig")]
    [InlineData("interpretable-embedding")]
    public void Vqa_E2eCheckpoint_MatchesEveryNumberCaptumGave(string method)
    {
        using var folder = new TempFolder();
        using var expected = JsonDocument.Parse(File.ReadAllText(CheckpointFiles.PathOf("e2e/expected.json")));
        var cases = expected.RootElement.GetProperty("results").EnumerateArray().ToList();
        var questions = cases.SelectMany(c => new[] { "--question", c.GetProperty("question").GetString()! }).ToArray();

        var (code, output, error) = Run(E2eArgs(folder.Path, [.. questions, "--steps", "30", "--method", method, "--json"]));

        Assert.True(code == 0, error);
        using var result = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder.Path, "result.json")));
        var actual = result.RootElement.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal(cases.Count, actual.Count);
        foreach (var (e, a) in cases.Zip(actual))
        {
            var q = e.GetProperty("question").GetString()!;
            Assert.Equal(q, a.GetProperty("question").GetString());
            Assert.Equal(e.GetProperty("answer").GetString(), a.GetProperty("answer").GetString());
            Assert.Equal(e.GetProperty("answerIndex").GetInt64(), a.GetProperty("answerIndex").GetInt64());
            Assert.Equal(Strings(e, "tokens"), Strings(a, "tokens"));
            Near(e, a, "probability", q);
            Near(e, a, "textContribution", q);
            Near(e, a, "imageContribution", q);
            NearAll(Numbers(e, "logits"), Numbers(a, "logits"), q + " logits");
            NearAll(Numbers(e, "tokenAttributions"), Numbers(a, "tokenAttributions"), q + " tokenAttributions");
            Assert.True(Math.Abs(a.GetProperty("delta").GetDouble()) < 0.05, $"{q}: delta {a.GetProperty("delta").GetDouble()}");
            Assert.Contains($"Question: {q}", output, StringComparison.Ordinal);
        }

        Assert.Contains("Text Contributions: ", output, StringComparison.Ordinal);
        Assert.Contains("Image Contributions: ", output, StringComparison.Ordinal);
        Assert.Contains("Total Contribution: ", output, StringComparison.Ordinal);
        var report = File.ReadAllText(Path.Combine(folder.Path, "report.html"));
        Assert.All(cases, c => Assert.Contains(c.GetProperty("question").GetString()!, report, StringComparison.Ordinal));
        Assert.Equal(2 * cases.Count, CountOf(report, "data:image/png;base64,") - cases.Count); // two panels and one colour bar per question
    }

    [Fact]
    public void Vqa_MissingImage_ExitsNonZeroWithOneLineNamingIt()
    {
        using var folder = new TempFolder();
        var missing = Path.Combine(folder.Path, "nope.jpg");
        var (code, _, error) = Run("vqa", "--image", missing, "--question", "what is it", "--out", folder.Path);

        Assert.NotEqual(0, code);
        Assert.Equal($"captum: error: --image: file not found: {missing}", error.TrimEnd());
    }

    [Fact]
    public void Vqa_ResnetWithoutCheckpoint_ExitsNonZeroNamingTheOption()
    {
        using var folder = new TempFolder();
        var (code, _, error) = Run("vqa", "--resnet", CheckpointFiles.PathOf("e2e/resnet.pth"), "--image", CheckpointFiles.PathOf("e2e/image.png"), "--question", "what is it", "--out", folder.Path);

        Assert.NotEqual(0, code);
        Assert.StartsWith("captum: error: resnet is given without checkpoint", error.TrimEnd(), StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.TrimEnd());
    }

    [Fact]
    public void Vqa_TutorialCheckpointWithoutResnet_ExitsNonZeroAskingForIt()
    {
        using var folder = new TempFolder();
        var (code, _, error) = Run("vqa", "--checkpoint", CheckpointFiles.PathOf("e2e/vqa.pth"), "--image", CheckpointFiles.PathOf("e2e/image.png"), "--question", "what is it", "--out", folder.Path);

        Assert.NotEqual(0, code);
        Assert.Contains("give the ResNet state dict", error, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.TrimEnd());
    }

    [Fact]
    public void Vqa_NoModelFiles_TheShippedModelAnswersASampleScene()
    {
        using var folder = new TempFolder();
        var scene = SampleScenes.All[0];
        var (question, expected) = scene.Questions[0];

        var (code, output, error) = Run("vqa", "--image", scene.Image, "--question", question, "--out", folder.Path, "--json");

        Assert.True(code == 0, error);
        Assert.Contains("Model: scenes-vqa", output, StringComparison.Ordinal);
        Assert.Contains($"Predicted answer: {expected} (probability ", output, StringComparison.Ordinal);
        using var result = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder.Path, "result.json")));
        var answer = Assert.Single(result.RootElement.GetProperty("results").EnumerateArray());
        Assert.Equal(expected, answer.GetProperty("answer").GetString());
        var (delta, total) = (answer.GetProperty("delta").GetDouble(), answer.GetProperty("totalContribution").GetDouble());
        Assert.True(Math.Abs(delta) < 0.05 * Math.Abs(total), $"delta {delta} against a total contribution of {total}");
        var report = File.ReadAllText(Path.Combine(folder.Path, "report.html"));
        Assert.Contains(question, report, StringComparison.Ordinal);
        Assert.Equal(3, CountOf(report, "data:image/png;base64,")); // image, attribution, colour bar
    }

    [Fact]
    public void Vqa_AnyImageAndQuestion_TheShippedModelAnswers()
    {
        using var folder = new TempFolder();
        var photo = Path.Combine(folder.Path, "photo.png");
        using (var image = new SixLabors.ImageSharp.Image<SixLabors.ImageSharp.PixelFormats.Rgb24>(120, 90))
        {
            for (var y = 0; y < image.Height; y++)
            {
                for (var x = 0; x < image.Width; x++)
                {
                    image[x, y] = new SixLabors.ImageSharp.PixelFormats.Rgb24((byte)(2 * x), (byte)(255 - (2 * y)), 90);
                }
            }

            SixLabors.ImageSharp.ImageExtensions.SaveAsPng(image, photo);
        }

        var (code, output, error) = Run("vqa", "--image", photo, "--question", "What is the elephant doing", "--out", folder.Path);

        Assert.True(code == 0, error);
        Assert.Contains("Predicted answer: ", output, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(folder.Path, "report.html")));
    }

    [Fact]
    public void Vqa_BatchOfTheSampleScenes_AnswersAndExplainsEveryQuestionInOneReport()
    {
        using var folder = new TempFolder();
        var (code, output, error) = Run("vqa", "--batch", SampleScenes.Manifest, "--out", folder.Path, "--json", "--steps", "16");

        Assert.True(code == 0, error);
        using var result = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder.Path, "result.json")));
        var answers = result.RootElement.GetProperty("results").EnumerateArray().ToList();
        var expected = SampleScenes.All.SelectMany(s => s.Questions.Select(q => (s.Image, q.Question, q.Answer))).ToList();
        Assert.Equal(expected.Select(e => (e.Image, e.Question)), answers.Select(a => (a.GetProperty("image").GetString()!, a.GetProperty("question").GetString()!)));
        var right = answers.Count(a => a.GetProperty("expected").GetString() == a.GetProperty("answer").GetString());
        Assert.True(right >= 0.9 * answers.Count, $"{right} of {answers.Count} sample questions answered right");
        var report = File.ReadAllText(Path.Combine(folder.Path, "report.html"));
        Assert.All(SampleScenes.All, s => Assert.Contains(Path.GetFileName(s.Image), report, StringComparison.Ordinal));
        Assert.Equal(3 * expected.Count, CountOf(report, "data:image/png;base64,"));
        Assert.Contains("Expected answer: ", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Vqa_BatchWithImage_ExitsNonZeroWithOneLine()
    {
        using var folder = new TempFolder();
        var (code, _, error) = Run("vqa", "--batch", SampleScenes.Manifest, "--image", SampleScenes.All[0].Image, "--out", folder.Path);

        Assert.NotEqual(0, code);
        Assert.Equal("captum: error: --batch takes the images and questions from its file: give it without --image and --question.", error.TrimEnd());
    }

    [Fact]
    public void Vqa_BatchFileThatIsNotOne_ExitsNonZeroNamingIt()
    {
        using var folder = new TempFolder();
        var bad = Path.Combine(folder.Path, "bad.json");
        File.WriteAllText(bad, "{\"images\": []}");

        var (code, _, error) = Run("vqa", "--batch", bad, "--out", folder.Path);

        Assert.NotEqual(0, code);
        Assert.StartsWith($"captum: error: --batch: {bad} is not a batch file", error.TrimEnd(), StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.TrimEnd());
    }

    [Fact]
    public void Vqa_UnreadableImage_ExitsNonZeroWithOneLine()
    {
        using var folder = new TempFolder();
        var notAnImage = CheckpointFiles.PathOf("e2e/expected.json");
        var (code, _, error) = Run(E2eArgs(folder.Path, "--question", "what is it").Select(a => a == CheckpointFiles.PathOf("e2e/image.png") ? notAnImage : a).ToArray());

        Assert.NotEqual(0, code);
        Assert.StartsWith($"captum: error: cannot read image {notAnImage}", error.TrimEnd(), StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.TrimEnd());
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void Vqa_EmptyQuestion_ExitsNonZeroWithOneLine(string question)
    {
        using var folder = new TempFolder();
        var (code, _, error) = Run(E2eArgs(folder.Path, "--question", question));

        Assert.NotEqual(0, code);
        Assert.Equal("captum: error: --question is empty: every question needs at least one word.", error.TrimEnd());
    }

    [Fact]
    public void Vqa_CorruptCheckpoint_ExitsNonZeroNamingTheFile()
    {
        using var folder = new TempFolder();
        var corrupt = Path.Combine(folder.Path, "vqa.pth");
        File.WriteAllBytes(corrupt, File.ReadAllBytes(CheckpointFiles.PathOf("e2e/vqa.pth"))[..1000]);
        var (code, _, error) = Run(E2eArgs(folder.Path, "--question", "what is it").Select(a => a == CheckpointFiles.PathOf("e2e/vqa.pth") ? corrupt : a).ToArray());

        Assert.NotEqual(0, code);
        Assert.Contains(corrupt, error, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.TrimEnd());
    }

    private static void Near(JsonElement expected, JsonElement actual, string name, string question) =>
        NearAll([expected.GetProperty(name).GetDouble()], [actual.GetProperty(name).GetDouble()], $"{question} {name}");

    private static void NearAll(double[] expected, double[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(actual[i] - expected[i]) <= 1e-4 * Math.Abs(expected[i]), $"{what}[{i}]: {actual[i]:G9}, Captum {expected[i]:G9}");
        }
    }

    private static double[] Numbers(JsonElement e, string name) => e.GetProperty(name).EnumerateArray().Select(x => x.GetDouble()).ToArray();

    private static string?[] Strings(JsonElement e, string name) => e.GetProperty(name).EnumerateArray().Select(x => x.GetString()).ToArray();

    private static int CountOf(string text, string part)
    {
        var count = 0;
        for (var i = text.IndexOf(part, StringComparison.Ordinal); i >= 0; i = text.IndexOf(part, i + part.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
