using System.Text.Json;
using Captum.Cli;
using Captum.Plugins.Vqa.Commands;
using Captum.Tests.Checkpoints;
using Captum.Tests.Plugins.Vqa.Scenes;
using Xunit;

namespace Captum.Tests.Plugins.Vqa.Commands;

/// <summary>The VQA plugin's <c>captum vqa</c>, run in-process by the captum command with the plugins bundled beside it.</summary>
public sealed class VqaCommandTests
{
    private static string Plugins => Path.Combine(BuildOutputs.Of(Path.Combine("src", "Captum.Cli")), "plugins");

    internal static (int Code, string Output, string Error) Run(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = CaptumCli.Run(["--plugins", Plugins, .. args], output, error);
        return (code, output.ToString(), error.ToString());
    }

    internal static string[] E2eArgs(string outDir, params string[] more) =>
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
            // The delta is the completeness gap: text + image contributions - (F(input) - F(baseline)), so it is
            // the total contribution minus the logit difference; with the total near the logit gap it stays small.
            var total = a.GetProperty("textContribution").GetDouble() + a.GetProperty("imageContribution").GetDouble();
            Assert.Equal(total, a.GetProperty("totalContribution").GetDouble(), 1e-5);
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
    public void Vqa_InternalBatchSize_GivesTheSameNumbers()
    {
        using var whole = new TempFolder();
        using var chunked = new TempFolder();
        string[] question = ["--question", "what color is the elephant", "--steps", "12", "--json"];

        var (code1, _, error1) = Run(E2eArgs(whole.Path, question));
        var (code2, _, error2) = Run(E2eArgs(chunked.Path, [.. question, "--internal-batch-size", "5"]));

        Assert.True(code1 == 0, error1);
        Assert.True(code2 == 0, error2);
        using var a = JsonDocument.Parse(File.ReadAllText(Path.Combine(whole.Path, "result.json")));
        using var b = JsonDocument.Parse(File.ReadAllText(Path.Combine(chunked.Path, "result.json")));
        var x = a.RootElement.GetProperty("results")[0];
        var y = b.RootElement.GetProperty("results")[0];
        NearAll(Numbers(x, "tokenAttributions"), Numbers(y, "tokenAttributions"), "tokenAttributions");
        Near(x, y, "imageContribution", "chunked");
    }

