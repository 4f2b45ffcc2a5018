using System.Runtime.Versioning;
using System.Text.Json;
using Captum.Checkpoints;
using Captum.Plugins.Vqa;
using Captum.Plugins.Vqa.Commands;
using Captum.Plugins.Vqa.Model;
using Captum.Plugins.Vqa.Scenes;
using Captum.Tests.Plugins.Vqa.Scenes;
using Captum.Tests.Plugins.Vqa.Tutorial;
using TorchSharp;
using Xunit;

namespace Captum.Tests.Plugins.Vqa.Commands;

/// <summary>
/// <c>captum vqa</c> on the hostile inputs of issue 15: devices and huge files for --batch, sizes that would
/// overflow, outputs that cannot be written, a batch whose later items fail, non-finite outputs, questions the model
/// cannot read. Each is refused with one line naming the input (exit 2) before the work, or, for a failing batch
/// item, recorded while the others are kept (exit 3).
/// </summary>
public sealed class VqaCommandReliabilityTests
{
    private static (int Code, string Output, string Error) Run(params string[] args) => VqaCommandTests.Run(args);

    private static SampleScene Scene => SampleScenes.All[0];

    private static string[] SceneArgs(string outDir, params string[] more) =>
        ["vqa", "--image", Scene.Image, "--question", Scene.Questions[0].Question, "--out", outDir, "--steps", "2", .. more];

    private static string WriteBatch(string folder, string json, string name = "batch.json")
    {
        var path = Path.Combine(folder, name);
        File.WriteAllText(path, json);
        return path;
    }

    private static string Quoted(string path) => JsonSerializer.Serialize(path);

