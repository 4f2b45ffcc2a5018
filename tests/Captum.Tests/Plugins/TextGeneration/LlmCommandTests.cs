using System.Text.Json;
using System.Xml.Linq;
using Captum.TestData;
using Captum.Tests.Plugins.Vqa.Commands;
using Xunit;

namespace Captum.Tests.Plugins.TextGeneration;

/// <summary><c>captum llm</c>, run in-process by the captum command with the plugins bundled beside it, on ../shared/checkpoints/gpt2-tiny.</summary>
public sealed class LlmCommandTests
{
    private static string Folder() => SharedData.Locate(Path.Combine("checkpoints", "gpt2-tiny"), "CAPTUM_GPT2_TINY_DIR");

    private static JsonElement Expected() => JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder(), "expected.json"))).RootElement;

    private static float[] Floats(JsonElement e) => e.EnumerateArray().Select(x => x.GetSingle()).ToArray();

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
        Assert.Equal(19, root.GetProperty("inputTokens").GetArrayLength());
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
    public void Llm_PromptAndTemplate_ExitsTwoNamingPrompt()
    {
        using var folder = new TempFolder();

        var (code, _, error) = BundledCli.Run("llm", "--checkpoint", Folder(), "--prompt", "a", "--template", "{} b", "--value", "a", "--out", folder.Path);

        Assert.Equal(2, code);
        Assert.Contains("--prompt", error, StringComparison.Ordinal);
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
    public void FromFolder_VocabWithoutEndOfText_NamesCheckpoint()
    {
        using var folder = new TempFolder();
        File.WriteAllText(Path.Combine(folder.Path, "vocab.json"), "{\"h\": 0}");
        File.WriteAllText(Path.Combine(folder.Path, "merges.txt"), "#version: 0.2\n");

        var error = Assert.Throws<ArgumentException>(() => Captum.Plugins.TextGeneration.Gpt2Tokenizer.FromFolder(folder.Path));

        Assert.Equal("checkpoint", error.ParamName);
    }

    [Fact]
    public void FromFolder_NoTokenizerFiles_IsGpt2sBpe()
    {
        using var folder = new TempFolder();

        var tokenizer = Captum.Plugins.TextGeneration.Gpt2Tokenizer.FromFolder(folder.Path);

        Assert.Equal(new Captum.Plugins.TextGeneration.Gpt2Tokenizer().Encode("Where is the dog?"), tokenizer.Encode("Where is the dog?"));
    }
}
