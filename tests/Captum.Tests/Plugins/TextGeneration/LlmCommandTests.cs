using System.Text.Json;
using System.Text.Json.Nodes;
using System.Xml.Linq;
using Captum.TestData;
using Captum.Tests.Plugins.Vqa.Commands;
using Xunit;

namespace Captum.Tests.Plugins.TextGeneration;

/// <summary><c>captum llm</c>, run in-process by the captum command with the plugins bundled beside it, on ../shared/checkpoints/gpt2-tiny.</summary>
public sealed class LlmCommandTests
{
    /// <summary>A story prompt the shipped model answers "garden", with 16 tokens.</summary>
    private const string StoryPrompt = "john went to the kitchen . mary went to the garden . where is mary ?";

    private static string Folder() => SharedData.Locate(Path.Combine("checkpoints", "gpt2-tiny"), "CAPTUM_GPT2_TINY_DIR");

    private static JsonElement Expected() => JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder(), "expected.json"))).RootElement;

    /// <summary>gpt2-tiny's config and safetensors in <paramref name="parent"/>/model, with <paramref name="field"/> of its config set to <paramref name="value"/>.</summary>
    private static string CopyWithConfig(string parent, string field, JsonNode value)
    {
        var model = Path.Combine(parent, "model");
        Directory.CreateDirectory(model);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(Folder(), "config.json")))!;
        config[field] = value;
        File.WriteAllText(Path.Combine(model, "config.json"), config.ToJsonString());
        File.Copy(Path.Combine(Folder(), "model.safetensors"), Path.Combine(model, "model.safetensors"));
        return model;
    }

    private static float[] Floats(JsonElement e) => e.EnumerateArray().Select(x => x.GetSingle()).ToArray();

    /// <summary>The sequence attribution of <see cref="StoryPrompt"/> by <paramref name="method"/>, from the result.json of a run into <paramref name="outFolder"/>.</summary>
    private static float[] SequenceAttribution(string outFolder, string method, params string[] more)
    {
        var (code, _, error) = BundledCli.Run(["llm", "--prompt", StoryPrompt, "--method", method, .. more, "--out", outFolder, "--json"]);
        Assert.True(code == 0, error);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(outFolder, "result.json")));
        return Floats(json.RootElement.GetProperty("seqAttr"));
    }

    private static void AssertClose(float[] expected, float[] actual, double tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance * (1 + Math.Abs(expected[i])), $"[{i}]: expected {expected[i]}, got {actual[i]}");
        }
    }

    [Theory]
    [InlineData("feature-ablation", "featureAblation")]
    [InlineData("layer-ig", "layerIntegratedGradients")]
    public void Llm_Gpt2TinyCheckpoint_ReproducesCaptumsAttributionsInResultJsonAndDrawsTheReport(string method, string reference)
    {
        using var folder = new TempFolder();
        var expected = Expected();

        var (code, output, error) = BundledCli.Run(
            "llm", "--checkpoint", Folder(), "--prompt", expected.GetProperty("prompt").GetString()!, "--target", expected.GetProperty("target").GetString()!,
            "--method", method, "--steps", "20", "--out", folder.Path, "--json");

        Assert.True(code == 0, error);
        Assert.Contains("Answer:", output, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder.Path, "result.json")));
        var root = json.RootElement;
        var e = expected.GetProperty(reference);
        AssertClose(Floats(e.GetProperty("seqAttr")), Floats(root.GetProperty("seqAttr")), 1e-3);
        var rows = root.GetProperty("tokenAttr").EnumerateArray().Select(Floats).ToArray();
        var expectedRows = e.GetProperty("tokenAttr").EnumerateArray().Select(Floats).ToArray();
        Assert.Equal(expectedRows.Length, rows.Length);
        for (var r = 0; r < rows.Length; r++)
        {
            AssertClose(expectedRows[r], rows[r], 1e-3);
        }

        Assert.Equal(e.GetProperty("outputTokens").EnumerateArray().Select(t => t.GetString()!.Trim()), root.GetProperty("outputTokens").EnumerateArray().Select(t => t.GetString()!));
        // Captum's input tokens carry byte-level BPE's space mark (Ġ); ours are readable text without it.
        Assert.Equal(
            e.GetProperty("inputTokens").EnumerateArray().Select(t => t.GetString()!.Replace("\u0120", string.Empty, StringComparison.Ordinal)),
            root.GetProperty("inputTokens").EnumerateArray().Select(t => t.GetString()!.Trim()));
        Assert.Equal(" The garden.", root.GetProperty("answer").GetString());

        var report = XDocument.Parse(File.ReadAllText(Path.Combine(folder.Path, "report.html")));
        var classes = report.Descendants().Select(x => (string?)x.Attribute("class") ?? string.Empty).ToList();
        Assert.Equal(3 * 19, classes.Count(c => c.StartsWith("captum-cell", StringComparison.Ordinal) && c != "captum-cell-value"));
        Assert.Equal(19, classes.Count(c => c.StartsWith("captum-bar captum-bar-", StringComparison.Ordinal)));
    }

    [Fact]
    public void Llm_NoCheckpoint_ExplainsTheShippedStoryModelsAnswerByTheAskedPersonAndTheSupportingSentence()
    {
        using var folder = new TempFolder();
        var prompt = "john went to the kitchen . mary went to the garden . sandra went to the office . where is mary ?";

        var (code, output, error) = BundledCli.Run("llm", "--prompt", prompt, "--out", folder.Path, "--json");

        Assert.True(code == 0, error);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder.Path, "result.json")));
        var root = json.RootElement;
        Assert.Equal("garden", root.GetProperty("answer").GetString());
        Assert.Equal(["garden"], root.GetProperty("outputTokens").EnumerateArray().Select(t => t.GetString()!));
        var tokens = root.GetProperty("inputTokens").EnumerateArray().Select(t => t.GetString()!).ToArray();
        var seqAttr = Floats(root.GetProperty("seqAttr"));
        Assert.Equal(prompt.Split(' '), tokens);

        // The question's person (token 20) and the supporting sentence's place (token 10) matter most, and every token of
        // the other two sentences less than any token of the supporting sentence's person and place or the question's.
        Assert.Equal([10, 20], Enumerable.Range(0, tokens.Length).OrderByDescending(i => seqAttr[i]).Take(2).Order());
        var others = Enumerable.Range(0, 6).Concat(Enumerable.Range(12, 6)).Max(i => seqAttr[i]);
        Assert.True(others < new[] { 6, 10, 20 }.Min(i => seqAttr[i]), $"another sentence's token at {others}");
        Assert.Contains("Answer: garden", output, StringComparison.Ordinal);

        // The printed top list names each token with its position, so the two "mary"s are told apart.
        Assert.Matches(@"\n  #20  +mary +\d", output);
        Assert.Matches(@"\n  #10  +garden +\d", output);
    }

    [Fact]
    public void Llm_AppendTo_AddsTheExplanationToAnotherCommandsReport()
    {
        using var folder = new TempFolder();
        var vqaReport = Path.Combine(folder.Path, "vqa", "report.html");
        var scene = Path.Combine(Captum.TestData.SharedData.RepositoryRoot(), "samples", "scenes", "scene-100-0000.png");
        var (vqaCode, _, vqaError) = BundledCli.Run("vqa", "--image", scene, "--question", "what color is the circle", "--steps", "4", "--out", Path.GetDirectoryName(vqaReport)!);
        Assert.True(vqaCode == 0, vqaError);
        var before = File.ReadAllText(vqaReport);

        var (code, output, error) = BundledCli.Run("llm", "--prompt", "john went to the kitchen . mary went to the garden . where is mary ?", "--out", Path.Combine(folder.Path, "llm"), "--append-to", vqaReport);

        Assert.True(code == 0, error);
        Assert.Contains($"Added to: {vqaReport}", output, StringComparison.Ordinal);
        var after = File.ReadAllText(vqaReport);
        var body = before[..before.LastIndexOf("</body>", StringComparison.Ordinal)];
        Assert.StartsWith(body, after, StringComparison.Ordinal);
        var added = after[body.Length..];
        Assert.Contains("<h2>LLM attribution: garden</h2>", added, StringComparison.Ordinal);
        Assert.Contains("Sequence attribution", added, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(folder.Path, "llm", "report.html")));
    }

    [Fact]
    public void Llm_AppendToAFileThatIsNoReport_ExitsTwoNamingAppendToBeforeTheWork()
    {
        using var folder = new TempFolder();
        var notes = Path.Combine(folder.Path, "notes.html");
        File.WriteAllText(notes, "<p>my notes</p>");

        var (code, _, error) = BundledCli.Run("llm", "--prompt", "mary went to the garden . where is mary ?", "--out", Path.Combine(folder.Path, "llm"), "--append-to", notes);

        Assert.Equal(2, code);
        Assert.StartsWith("captum: error: --append-to: ", error, StringComparison.Ordinal);
        Assert.Equal("<p>my notes</p>", File.ReadAllText(notes));
        Assert.False(Directory.Exists(Path.Combine(folder.Path, "llm")));
    }

    [Fact]
    public void Llm_AppendToItsOwnOutReport_ExitsTwoNamingAppendToAndLeavesItAsItWas()
    {
        using var folder = new TempFolder();
        var own = Path.Combine(folder.Path, "report.html");
        new Captum.Visualization.HtmlReport("earlier run").AddParagraph("kept").Save(own);
        var before = File.ReadAllText(own);

        var (code, _, error) = BundledCli.Run("llm", "--prompt", "mary went to the garden . where is mary ?", "--out", folder.Path, "--append-to", own);

        Assert.Equal(2, code);
        Assert.StartsWith("captum: error: --append-to: ", error, StringComparison.Ordinal);
        Assert.Contains("this run's own report", error, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllText(own));
    }

    [Theory]
    [InlineData("through-a-link-to-the-out-folder")]
    [InlineData("as-a-link-to-the-report")]
    [InlineData("by-another-path-through-a-link")]
    public void Llm_AppendToItsOwnOutReportByAnotherPath_ExitsTwoNamingAppendToAndLeavesItAsItWas(string path)
    {
        using var folder = new TempFolder();
        var outFolder = Path.Combine(folder.Path, "llm");
        var own = Path.Combine(outFolder, "report.html");
        Directory.CreateDirectory(outFolder);
        new Captum.Visualization.HtmlReport("earlier run").AddParagraph("kept").Save(own);
        var before = File.ReadAllText(own);
        var link = Path.Combine(folder.Path, "link");
        var appendTo = path switch
        {
            "through-a-link-to-the-out-folder" => Path.Combine(Directory.CreateSymbolicLink(link, outFolder).FullName, "report.html"),
            "as-a-link-to-the-report" => File.CreateSymbolicLink(Path.Combine(folder.Path, "other.html"), own).FullName,
            _ => Path.Combine(Directory.CreateSymbolicLink(link, outFolder).FullName, "..", "link", ".", "report.html"),
        };

        var (code, _, error) = BundledCli.Run("llm", "--prompt", "mary went to the garden . where is mary ?", "--out", outFolder, "--append-to", appendTo);

        Assert.Equal(2, code);
        // The command gets the file as its full path (the host resolves a file option's "..", not its links).
        Assert.True(error.StartsWith($"captum: error: --append-to: {Path.GetFullPath(appendTo)} is this run's own report", StringComparison.Ordinal), error);
        Assert.Equal(before, File.ReadAllText(own));
    }

    [Fact]
    public void Llm_CheckpointFolderMissing_ExitsTwoNamingCheckpointAndWritesNothing()
    {
        using var folder = new TempFolder();

        var (code, _, error) = BundledCli.Run("llm", "--checkpoint", Path.Combine(folder.Path, "missing"), "--prompt", "where is mary ?", "--out", folder.Path);

        Assert.Equal(2, code);
        Assert.Contains("--checkpoint", error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(folder.Path, "report.html")));
    }

    [Theory]
    [InlineData("--prompt", "mary went to the garden . where is mary ?")]
    [InlineData("--template", "{} where is mary ?")]
    public void Llm_StoryModelFolderWithoutItsVocabulary_ExitsTwoNamingCheckpointNotANativeError(string option, string text)
    {
        using var folder = new TempFolder();
        var model = Path.Combine(folder.Path, "model");
        using (var story = Captum.Plugins.TextGeneration.Stories.StoryModel.Load())
        {
            story.Save(model);
        }

        File.Delete(Path.Combine(model, "vocab.txt"));

        // An empty value tokenizes to nothing, so only the template's own words can trip the check.
        string[] rest = option == "--template" ? ["--value", ""] : [];
        var (code, _, error) = BundledCli.Run(["llm", "--checkpoint", model, option, text, .. rest, "--out", folder.Path]);

        Assert.Equal(2, code);
        Assert.Contains("--checkpoint", error, StringComparison.Ordinal);
        Assert.Contains("outside the model's", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Llm_StoryModelPromptFillingItsPositionsWithoutTarget_ExitsTwoNamingPrompt()
    {
        using var folder = new TempFolder();

        // 10 sentences of 6 words and a 4-word question: the story model's 64 positions exactly.
        var prompt = string.Concat(Enumerable.Repeat("mary went to the garden . ", 10)) + "where is mary ?";
        var (code, _, error) = BundledCli.Run("llm", "--prompt", prompt, "--out", folder.Path);

        Assert.Equal(2, code);
        Assert.Contains("--prompt", error, StringComparison.Ordinal);
        Assert.Contains("64 tokens", error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(folder.Path, "report.html")));
    }

    [Fact]
    public void Llm_CheckpointPromptFillingItsPositionsWithoutTarget_ExitsTwoNamingPrompt()
    {
        using var folder = new TempFolder();

        // "the" and 63 times " the": 64 GPT-2 tokens, gpt2-tiny's n_positions.
        var prompt = string.Join(" ", Enumerable.Repeat("the", 64));
        var (code, _, error) = BundledCli.Run("llm", "--checkpoint", Folder(), "--prompt", prompt, "--out", folder.Path);

        Assert.Equal(2, code);
        Assert.Contains("--prompt", error, StringComparison.Ordinal);
        Assert.DoesNotContain("narrow", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Llm_MaxNewTokensWithATarget_ExitsTwoNamingMaxNewTokens()
    {
        using var folder = new TempFolder();

        var (code, _, error) = BundledCli.Run("llm", "--prompt", "where is mary ?", "--target", "garden", "--max-new-tokens", "4", "--out", folder.Path);

        Assert.Equal(2, code);
        Assert.Contains("error: --max-new-tokens: applies only when no --target is given", error, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(folder.Path));
    }

    [Theory]
    [InlineData("--max-new-tokens", "0")]
    [InlineData("--steps", "0")]
    [InlineData("--top", "-1")]
    public void Llm_NumberBelowOne_ExitsTwoWithTheOptionFirst(string option, string value)
    {
        using var folder = new TempFolder();

        var (code, _, error) = BundledCli.Run("llm", "--prompt", "where is mary ?", option, value, "--out", folder.Path);

        Assert.Equal(2, code);
        Assert.Contains($"error: {option}: must be a positive whole number, not {value}.", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("1000000")]
    public void Llm_BaselineTokenOutsideTheVocabulary_ExitsTwoNamingBaselineToken(string id)
    {
        using var folder = new TempFolder();

        var (code, _, error) = BundledCli.Run("llm", "--prompt", "where is mary ?", "--baseline-token", id, "--out", folder.Path);

        Assert.Equal(2, code);
        Assert.Contains("error: --baseline-token: must be a token id from 0 to ", error, StringComparison.Ordinal);
        Assert.Contains($", not {id}.", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Llm_BaselineTokenWithTemplate_ExitsTwoNamingBaselineTokenBeforeLoadingTheModel()
    {
        using var folder = new TempFolder();

        // A checkpoint folder that does not exist: the refusal comes first, so no model is needed.
        var (code, _, error) = BundledCli.Run(
            "llm", "--template", "{} where is mary ?", "--value", "mary went to the garden .", "--baseline-token", "0", "--checkpoint", Path.Combine(folder.Path, "none"), "--out", folder.Path);

        Assert.Equal(2, code);
        Assert.Contains("error: --baseline-token: a template's values have their own baselines", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "--prompt", "   " }, "--prompt: must not be empty")]
    [InlineData(new[] { "--template", "{} where is mary ?" }, "--value: a template needs its values")]
    [InlineData(new[] { "--template", "{} {} where is mary ?", "--value", "mary went to the garden ." }, "--value: template has 2 slot(s) but 1 value(s)")]
    [InlineData(new[] { "--template", "{} where is mary ?", "--value", "mary went to the garden .", "--method", "layer-ig" }, "--method: layer-ig attributes tokens")]
    [InlineData(new[] { "--prompt", "where is mary ?", "--target", " " }, "--target: target \" \" has no token")]
    [InlineData(new[] { "--prompt", "bob went to the kitchen . where is bob ?" }, "--prompt: 2 of its tokens are words the tokenizer does not know")]
    public void Llm_BadInput_ExitsTwoWithTheOptionFirst(string[] arguments, string message)
    {
        using var folder = new TempFolder();

        var (code, _, error) = BundledCli.Run(["llm", .. arguments, "--out", folder.Path]);

        Assert.Equal(2, code);
        Assert.Contains("error: " + message, error, StringComparison.Ordinal);
        Assert.DoesNotContain("(Parameter", error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(folder.Path, "report.html")));
    }

    [Fact]
    public void Llm_FoilLongerThanThePositionsLeave_ExitsTwoNamingFoil()
    {
        using var folder = new TempFolder();

        // 4 prompt tokens and a 61-token foil need 64 positions; the story model has 64, so 62 tokens are one too many.
        var foil = string.Join(" ", Enumerable.Repeat("garden", 62));
        var (code, _, error) = BundledCli.Run("llm", "--prompt", "where is mary ?", "--target", "garden", "--foil", foil, "--out", folder.Path);

        Assert.Equal(2, code);
        Assert.Contains("error: --foil: the prompt (4 tokens) and the foil (62) need 65 positions", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Llm_Foil_SaysTheAttributionsExplainTheDifferenceOfTheLogProbabilities()
    {
        using var folder = new TempFolder();
        var prompt = "john went to the kitchen . mary went to the garden . where is mary ?";

        var (code, output, error) = BundledCli.Run("llm", "--prompt", prompt, "--foil", "kitchen", "--out", folder.Path, "--json");

        Assert.True(code == 0, error);
        Assert.Contains("Answer: garden\nFoil: kitchen\n", output.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Contains("(feature-ablation, towards log p(answer) - log p(foil): why \"garden\" rather than \"kitchen\"):", output, StringComparison.Ordinal);
        var report = File.ReadAllText(Path.Combine(folder.Path, "report.html"));
        Assert.Contains("Answer: garden; foil: kitchen", report, StringComparison.Ordinal);
        Assert.DoesNotContain("the answer's log probability", report, StringComparison.Ordinal);

        // The contrast rests on the supporting place and the other sentence's place, in opposite directions.
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder.Path, "result.json")));
        var seqAttr = Floats(json.RootElement.GetProperty("seqAttr"));
        Assert.Equal("kitchen", json.RootElement.GetProperty("foil").GetString());
        Assert.True(seqAttr[10] > 0 && seqAttr[4] < 0, $"garden {seqAttr[10]}, kitchen {seqAttr[4]}");
    }

    [Fact]
    public void Llm_CheckpointWithoutTarget_StopsAtTheEndOfSequenceTokenOfItsConfig()
    {
        using var folder = new TempFolder();
        var expected = Expected();
        var greedy = expected.GetProperty("greedy4").EnumerateArray().Select(x => x.GetInt64()).ToArray();
        Assert.Equal(greedy.Length, greedy.Distinct().Count());

        // gpt2-tiny with its config's eos_token_id (GPT-2's 50256) changed to the third token it generates.
        var model = CopyWithConfig(folder.Path, "eos_token_id", greedy[2]);

        var (code, _, error) = BundledCli.Run(
            "llm", "--checkpoint", model, "--prompt", expected.GetProperty("prompt").GetString()!, "--max-new-tokens", "4", "--out", folder.Path, "--json");

        Assert.True(code == 0, error);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder.Path, "result.json")));
        Assert.Equal(greedy.Take(2), json.RootElement.GetProperty("outputTokenIds").EnumerateArray().Select(x => x.GetInt64()));
    }

    [Fact]
    public void Llm_CheckpointWhoseEndOfSequenceIsOutsideItsVocabulary_ExitsTwoNamingCheckpoint()
    {
        using var folder = new TempFolder();
        var model = CopyWithConfig(folder.Path, "eos_token_id", 50257);

        var (code, _, error) = BundledCli.Run("llm", "--checkpoint", model, "--prompt", "Where is the dog?", "--out", folder.Path);

        Assert.Equal(2, code);
        Assert.Contains("error: --checkpoint: its config's eos_token_id 50257 is outside the model's 50257 tokens", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Llm_CheckpointWhoseTokenizersEndOfSequenceIsOutsideItsVocabulary_ExitsTwoNamingTheTokenizer()
    {
        using var folder = new TempFolder();

        // No eos_token_id in the config: the end of sequence is the tokenizer's, <|endoftext|> of the folder's vocab.json.
        var model = CopyWithConfig(folder.Path, "eos_token_id", null!);
        File.WriteAllText(Path.Combine(model, "vocab.json"), "{\"a\": 0, \"b\": 1, \"ab\": 2, \"<|endoftext|>\": 60000}");
        File.WriteAllText(Path.Combine(model, "merges.txt"), "#version: 0.2\na b\n");

        var (code, _, error) = BundledCli.Run("llm", "--checkpoint", model, "--prompt", "ab", "--out", folder.Path);

        Assert.Equal(2, code);
        Assert.Contains("error: --checkpoint: its tokenizer's end-of-sequence token id 60000 (its config.json gives no eos_token_id) is outside the model's 50257 tokens", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Llm_CheckpointWithAnUntiedHead_ExitsTwoNamingCheckpoint()
    {
        using var folder = new TempFolder();
        var model = CopyWithConfig(folder.Path, "tie_word_embeddings", false);

        var (code, _, error) = BundledCli.Run("llm", "--checkpoint", model, "--prompt", "Where is the dog?", "--out", folder.Path);

        Assert.Equal(2, code);
        Assert.Contains("error: --checkpoint: ", error, StringComparison.Ordinal);
        Assert.Contains("sets tie_word_embeddings to false", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--learning-rate", "0", "--learning-rate: must be positive and finite, not 0.")]
    [InlineData("--steps", "0", "--steps: must be at least 1, not 0.")]
    public void LlmTrain_BadOption_ExitsTwoWithTheOptionFirstBeforeTraining(string option, string value, string message)
    {
        using var folder = new TempFolder();

        var (code, _, error) = BundledCli.Run("llm-train", option, value, "--out", folder.Path);

        Assert.Equal(2, code);
        Assert.Contains("error: " + message, error, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(folder.Path));
    }

    [Theory]
    [InlineData("truncated-safetensors", "model.safetensors is not a readable safetensors file (")]
    [InlineData("vqa-checkpoint-as-bin", "pytorch_model.bin is not a GPT-2's state dict: ")]
    [InlineData("heads", "config.json: the width (16) must split evenly into 3 heads.")]
    [InlineData("no-n_layer", "config.json has no n_layer; a GPT-2 config gives")]
    [InlineData("int32-weights", "wpe.weight is Int32; GPT-2's weights must be floating-point")]
    public void Llm_DamagedCheckpoint_ExitsTwoNamingCheckpointAndWhatIsWrong(string damage, string message)
    {
        using var folder = new TempFolder();
        var model = Path.Combine(folder.Path, "model");
        Directory.CreateDirectory(model);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(Folder(), "config.json")))!.AsObject();
        var weights = Path.Combine(model, "model.safetensors");
        switch (damage)
        {
            case "truncated-safetensors":
                File.WriteAllBytes(weights, File.ReadAllBytes(Path.Combine(Folder(), "model.safetensors"))[..1000]);
                break;
            case "vqa-checkpoint-as-bin":
                File.Copy(Path.Combine(SharedData.RepositoryRoot(), "plugins", "Vqa", "Scenes", "scenes-vqa.pth"), Path.Combine(model, "pytorch_model.bin"));
                break;
            case "int32-weights":
                using (var scope = TorchSharp.torch.NewDisposeScope())
                {
                    var state = Captum.Checkpoints.SafeTensors.Load(Path.Combine(Folder(), "model.safetensors")).Tensors
                        .ToDictionary(kv => kv.Key, kv => kv.Key.EndsWith("wpe.weight", StringComparison.Ordinal) ? kv.Value.to_type(TorchSharp.torch.ScalarType.Int32) : kv.Value);
                    Captum.Checkpoints.SafeTensors.Save(state, weights);
                }

                break;
            default:
                if (damage == "heads")
                {
                    config["n_head"] = 3;
                    config["n_embd"] = 16;
                }
                else
                {
                    config.Remove("n_layer");
                }

                File.Copy(Path.Combine(Folder(), "model.safetensors"), weights);
                break;
        }

        File.WriteAllText(Path.Combine(model, "config.json"), config.ToJsonString());

        var (code, _, error) = BundledCli.Run("llm", "--checkpoint", model, "--prompt", "Where is the dog?", "--target", " The", "--out", folder.Path);

        Assert.Equal(2, code);
        Assert.Contains("error: --checkpoint: ", error, StringComparison.Ordinal);
        Assert.Contains(message, error, StringComparison.Ordinal);
        Assert.DoesNotContain("Cannot load PyTorch checkpoint", error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(folder.Path, "report.html")));
    }

    [Theory]
    [InlineData(new[] { "--target", "zzzz" }, "--target: target \"zzzz\" holds a word the tokenizer does not know, so it would be explained as the unknown token [unk]")]
    [InlineData(new[] { "--target", "garden", "--foil", "garden" }, "--foil: the foil is the answer itself")]
    [InlineData(new[] { "--threads", "0" }, "--threads: must be a positive whole number, not 0.")]
    [InlineData(new[] { "--samples", "10" }, "--samples: feature-ablation draws no samples")]
    [InlineData(new[] { "--samples", "0", "--method", "lime" }, "--samples: must be a positive whole number, not 0.")]
    public void Llm_BadTargetFoilOrOption_ExitsTwoWithTheOptionFirst(string[] arguments, string message)
    {
        using var folder = new TempFolder();

        var (code, _, error) = BundledCli.Run(["llm", "--prompt", "where is mary ?", .. arguments, "--out", folder.Path]);

        Assert.Equal(2, code);
        Assert.Contains("error: " + message, error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(folder.Path, "report.html")));
    }

    [Fact]
    public void Llm_TargetLongerThanTheModelsPositions_ExitsTwoNamingTargetNotPrompt()
    {
        using var folder = new TempFolder();

        // The story model reads 64 positions: no prompt leaves room for a 65-token answer.
        var target = string.Join(" ", Enumerable.Repeat("garden", 65));
        var (code, _, error) = BundledCli.Run("llm", "--prompt", "where is mary ?", "--target", target, "--out", folder.Path);

        Assert.Equal(2, code);
        Assert.Contains("error: --target: the answer has 65 tokens, and the model reads at most 64", error, StringComparison.Ordinal);
        Assert.DoesNotContain("--prompt", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Llm_ShapleyValuesOnMoreTokensThanItTakes_ExitsTwoNamingMethodAndWhatToDo()
    {
        using var folder = new TempFolder();

        var (code, _, error) = BundledCli.Run("llm", "--prompt", StoryPrompt, "--method", "shapley-values", "--out", folder.Path);

        Assert.Equal(2, code);
        Assert.Contains("error: --method: shapley-values takes every order of the features (f! orders) and accepts at most 9; the --prompt has 16 tokens.", error, StringComparison.Ordinal);
        Assert.Contains("--method shapley-value-sampling", error, StringComparison.Ordinal);
        Assert.DoesNotContain("FeatureMask", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Llm_TemplateMixingAutomaticAndNamedSlots_ExitsTwoSayingNamedSlots()
    {
        using var folder = new TempFolder();

        var (code, _, error) = BundledCli.Run("llm", "--template", "{} {x}", "--value", "mary went to the garden .", "--out", folder.Path);

        Assert.Equal(2, code);
        Assert.Contains("error: --template: template mixes {} and named slots such as {x}", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("kernel-shap")]
    [InlineData("lime")]
    [InlineData("shapley-value-sampling")]
    [InlineData("layer-gradient-shap")]
    public void Llm_SamplingMethodRunTwice_WritesTheSameAttributionsAndAnotherSeedOthers(string method)
    {
        using var folder = new TempFolder();

        // A few samples, to be quick; only --seed differs between the runs.
        var first = SequenceAttribution(Path.Combine(folder.Path, "first"), method, "--samples", "5");
        var second = SequenceAttribution(Path.Combine(folder.Path, "second"), method, "--samples", "5");
        var seeded = SequenceAttribution(Path.Combine(folder.Path, "seeded"), method, "--samples", "5", "--seed", "7");

        Assert.Equal(first, second);
        Assert.NotEqual(first, seeded);
    }

    [Theory]
    [InlineData("kernel-shap")]
    [InlineData("lime")]
    [InlineData("shapley-value-sampling")]
    [InlineData("layer-gradient-shap")]
    public void Llm_SamplingMethodWithAnotherSampleCount_WritesOtherAttributions(string method)
    {
        using var folder = new TempFolder();

        // The same seed (the default), so only the sample count differs.
        var fewer = SequenceAttribution(Path.Combine(folder.Path, "fewer"), method, "--samples", "3");
        var more = SequenceAttribution(Path.Combine(folder.Path, "more"), method, "--samples", "6");

        Assert.NotEqual(fewer, more);
    }

    [Theory]
    [InlineData("lime", 2)]
    [InlineData("kernel-shap", 2)]
    [InlineData("feature-ablation", 0)]
    public void Llm_Report_DrawsTheStepScoresUnderTheBarsOnlyWithoutAHeatMap(string method, int underTheBars)
    {
        using var folder = new TempFolder();

        var (code, _, error) = BundledCli.Run(["llm", "--prompt", StoryPrompt, "--method", method, .. method == "feature-ablation" ? Array.Empty<string>() : ["--samples", "5"], "--out", folder.Path, "--json"]);

        Assert.True(code == 0, error);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder.Path, "result.json")));
        var steps = json.RootElement.GetProperty("stepScores").EnumerateArray().ToList();
        var report = XDocument.Parse(File.ReadAllText(Path.Combine(folder.Path, "report.html")));
        var figures = report.Descendants().Where(e => e.Name.LocalName == "svg").ToList();
        List<string> ScoreValues(XElement svg) => svg.Descendants().Where(e => (string?)e.Attribute("class") == "captum-score-cell").Select(e => (string)e.Attribute("data-value")!).ToList();
        var bars = figures.Single(f => ((string)f.Attribute("class")!).Contains("captum-sequence-barchart", StringComparison.Ordinal));
        var heat = figures.SingleOrDefault(f => ((string)f.Attribute("class")!).Contains("captum-token-heatmap", StringComparison.Ordinal));

        // One answer token ("garden"): its probability and entropy, once in the report, under the bars or beside the heat map.
        Assert.Single(steps);
        var expected = new[] { steps[0].GetProperty("probability").GetDouble(), steps[0].GetProperty("entropy").GetDouble() };
        Assert.Equal(underTheBars, ScoreValues(bars).Count);
        Assert.Equal(underTheBars == 0, heat is not null);
        var drawn = ScoreValues(underTheBars > 0 ? bars : heat!).Select(v => double.Parse(v, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(expected, drawn);
    }

    [Theory]
    [InlineData("layer-gradient-x-activation")]
    [InlineData("layer-gradient-shap")]
    public void Llm_LayerGradientMethod_AttributesEveryPromptTokenForTheAnswerToken(string method)
    {
        using var folder = new TempFolder();

        var (code, output, error) = BundledCli.Run("llm", "--prompt", StoryPrompt, "--method", method, "--out", folder.Path, "--json");

        Assert.True(code == 0, error);
        Assert.Contains($"({method}, towards the answer's log probability)", output, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder.Path, "result.json")));
        Assert.Equal(method, json.RootElement.GetProperty("method").GetString());
        Assert.Equal(16, json.RootElement.GetProperty("seqAttr").GetArrayLength());
        Assert.Single(json.RootElement.GetProperty("tokenAttr").EnumerateArray());
    }

    [Fact]
    public void Llm_LayerGradientMethodWithTemplate_ExitsTwoNamingMethod()
    {
        using var folder = new TempFolder();

        var (code, _, error) = BundledCli.Run("llm", "--template", "{} where is mary ?", "--value", "mary went to the garden .", "--method", "layer-gradient-shap", "--out", folder.Path);

        Assert.Equal(2, code);
        Assert.Contains("error: --method: layer-gradient-shap attributes tokens; use --prompt, not --template.", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Llm_PromptAndTemplate_ExitsTwoNamingPrompt()
    {
        using var folder = new TempFolder();

        var (code, _, error) = BundledCli.Run("llm", "--checkpoint", Folder(), "--prompt", "a", "--template", "{} b", "--value", "a", "--out", folder.Path);

        Assert.Equal(2, code);
        Assert.Contains("--prompt", error, StringComparison.Ordinal);
    }
}

/// <summary><c>captum llm --threads</c>, which sets libtorch's thread count for the run and puts the caller's back when it ends.</summary>
/// <remarks>Serial: the thread count is libtorch's, shared by the tests.</remarks>
[Collection(Captum.Tests.Attr.SerialCollection.Name)]
public sealed class LlmThreadsTests
{
    [Fact]
    public void Llm_Threads_RunsWithTheCountPrintsItAndPutsTheCallersBack()
    {
        using var folder = new TempFolder();
        using var threads = new ThreadCountGuard();

        var (code, output, error) = BundledCli.Run("llm", "--prompt", "where is mary ?", "--target", "garden", "--threads", threads.OtherText, "--out", folder.Path);

        Assert.True(code == 0, error);

        // The count the command prints is read while it runs.
        Assert.Contains($"Threads: {threads.Other} (libtorch's, for this run)", output, StringComparison.Ordinal);
        Assert.Equal(threads.Before, TorchSharp.torch.get_num_threads());
    }

    [Fact]
    public void Llm_ThreadsAndARunThatFails_PutsTheCallersCountBack()
    {
        using var folder = new TempFolder();
        using var threads = new ThreadCountGuard();

        // The baseline token is checked against the model's vocabulary, once the model is loaded: inside the run.
        var (code, _, error) = BundledCli.Run("llm", "--prompt", "where is mary ?", "--target", "garden", "--baseline-token", "1000000", "--threads", threads.OtherText, "--out", folder.Path);

        Assert.Equal(2, code);
        Assert.Contains("error: --baseline-token: ", error, StringComparison.Ordinal);
        Assert.Equal(threads.Before, TorchSharp.torch.get_num_threads());
    }
}

/// <summary><see cref="Captum.Plugins.TextGeneration.Gpt2Tokenizer.FromFolder"/>: a folder's own vocab.json and merges.txt, else GPT-2's BPE.</summary>
public sealed class Gpt2TokenizerFolderTests
{
    [Fact]
    public void FromFolder_VocabAndMerges_EncodesWithTheFoldersMerges()
    {
        using var folder = new TempFolder();
        File.WriteAllText(Path.Combine(folder.Path, "vocab.json"), "{\"h\": 0, \"i\": 1, \"Ġ\": 2, \"hi\": 3, \"Ġhi\": 4, \"!\": 5, \"<|endoftext|>\": 6}");
        File.WriteAllText(Path.Combine(folder.Path, "merges.txt"), "#version: 0.2\nh i\nĠ hi\n");

        var tokenizer = Captum.Plugins.TextGeneration.Gpt2Tokenizer.FromFolder(folder.Path);

        Assert.Equal([3L, 4L, 5L], tokenizer.Encode("hi hi!"));
        Assert.Equal("hi hi!", tokenizer.Decode([3, 4, 5]));
    }

    [Fact]
    public void FromFolder_NoTokenizerFiles_IsGpt2sBpe()
    {
        using var folder = new TempFolder();

        var tokenizer = Captum.Plugins.TextGeneration.Gpt2Tokenizer.FromFolder(folder.Path);

        Assert.Equal(new Captum.Plugins.TextGeneration.Gpt2Tokenizer().Encode("Where is the dog?"), tokenizer.Encode("Where is the dog?"));
    }
}