    private static void AssertRefusedBeforeWork(int code, string output, string error, string start)
    {
        Assert.Equal(2, code);
        Assert.True(error.StartsWith("captum: error: " + start, StringComparison.Ordinal), error);
        Assert.Equal(error.TrimEnd(), error.TrimEnd().Split('\n')[0]);
        Assert.DoesNotContain("Model:", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Vqa_BatchIsDevZero_RefusedNamingBatchWithoutReadingIt()
    {
        using var folder = new TempFolder();

        var (code, output, error) = Run("vqa", "--batch", "/dev/zero", "--out", folder.Path);

        AssertRefusedBeforeWork(code, output, error, "--batch: /dev/zero is a character device, not a regular file.");
    }

    [Fact]
    public void Vqa_BatchFileLargerThanTheLimit_RefusedNamingBatchAndTheLimit()
    {
        using var folder = new TempFolder();
        var huge = Path.Combine(folder.Path, "huge.json");
        using (var file = File.Create(huge))
        {
            file.SetLength(BatchFile.MaxBytes + 1); // sparse: reads as zeros
        }

        var (code, output, error) = Run("vqa", "--batch", huge, "--out", folder.Path);

        AssertRefusedBeforeWork(code, output, error, $"--batch: {huge} is larger than 16 MiB, the most it may be.");
    }

    [Fact]
    public void Vqa_BatchEntryImageMissingOrADevice_RefusedNamingTheEntry()
    {
        using var folder = new TempFolder();
        var missing = Path.Combine(folder.Path, "missing.png");
        var batch = WriteBatch(folder.Path, $$"""{"scenes": [{"image": {{Quoted(Scene.Image)}}, "questions": ["what color is the circle"]}, {"image": "missing.png", "questions": ["what is it"]}]}""");
        var device = WriteBatch(folder.Path, """{"scenes": [{"image": "/dev/zero", "questions": ["what is it"]}]}""", "device.json");

        var (code, output, error) = Run("vqa", "--batch", batch, "--out", folder.Path);
        var (deviceCode, deviceOutput, deviceError) = Run("vqa", "--batch", device, "--out", folder.Path);

        AssertRefusedBeforeWork(code, output, error, $"--batch {batch}: scenes[1].image: file not found: {missing}");
        AssertRefusedBeforeWork(deviceCode, deviceOutput, deviceError, $"--batch {device}: scenes[0].image: /dev/zero is a character device");
    }

    [Fact]
    public void Vqa_BatchEntryEmptyQuestion_RefusedNamingTheEntryNotQuestion()
    {
        using var folder = new TempFolder();
        var batch = WriteBatch(folder.Path, $$"""{"scenes": [{"image": {{Quoted(Scene.Image)}}, "questions": ["what color is the circle", {"question": "  ", "answer": "red"}]}]}""");

        var (code, output, error) = Run("vqa", "--batch", batch, "--out", folder.Path);

        AssertRefusedBeforeWork(code, output, error, $"--batch {batch}: scenes[0].questions[1] is empty: every question needs at least one word.");
    }

    [Theory]
    [InlineData("50000")]
    [InlineData("2147483647")]
    public void Vqa_HugeImageSize_RefusedNamingTheOptionBeforeLoading(string size)
    {
        using var folder = new TempFolder();

        var (code, output, error) = Run(SceneArgs(folder.Path, "--image-size", size));

        AssertRefusedBeforeWork(code, output, error, $"--image-size must be at most 4096 (an attribution holds many copies of the image at once), not {size}.");
    }

    [Fact]
    public void Vqa_OneStepOverTheDefaultMemoryBudget_AnswersAndWarnsNamingImageSize()
    {
        using var folder = new TempFolder();

        (int Code, string Output, string Error) run;
        using (Captum.Attr.MemoryBudget.WithDefaultBytes(1))
        {
            run = Run(SceneArgs(folder.Path, "--image-size", "96"));
        }

        Assert.True(run.Code == 0, run.Error);
        var warning = Assert.Single(run.Error.Split('\n'), l => l.StartsWith("captum: warning: layer-ig: one integration step of the whole batch needs about ", StringComparison.Ordinal));
        Assert.EndsWith("more than the default memory budget of 1 bytes; it ran anyway, one at a time, beyond the budget; a smaller --image-size needs less.", warning.TrimEnd(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0.001", "32000 x 32000")]
    [InlineData("0.0001", "320000 x 320000")]
    [InlineData("1E-300", "3.2E+301 x 3.2E+301")]
    public void Vqa_TinyCentralFraction_RefusedNamingTheOptionBeforeLoading(string fraction, string resized)
    {
        using var folder = new TempFolder();

        var (code, output, error) = Run(SceneArgs(folder.Path, "--central-fraction", fraction));

        AssertRefusedBeforeWork(code, output, error, $"--central-fraction {fraction} with an image size of at least 32 resizes every image to at least {resized} pixels, more than --max-image-pixels (89,478,485); raise --central-fraction to at least 0.0034.");
    }

    [Fact]
    public void Vqa_TinyCentralFractionWithImageSize_NamesThatSize()
    {
        using var folder = new TempFolder();

        var (code, output, error) = Run(SceneArgs(folder.Path, "--image-size", "64", "--central-fraction", "0.0001"));

        AssertRefusedBeforeWork(code, output, error, "--central-fraction 0.0001 with image size 64 resizes every image to at least 640000 x 640000 pixels");
    }

    [Fact]
    public void Vqa_ImageOverMaxImagePixels_RefusedFromItsHeaderAndAcceptedWhenRaised()
    {
        using var folder = new TempFolder();
        var image = Path.Combine(folder.Path, "photo.jpg");
        TestImages.Jpeg(image, 200);
        string[] args = ["vqa", "--image", image, "--question", "what color is the circle", "--out", folder.Path, "--steps", "2"];

        var (code, output, error) = Run([.. args, "--max-image-pixels", "30000"]);
        var (raisedCode, _, raisedError) = Run([.. args, "--max-image-pixels", "40000"]);

        AssertRefusedBeforeWork(code, output, error, $"--image: cannot read image {image}: 200 x 200 is 40,000 pixels, more than max-image-pixels (30,000)");
        Assert.True(raisedCode == 0, raisedError);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("715827883")]
    public void Vqa_MaxImagePixelsOutOfRange_RefusedNamingTheOption(string pixels)
    {
        using var folder = new TempFolder();

        var (code, output, error) = Run(SceneArgs(folder.Path, "--max-image-pixels", pixels));

        AssertRefusedBeforeWork(code, output, error, $"--max-image-pixels must be in [1, 715827882], not {pixels}.");
    }

    [Fact]
    public void Vqa_MaxImagePixelsBelowTheNetsImage_RefusedNamingTheOption()
    {
        using var folder = new TempFolder();

        var (code, output, error) = Run(SceneArgs(folder.Path, "--image-size", "64", "--max-image-pixels", "1000"));

        AssertRefusedBeforeWork(code, output, error, "--max-image-pixels 1000 is less than the 4096 pixels of the 64 x 64 image the net sees; raise it to at least that.");
    }

    [Fact]
    public void Vqa_CheckpointIsADevice_RefusedNamingCheckpoint()
    {
        using var folder = new TempFolder();

        var (code, output, error) = Run(SceneArgs(folder.Path, "--checkpoint", "/dev/zero"));

        AssertRefusedBeforeWork(code, output, error, "--checkpoint: /dev/zero is a character device, not a regular file.");
    }

    [Fact]
    public void Vqa_OutIsAFile_RefusedNamingOutAndLeftAsItWas()
    {
        using var folder = new TempFolder();
        var file = Path.Combine(folder.Path, "notes.txt");
        File.WriteAllText(file, "mine");

        var (code, output, error) = Run(SceneArgs(file));
        var (underCode, underOutput, underError) = Run(SceneArgs(Path.Combine(file, "out")));

        AssertRefusedBeforeWork(code, output, error, $"--out: {file} is a file, not a folder.");
        AssertRefusedBeforeWork(underCode, underOutput, underError, $"--out: {file} is a file, so the folder {Path.Combine(file, "out")} cannot be made.");
        Assert.Equal("mine", File.ReadAllText(file));
    }

    [Theory]
    [InlineData("report.html", false)]
    [InlineData("result.json", true)]
    public void Vqa_OutputFileIsAFolder_RefusedNamingOutBeforeComputing(string name, bool json)
    {
        using var folder = new TempFolder();
        var blocking = Path.Combine(folder.Path, name);
        Directory.CreateDirectory(blocking);

        var (code, output, error) = Run(SceneArgs(folder.Path, json ? ["--json"] : []));

        AssertRefusedBeforeWork(code, output, error, $"--out: {blocking} is a folder, so {name} cannot be written.");
        Assert.Equal([blocking], Directory.GetFileSystemEntries(folder.Path));
    }

    [Fact]
    [SupportedOSPlatform("linux")]
    public void Vqa_OutInAFolderThatCannotBeWritten_RefusedNamingOutLeavingNothing()
    {
        using var folder = new TempFolder();
        var readOnly = Path.Combine(folder.Path, "read-only");
        Directory.CreateDirectory(readOnly);
        File.SetUnixFileMode(readOnly, UnixFileMode.UserRead | UnixFileMode.UserExecute);

        // Permission bits do not bind root (CI's user): sysfs refuses new files to everyone.
        var unwritable = CanCreateFileIn(readOnly) ? "/sys" : readOnly;
        var (code, output, error) = Run(SceneArgs(Path.Combine(unwritable, "out")));

        File.SetUnixFileMode(readOnly, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        AssertRefusedBeforeWork(code, output, error, $"--out: cannot write in {unwritable} (");
        Assert.Empty(Directory.GetFileSystemEntries(readOnly));
    }

    [Fact]
    public void Vqa_BatchWhoseSecondImageDoesNotDecode_KeepsTheFirstAnswerListsTheFailureAndExitsThree()
    {
        using var folder = new TempFolder();
        var broken = Path.Combine(folder.Path, "broken.png");
        TestImages.PngThatDoesNotDecode(broken); // whole: passes every check before the work, fails when decoded
        var (question, answer) = Scene.Questions[0];
        var batch = WriteBatch(folder.Path, $$"""{"scenes": [{"image": {{Quoted(Scene.Image)}}, "questions": [{"question": "{{question}}", "answer": "{{answer}}"}]}, {"image": "broken.png", "questions": ["what color is the square"]}]}""");
        var outDir = Path.Combine(folder.Path, "out");

        var (code, output, error) = Run("vqa", "--batch", batch, "--out", outDir, "--json", "--steps", "2");

        Assert.Equal(VqaCommand.PartialFailureExitCode, code);
        Assert.Contains($"captum: error: --batch {batch}: scenes[1].questions[0] 'what color is the square': cannot read image {broken}", error, StringComparison.Ordinal);
        Assert.Contains($"captum: 1 of 2 questions failed (listed above and in result.json); the 1 answered are in {outDir}.", error, StringComparison.Ordinal);
        Assert.Contains($"Question: {question}", output, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "result.json")));
        var result = Assert.Single(json.RootElement.GetProperty("results").EnumerateArray());
        Assert.Equal(question, result.GetProperty("question").GetString());
        var failure = Assert.Single(json.RootElement.GetProperty("failures").EnumerateArray());
        Assert.Equal($"--batch {batch}: scenes[1].questions[0]", failure.GetProperty("entry").GetString());
        Assert.Equal(broken, failure.GetProperty("image").GetString());
        Assert.StartsWith($"cannot read image {broken}", failure.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Contains(question, File.ReadAllText(Path.Combine(outDir, "report.html")), StringComparison.Ordinal);
    }

    [Fact]
    public void Vqa_EveryQuestionFails_ExitsTwoWritingNothing()
    {
        using var folder = new TempFolder();
        var broken = Path.Combine(folder.Path, "broken.png");
        TestImages.PngThatDoesNotDecode(broken);
        var outDir = Path.Combine(folder.Path, "out");

        var (code, _, error) = Run("vqa", "--image", broken, "--question", "what color is the circle", "--out", outDir, "--json", "--steps", "2");

        Assert.Equal(VqaCommand.FailedExitCode, code);
        Assert.StartsWith($"captum: error: --question 'what color is the circle': cannot read image {broken}", error, StringComparison.Ordinal);
        Assert.Single(error.TrimEnd().Split('\n'));
        Assert.False(Directory.Exists(outDir));
    }

    [Fact]
    public void Vqa_BatchWithAQuestionOverTheWordLimit_RefusedBeforeAnyQuestionNamingIt()
    {
        using var folder = new TempFolder();
        var overlong = string.Join(' ', Enumerable.Repeat("what color is the square", 21));
        var batch = WriteBatch(folder.Path, $$"""{"scenes": [{"image": {{Quoted(Scene.Image)}}, "questions": ["{{Scene.Questions[0].Question}}", "{{overlong}}"]}]}""");
        var outDir = Path.Combine(folder.Path, "out");

        var (code, output, error) = Run("vqa", "--batch", batch, "--out", outDir, "--steps", "2");

        AssertRefusedBeforeWork(code, output, error, $"--batch {batch}: scenes[0].questions[1] '{overlong}': the question has 105 words; the model reads at most 100.");
        Assert.False(Directory.Exists(outDir));
    }

    [Fact]
    public void Vqa_WeightsThatOverflowFloat32_AClearErrorNotProbabilityNaN()
    {
        using var folder = new TempFolder();
        var checkpoint = Path.Combine(folder.Path, "overflowing.pth");
        using (var shipped = SceneCheckpoint.LoadDefault())
        {
            // A net built here, not VqaModel.LoadDefault's: see the note on BuildNet.
            var weights = TorchCheckpoint.StateDict(shipped, "weights");
            using var net = BuildNet(weights);
            using var noGrad = torch.no_grad();

            // Finite, so the loader's NaN check lets them through; their products are not.
            var parameters = net.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            parameters["classifier.lin1.bias"].fill_(1e30);
            parameters["classifier.lin2.weight"].fill_(3e38);
            SceneCheckpoint.Save(net, checkpoint, 64, ImageBaseline.Zero, new Dictionary<string, object?>());
        }

        var outDir = Path.Combine(folder.Path, "out");
        var (code, output, error) = Run(["vqa", "--checkpoint", checkpoint, "--image", Scene.Image, "--question", Scene.Questions[0].Question, "--out", outDir, "--json", "--steps", "2"]);

        Assert.Equal(2, code);
        Assert.True(error.StartsWith($"captum: error: --question '{Scene.Questions[0].Question}': the model's output is not finite (", StringComparison.Ordinal), error);
        Assert.Single(error.TrimEnd().Split('\n'));
        Assert.DoesNotContain("NaN", output, StringComparison.Ordinal);
        Assert.False(Directory.Exists(outDir));

        // captum explain over the same model says the same, prints no NaN answer and makes no folder.
        var (explainCode, explainOutput, explainError) = Run(["explain", "--model", "vqa", "--checkpoint", checkpoint, "--input", "image=" + Scene.Image, "--input", "question=" + Scene.Questions[0].Question, "--out", outDir, "--steps", "2"]);
        Assert.Equal(2, explainCode);
        Assert.Contains("model's output is not finite (NaN or infinite) for this input", explainError, StringComparison.Ordinal);
        Assert.DoesNotContain("NaN)", explainOutput, StringComparison.Ordinal);
        Assert.False(Directory.Exists(outDir));
    }

    [Fact]
    public void Vqa_QuestionWithNoKnownWord_RefusedNamingItBeforeComputing()
    {
        using var folder = new TempFolder();

        var (code, output, error) = Run("vqa", "--image", Scene.Image, "--question", "xyzzy plugh", "--out", folder.Path);

        Assert.Equal(2, code);
        Assert.StartsWith("captum: error: --question 'xyzzy plugh': no word of it is in the model's vocabulary of ", error, StringComparison.Ordinal);
        Assert.DoesNotContain("Question:", output, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(folder.Path, "report.html")));
    }

    [Fact]
    public void Vqa_QuestionOfOneUnknownWordRepeated_RefusedBeforeComputingAsOneUnknownWordIs()
    {
        using var folder = new TempFolder();

        var (code, output, error) = Run("vqa", "--image", Scene.Image, "--question", "xyzzy xyzzy", "--out", folder.Path);

        AssertRefusedBeforeWork(code, output, error, "--question 'xyzzy xyzzy': no word of it is in the model's vocabulary of ");
        Assert.False(File.Exists(Path.Combine(folder.Path, "report.html")));
    }

    [Fact]
    public void Vqa_BatchQuestionWithNoKnownWord_NamesTheEntry()
    {
        using var folder = new TempFolder();
        var batch = WriteBatch(folder.Path, $$"""{"scenes": [{"image": {{Quoted(Scene.Image)}}, "questions": ["what color is the circle", "quelle couleur"]}]}""");

        var (code, _, error) = Run("vqa", "--batch", batch, "--out", folder.Path);

        Assert.Equal(2, code);
        Assert.StartsWith($"captum: error: --batch {batch}: scenes[0].questions[1] 'quelle couleur': no word of it is in the model's vocabulary", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Vqa_QuestionWithSomeUnknownWords_AnswersAndWarnsNamingThem()
    {
        using var folder = new TempFolder();

        var (code, _, error) = Run("vqa", "--image", Scene.Image, "--question", "what colour is the circle", "--out", folder.Path, "--steps", "2");

        Assert.True(code == 0, error);
        Assert.Contains("captum: warning: --question 'what colour is the circle': the model does not know 'colour'; read as padding.", error, StringComparison.Ordinal);
    }

    /// <summary>
    /// The scenes net with <paramref name="weights"/>. (The net of a model from VqaModel.LoadDefault cannot be saved
    /// whole: its question encoder's parameters are missing from its state_dict after the load's dispose scope.)
    /// </summary>
    private static VqaNet BuildNet(IReadOnlyDictionary<string, TorchSharp.torch.Tensor> weights)
    {
        var backbone = weights.Where(kv => kv.Key.StartsWith("resnet_layer4.", StringComparison.Ordinal)).ToDictionary(kv => kv.Key["resnet_layer4.".Length..], kv => kv.Value, StringComparer.Ordinal);
        var net = new VqaNet(VqaConfig.FromStateDict(weights), new SceneBackbone(SceneBackboneConfig.FromStateDict(backbone)));
        TorchCheckpoint.LoadStateDict(net, weights);
        return net;
    }

    private static bool CanCreateFileIn(string folder)
    {
        try
        {
            using var probe = new FileStream(Path.Combine(folder, "probe"), FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose);
            return true;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }
}