    [Fact]
    public void Vqa_SeveralMethods_ReportsThemSideBySide()
    {
        using var folder = new TempFolder();
        var (code, output, error) = Run(E2eArgs(folder.Path, "--question", "what color is the elephant", "--steps", "16", "--json", "--method", "layer-ig,gradient-x-activation", "--method", "occlusion", "--method", "interpretable-embedding"));

        Assert.True(code == 0, error);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder.Path, "result.json")));
        var result = json.RootElement.GetProperty("results")[0];
        var methods = result.GetProperty("methods");
        Assert.Equal(["layer-ig", "gradient-x-activation", "occlusion", "interpretable-embedding"], methods.EnumerateObject().Select(p => p.Name));

        // The tutorial's two setups agree; the first method's numbers are also the top-level ones.
        NearAll(Numbers(methods.GetProperty("layer-ig"), "tokenAttributions"), Numbers(methods.GetProperty("interpretable-embedding"), "tokenAttributions"), "options (1) and (2)");
        NearAll(Numbers(methods.GetProperty("layer-ig"), "tokenAttributions"), Numbers(result, "tokenAttributions"), "top level");
        Assert.Equal(JsonValueKind.Null, methods.GetProperty("occlusion").GetProperty("delta").ValueKind);
        Assert.Equal(5, Numbers(methods.GetProperty("occlusion"), "tokenAttributions").Length);
        Assert.Contains("[occlusion] Image Contributions: ", output, StringComparison.Ordinal);

        var report = File.ReadAllText(Path.Combine(folder.Path, "report.html"));
        foreach (var name in new[] { "layer-ig", "gradient-x-activation", "occlusion", "interpretable-embedding" })
        {
            Assert.Contains($"Attribution Magnitude ({name})", report, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Vqa_UnknownMethod_ExitsNonZeroListingTheMethods()
    {
        using var folder = new TempFolder();
        var (code, _, error) = Run(E2eArgs(folder.Path, "--question", "what is it", "--method", "magic"));

        Assert.Equal(2, code);
        Assert.Contains("unknown method 'magic'", error, StringComparison.Ordinal);
        Assert.Contains("occlusion", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Vqa_PluginStrategy_IsOfferedAndRunsBesideTheBuiltInOnes()
    {
        using var folder = new TempFolder();
        var minimal = Path.Combine(folder.Path, "plugins", "Captum.Plugins.Minimal");
        BuildOutputs.Copy(BuildOutputs.Of(Path.Combine("tests", "TestPlugins", "Captum.Plugins.Minimal")), minimal);
        var scene = SampleScenes.All[0];
        string[] args = ["--plugins", minimal, "vqa", "--image", scene.Image, "--question", scene.Questions[0].Question, "--out", folder.Path, "--json", "--steps", "4", "--method", "layer-ig,token-drop"];

        var (code, output, error) = Run(args);
        var (_, help, _) = Run("--plugins", minimal, "vqa", "--help");

        Assert.True(code == 0, error);
        Assert.Contains("layer-ig, interpretable-embedding, gradient-x-activation, occlusion, token-drop", help, StringComparison.Ordinal);
        Assert.Contains("[token-drop] Text Contributions: ", output, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder.Path, "result.json")));
        var result = json.RootElement.GetProperty("results")[0];
        var drop = result.GetProperty("methods").GetProperty("token-drop");
        Assert.Equal(Strings(result, "tokens").Length, Numbers(drop, "tokenAttributions").Length);
        Assert.Contains(Numbers(drop, "tokenAttributions"), t => t != 0);
        Assert.Equal(0, drop.GetProperty("imageContribution").GetDouble());
        Assert.Equal(JsonValueKind.Null, drop.GetProperty("delta").ValueKind);
        Assert.Contains("Attribution Magnitude (token-drop)", File.ReadAllText(Path.Combine(folder.Path, "report.html")), StringComparison.Ordinal);
    }

    [Fact]
    public void Vqa_UnknownMethodWithAPluginStrategy_NamesMethodAndEveryKnownName()
    {
        using var folder = new TempFolder();
        var minimal = Path.Combine(folder.Path, "Captum.Plugins.Minimal");
        BuildOutputs.Copy(BuildOutputs.Of(Path.Combine("tests", "TestPlugins", "Captum.Plugins.Minimal")), minimal);

        var (code, _, error) = Run(["--plugins", minimal, .. E2eArgs(folder.Path, "--question", "what is it", "--method", "layer-ig,magic")]);

        Assert.Equal(2, code);
        Assert.Equal("captum: error: --method: unknown method 'magic'; choose from layer-ig, interpretable-embedding, gradient-x-activation, occlusion, token-drop.", error.TrimEnd());
        Assert.False(File.Exists(Path.Combine(folder.Path, "report.html")));
    }

    [Fact]
    public void Vqa_UnknownResnetVariant_IsRefusedWhileParsing()
    {
        using var folder = new TempFolder();
        var (code, _, error) = Run(E2eArgs(folder.Path, "--question", "what is it", "--resnet-variant", "keras"));

        Assert.Equal(1, code);
        Assert.Contains("'keras' not recognized", error, StringComparison.Ordinal);
        Assert.Contains("torchvision", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Vqa_CentralFractionOutOfRange_ExitsNonZeroNamingTheOption()
    {
        using var folder = new TempFolder();
        var (code, _, error) = Run(E2eArgs(folder.Path, "--question", "what is it", "--central-fraction", "1.5"));

        Assert.Equal(2, code);
        Assert.Equal("captum: error: --central-fraction must be in (0, 1], not 1.5.", error.TrimEnd());
    }

    [Theory]
    [InlineData("--internal-batch-size", "0")]
    [InlineData("--steps", "0")]
    [InlineData("--steps", "2147483647")]
    [InlineData("--image-size", "8")]
    public void Vqa_OutOfRangeNumber_ExitsNonZeroNamingTheOption(string option, string value)
    {
        using var folder = new TempFolder();
        var args = E2eArgs(folder.Path, "--question", "what is it").ToList();
        var at = args.IndexOf(option);
        if (at >= 0)
        {
            args[at + 1] = value;
        }
        else
        {
            args.AddRange([option, value]);
        }

        var (code, _, error) = Run([.. args]);

        Assert.Equal(2, code);
        Assert.StartsWith($"captum: error: {option} must be at {(value.Length > 5 ? "most" : "least")}", error.TrimEnd(), StringComparison.Ordinal);
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
        Assert.DoesNotContain("warning", error, StringComparison.Ordinal);

        // Again without --json: result.json is the user's to keep, but the run says it no longer matches.
        var before = File.ReadAllText(Path.Combine(folder.Path, "result.json"));
        var (againCode, _, againError) = Run("vqa", "--image", scene.Image, "--question", scene.Questions[1].Question, "--out", folder.Path, "--steps", "4");
        Assert.True(againCode == 0, againError);
        Assert.Contains($"captum: warning: {Path.Combine(folder.Path, "result.json")} is from an earlier run", againError, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllText(Path.Combine(folder.Path, "result.json")));
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
    public void BatchFileRead_NumericAnswer_ReadsItAsText()
    {
        using var folder = new TempFolder();
        var path = Path.Combine(folder.Path, "batch.json");
        File.WriteAllText(path, """{"scenes": [{"image": "a.png", "questions": [{"question": "how many circles are there", "answer": 2}, "what color is the circle"]}]}""");

        var items = BatchFile.Read(path);

        var image = Assert.Single(items);
        Assert.Equal(Path.Combine(folder.Path, "a.png"), image.Path);
        Assert.Equal($"--batch {path}: scenes[0].image", image.Label);
        Assert.Equal(
            [new VqaQuestion("how many circles are there", "2", $"--batch {path}: scenes[0].questions[0]"), new VqaQuestion("what color is the circle", null, $"--batch {path}: scenes[0].questions[1]")],
            image.Questions);
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
        Assert.StartsWith($"captum: error: --image: cannot read image {notAnImage}", error.TrimEnd(), StringComparison.Ordinal);
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
