using System.Globalization;
using System.Text.Json.Nodes;
using Captum.Cli;
using Captum.Tests.Plugins.Vqa.Commands;
using Xunit;

namespace Captum.Tests.Cli;

/// <summary>
/// <c>captum explain</c>: any loaded model by name, the same result.json and report as <c>captum vqa</c>; on the minimal
/// test plugin's model, the attributions its weights give.
/// </summary>
public sealed class ExplainCommandTests
{
    private static string Scene => Directory.GetFiles(Path.Combine(GettingStartedDocsRoot(), "samples", "scenes"), "*.png").Order(StringComparer.Ordinal).First();

    [Fact]
    public void Explain_VqaModel_SameNumbersAsTheVqaCommand()
    {
        using var folder = new TempFolder();
        var viaExplain = Path.Combine(folder.Path, "explain");
        var viaVqa = Path.Combine(folder.Path, "vqa");

        var (code, output, error) = BundledCli.Run("explain", "--model", "vqa", "--input", "image=" + Scene, "--input", "question=what color is the circle", "--method", "layer-ig,occlusion", "--steps", "8", "--out", viaExplain, "--json");
        var (vqaCode, _, vqaError) = BundledCli.Run("vqa", "--image", Scene, "--question", "what color is the circle", "--method", "layer-ig,occlusion", "--steps", "8", "--out", viaVqa, "--json");

        Assert.True(code == 0, error);
        Assert.True(vqaCode == 0, vqaError);
        Assert.Contains("Predicted answer:", output, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(viaExplain, "report.html")));
        var mine = JsonNode.Parse(File.ReadAllText(Path.Combine(viaExplain, "result.json")))!["results"]![0]!;
        var theirs = JsonNode.Parse(File.ReadAllText(Path.Combine(viaVqa, "result.json")))!["results"]![0]!;
        Assert.Equal(theirs["answer"]!.GetValue<string>(), mine["answer"]!.GetValue<string>());
        foreach (var method in new[] { "layer-ig", "occlusion" })
        {
            foreach (var field in new[] { "textContribution", "imageContribution", "totalContribution" })
            {
                Assert.Equal(theirs["methods"]![method]![field]!.GetValue<double>(), mine["methods"]![method]![field]!.GetValue<double>(), 6);
            }

            // Every input's contribution by its name: for the VQA model, the image's and the question's.
            var contributions = mine["methods"]![method]!["contributions"]!.AsObject();
            Assert.Equal(["image", "question"], contributions.Select(c => c.Key).Order());
            Assert.Equal(mine["methods"]![method]!["imageContribution"]!.GetValue<double>(), contributions["image"]!.GetValue<double>(), 9);
            Assert.Equal(mine["methods"]![method]!["textContribution"]!.GetValue<double>(), contributions["question"]!.GetValue<double>(), 9);
        }
    }

    [Fact]
    public void Explain_DefaultMemoryBudget_RecordsEachMethodsPassSizeAndWarnsWhenOneStepExceedsIt()
    {
        using var folder = new TempFolder();
        string[] Args(string name) => ["explain", "--model", "vqa", "--input", "image=" + Scene, "--input", "question=what color is the circle", "--method", "layer-ig,occlusion", "--steps", "8", "--out", Path.Combine(folder.Path, name), "--json"];
        JsonNode Methods(string name) => JsonNode.Parse(File.ReadAllText(Path.Combine(folder.Path, name, "result.json")))!["results"]![0]!["methods"]!;
        (int Code, string Output, string Error) ample, tight;

        using (Captum.Attr.MemoryBudget.WithDefaultBytes(64L << 30))
        {
            ample = BundledCli.Run(Args("ample"));
        }

        using (Captum.Attr.MemoryBudget.WithDefaultBytes(1))
        {
            tight = BundledCli.Run(Args("tight"));
        }

        Assert.True(ample.Code == 0, ample.Error);
        Assert.True(tight.Code == 0, tight.Error);
        // Ample: every step in one pass, and the most perturbations a pass may hold.
        Assert.Equal(8, Methods("ample")["layer-ig"]!["internalBatchSize"]!.GetValue<int>());
        Assert.Null(Methods("ample")["layer-ig"]!["perturbationsPerEval"]);
        Assert.Equal(Captum.Attr.PerturbationOptions.AutomaticPerturbationRows, Methods("ample")["occlusion"]!["perturbationsPerEval"]!.GetValue<int>());
        Assert.Null(Methods("ample")["occlusion"]!["internalBatchSize"]);
        Assert.DoesNotContain("memory budget", ample.Error, StringComparison.Ordinal);
        // A budget below one step: one step (one perturbation) per pass, and a warning for each method.
        Assert.Equal(1, Methods("tight")["layer-ig"]!["internalBatchSize"]!.GetValue<int>());
        Assert.Equal(1, Methods("tight")["occlusion"]!["perturbationsPerEval"]!.GetValue<int>());
        Assert.Contains("captum: warning: layer-ig: one integration step of the whole batch needs about ", tight.Error, StringComparison.Ordinal);
        Assert.Contains("captum: warning: occlusion: one perturbation of the whole batch needs about ", tight.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, "positive", 0.5)]
    [InlineData("negative", "negative", -0.5)]
    public void Explain_MinimalPluginModel_WritesTheAttributionsItsWeightsGive(string? target, string explained, double goodAttribution)
    {
        // The minimal plugin's bag of words: "good" embeds as (1, 0), "movie" as (0.1, 0.1), the pad as (0, 0); the
        // classes are negative = e1 - e0 and positive = e0 - e1 of the mean embedding. "good movie" averages to
        // (0.55, 0.05): logits (-0.5, 0.5), the explained class's probability sigmoid(+-1). Dropping "good" leaves
        // (0.05, 0.05), both logits 0, so it moves the explained class's logit by +-0.5; dropping "movie" leaves
        // (0.5, 0) and moves nothing. The model is linear from the embedding, so Layer IG on it gives the same, with no
        // delta. With --target negative, the explained class is not the predicted one, and the output says so.
        using var root = new TempFolder();
        BuildOutputs.Copy(BuildOutputs.Of(Path.Combine("tests", "TestPlugins", "Captum.Plugins.Minimal")), Path.Combine(root.Path, "plugins", "Captum.Plugins.Minimal"));
        var outFolder = Path.Combine(root.Path, "out");
        string[] targetArgs = target is null ? [] : ["--target", target];
        using var output = new StringWriter();
        using var error = new StringWriter();

        var code = CaptumCli.Run(
            ["--plugins", Path.Combine(root.Path, "plugins"), "explain", "--model", "bag-of-words", "--input", "text=good movie", "--method", "token-drop,layer-ig", "--steps", "8", "--out", outFolder, "--json", .. targetArgs],
            output,
            error);

        Assert.True(code == 0, error.ToString());
        var probability = 1 / (1 + Math.Exp(-2 * goodAttribution));
        var heading = target is null
            ? string.Create(CultureInfo.InvariantCulture, $"Predicted answer: {explained} (probability {probability:0.0000})")
            : string.Create(CultureInfo.InvariantCulture, $"Explained answer: {explained} (probability {probability:0.0000}), the --target; predicted answer: positive");
        Assert.Contains(heading, output.ToString(), StringComparison.Ordinal);
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"[token-drop] text contribution: {goodAttribution}"), output.ToString(), StringComparison.Ordinal);
        var result = JsonNode.Parse(File.ReadAllText(Path.Combine(outFolder, "result.json")))!["results"]![0]!;
        Assert.Equal(["good", "movie"], result["tokens"]!.AsArray().Select(t => t!.GetValue<string>()));
        Assert.Equal(explained, result["answer"]!.GetValue<string>());
        Assert.Equal(probability, result["probability"]!.GetValue<double>(), 5);
        var logits = result["logits"]!.AsArray().Select(l => l!.GetValue<double>()).ToArray();
        Assert.Equal(-0.5, logits[0], 5);
        Assert.Equal(0.5, logits[1], 5);
        foreach (var method in new[] { "token-drop", "layer-ig" })
        {
            var attributions = result["methods"]![method]!["tokenAttributions"]!.AsArray().Select(a => a!.GetValue<double>()).ToArray();
            Assert.Equal(2, attributions.Length);
            Assert.Equal(goodAttribution, attributions[0], 5);
            Assert.Equal(0.0, attributions[1], 5);
            Assert.Equal(goodAttribution, result["methods"]![method]!["totalContribution"]!.GetValue<double>(), 5);
            var contribution = Assert.Single(result["methods"]![method]!["contributions"]!.AsObject());
            Assert.Equal(goodAttribution, contribution.Value!.GetValue<double>(), 5);
        }

        Assert.Equal(goodAttribution, Assert.Single(result["contributions"]!.AsObject()).Value!.GetValue<double>(), 5);

        Assert.Equal(0.0, result["methods"]!["layer-ig"]!["delta"]!.GetValue<double>(), 5);
        var report = File.ReadAllText(Path.Combine(outFolder, "report.html"));
        Assert.Contains("good movie", report, StringComparison.Ordinal);
        Assert.Contains("token-drop", report, StringComparison.Ordinal);
        Assert.Contains(target is null ? "Predicted answer: positive" : "not the predicted answer positive", report, StringComparison.Ordinal);
    }

    [Fact]
    public void Explain_StoryModel_AnswersTheStoryAndAttributesEachPromptWord()
    {
        using var folder = new TempFolder();
        const string Prompt = "john went to the kitchen . mary went to the garden . john moved to the office . where is mary ?";

        var (code, output, error) = BundledCli.Run("explain", "--model", "story", "--input", "prompt=" + Prompt, "--method", "occlusion", "--out", folder.Path, "--json");

        Assert.True(code == 0, error);
        Assert.Contains("Predicted answer: garden", output, StringComparison.Ordinal);
        var result = JsonNode.Parse(File.ReadAllText(Path.Combine(folder.Path, "result.json")))!["results"]![0]!;
        Assert.Equal(Prompt.Split(' '), result["tokens"]!.AsArray().Select(t => t!.GetValue<string>()));
        Assert.Equal(Prompt.Split(' ').Length, result["tokenAttributions"]!.AsArray().Count);
    }

    [Fact]
    public void Explain_BlurBaseline_RecordedAndChangesTheImagesContribution()
    {
        using var folder = new TempFolder();
        var contributions = new Dictionary<string, double>();
        foreach (var baseline in new[] { "model", "blur" })
        {
            var outFolder = Path.Combine(folder.Path, baseline);
            var (code, _, error) = BundledCli.Run("explain", "--model", "vqa", "--input", "image=" + Scene, "--input", "question=what color is the circle", "--steps", "8", "--baseline", baseline, "--out", outFolder, "--json");
            Assert.True(code == 0, error);
            var document = JsonNode.Parse(File.ReadAllText(Path.Combine(outFolder, "result.json")))!;
            Assert.Equal(baseline, document["baseline"]!.GetValue<string>());
            contributions[baseline] = document["results"]![0]!["imageContribution"]!.GetValue<double>();
        }

        Assert.NotEqual(contributions["model"], contributions["blur"]);

        var (badCode, _, badError) = BundledCli.Run("explain", "--model", "vqa", "--input", "image=" + Scene, "--input", "question=what color is the circle", "--baseline", "black", "--out", folder.Path);
        Assert.Equal(2, badCode);
        Assert.Contains("--baseline must be one of model, zero, blur, not 'black'", badError, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("story", "prompt=", "occlusion", "prompt: the prompt is empty")]
    [InlineData("no-such-model", "image=a.png", "layer-ig", "no-such-model")]
    [InlineData("vqa", "picture=a.png", "layer-ig", "no input 'picture'")]
    [InlineData("vqa", "image", "layer-ig", "--input takes NAME=VALUE")]
    [InlineData("vqa", "question=what color is the circle", "layer-ig", "needs 'image'")]
    [InlineData("vqa", "image=a.png", "no-such-method", "no method 'no-such-method'")]
    public void Explain_BadArgument_ExitsTwoNamingIt(string model, string input, string method, string expected)
    {
        using var folder = new TempFolder();

        var (code, _, error) = BundledCli.Run("explain", "--model", model, "--input", input, "--method", method, "--out", folder.Path);

        Assert.Equal(2, code);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Explain_MissingImageOrModelFile_ExitsTwoNamingTheOptionAndTheFullPath()
    {
        using var folder = new TempFolder();
        var missing = Path.Combine(folder.Path, "missing.png");

        var (imageCode, _, imageError) = BundledCli.Run("explain", "--model", "vqa", "--input", "image=" + missing, "--input", "question=what color is the circle", "--out", Path.Combine(folder.Path, "a"));
        var (folderCode, _, folderError) = BundledCli.Run("explain", "--model", "vqa", "--input", "image=" + folder.Path, "--input", "question=what color is the circle", "--out", Path.Combine(folder.Path, "b"));
        var (fileCode, _, fileError) = BundledCli.Run("explain", "--model", "vqa", "--checkpoint", Path.Combine(folder.Path, "nope.pth"), "--resnet", Path.Combine(folder.Path, "nope2.pth"), "--input", "image=" + Scene, "--input", "question=what", "--out", Path.Combine(folder.Path, "c"));

        Assert.Equal((2, $"captum: error: --input image: file not found: {missing}"), (imageCode, imageError.Trim()));
        Assert.Equal((2, $"captum: error: --input image: {folder.Path} is a folder, not an image file."), (folderCode, folderError.Trim()));
        Assert.Equal((2, $"captum: error: --checkpoint: not found: {Path.Combine(folder.Path, "nope.pth")}"), (fileCode, fileError.Trim()));
        Assert.Empty(Directory.GetDirectories(folder.Path));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("1000001")]
    [InlineData("2147483647")]
    public void Explain_StepsOutOfRange_ExitsTwoNamingStepsAndItsLimits(string steps)
    {
        using var folder = new TempFolder();

        var (code, _, error) = BundledCli.Run("explain", "--model", "vqa", "--input", "image=" + Scene, "--input", "question=what color is the circle", "--steps", steps, "--out", folder.Path);

        Assert.Equal(2, code);
        Assert.Contains($"--steps must be from 1 to 1000000, not {steps}.", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("image_size=448", "'image_size' is not a setting of the VQA model; its settings are image-size, central-fraction")]
    [InlineData("image-size=16", "image-size must be a whole number from 32")]
    [InlineData("image-size=99999", "image-size must be a whole number from 32 (the image network halves it five times) to 4096")]
    public void Explain_BadVqaSetting_ExitsTwoNamingIt(string setting, string expected)
    {
        using var folder = new TempFolder();

        var (code, _, error) = BundledCli.Run("explain", "--model", "vqa", "--input", "image=" + Scene, "--input", "question=what color is the circle", "--setting", setting, "--steps", "2", "--out", folder.Path);

        Assert.Equal(2, code);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(folder.Path, "report.html")));
    }

    private static string GettingStartedDocsRoot() => Captum.Tests.Docs.GettingStartedDocTests.RepositoryRoot();
}
