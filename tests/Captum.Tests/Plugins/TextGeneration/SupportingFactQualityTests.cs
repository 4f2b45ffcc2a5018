using System.Text.Json;
using Captum.Cli;
using Captum.Plugins.TextGeneration.Stories;
using Xunit;

namespace Captum.Tests.Plugins.TextGeneration;

/// <summary>The supporting-fact measure's arithmetic and arguments.</summary>
[Collection(Captum.Tests.Attr.SerialCollection.Name)]
public sealed class SupportingFactQualityTests
{
    [Theory]
    [InlineData(new[] { 0.1, 2.0, 0.3 }, 1, 1.0)]
    [InlineData(new[] { 0.1, 2.0, 0.3 }, 0, 0.0)]
    [InlineData(new[] { 2.0, 2.0, 0.3 }, 1, 0.5)]
    [InlineData(new[] { 0.0, 0.0, 0.0, 0.0 }, 3, 0.25)]
    public void TopCredit_Scores_OneForTheTopSentenceSharedOnTies(double[] scores, int supportingFact, double expected)
    {
        Assert.Equal(expected, SupportingFactQuality.TopCredit(scores, supportingFact), 12);
    }

    [Fact]
    public void Validate_UnknownOrRepeatedMethod_NamesMethods()
    {
        Assert.Equal("Methods", Assert.Throws<ArgumentException>(() => new SupportingFactOptions { Methods = ["occlusion"] }.Validate()).ParamName);
        Assert.Equal("Methods", Assert.Throws<ArgumentException>(() => new SupportingFactOptions { Methods = ["lime", "lime"] }.Validate()).ParamName);
        Assert.Equal("Stories", Assert.Throws<ArgumentException>(() => new SupportingFactOptions { Stories = 0 }.Validate()).ParamName);
    }

    [Theory]
    [InlineData("layer-ig")]
    [InlineData("layer-gradient-x-activation")]
    [InlineData("layer-gradient-shap")]
    public void SentenceAttribution_GradientMethod_SumsEachSentencesTokens(string method)
    {
        using var model = StoryModelTests.Fresh(5);
        var story = StoryGenerator.Generate(777, 5);
        var options = new SupportingFactOptions { Steps = 8 };

        var sentences = SupportingFactQuality.SentenceAttribution(model, story, method, options);

        // The method on the prompt's tokens, [pad] the baseline token (LayerGradientShap seeded with the story's index).
        var input = new Captum.Attr.TextTokenInput(story.Prompt, model.Tokenizer, baselines: model.Tokenizer.PadId);
        const string Embedding = "transformer.wte";
        using var tokens = method switch
        {
            "layer-ig" => Captum.Attr.LLMGradientAttribution.LayerIntegratedGradients(model.Network, model.Tokenizer, Embedding)
                .Attribute(input, story.Answer, new() { Method = new() { Steps = 8 } }),
            "layer-gradient-x-activation" => Captum.Attr.LLMGradientAttribution.LayerGradientXActivation(model.Network, model.Tokenizer, Embedding)
                .Attribute(input, story.Answer),
            _ => Captum.Attr.LLMGradientAttribution.LayerGradientShap(model.Network, model.Tokenizer, Embedding)
                .Attribute(input, story.Answer, new() { Method = new() { Seed = story.Index } }),
        };
        var values = tokens.SequenceAttribution.data<float>().ToArray();
        Assert.True(values.Any(v => Math.Abs(v) > 1e-6), "every token attributed 0");
        Assert.Equal(story.Sentences.Count, sentences.Length);
        for (var s = 0; s < sentences.Length; s++)
        {
            Assert.Equal(values.Skip(6 * s).Take(6).Sum(), sentences[s], 4);
        }
    }
}

/// <summary>llm-eval on a few stories: the trained model's attributions find the supporting fact, random weights' do not.</summary>
/// <remarks>Serial: the randomised model is seeded through TorchSharp's global generator.</remarks>
[Collection(Captum.Tests.Attr.SerialCollection.Name)]
public sealed class LlmEvalCommandTests
{
    [Fact]
    public void LlmEval_TwelveStories_WritesEveryMethodsFiguresAndFeatureAblationFindsTheSupportingFact()
    {
        using var folder = new TempFolder();
        var json = Path.Combine(folder.Path, "quality.json");
        using var output = new StringWriter();
        using var error = new StringWriter();

        var code = CaptumCli.Run(
            ["--plugins", Path.Combine(BuildOutputs.Of(Path.Combine("src", "Captum.Cli")), "plugins"), "llm-eval", "--stories", "12", "--seed", "4242", "--steps", "8", "--json", json],
            output,
            error);

        Assert.True(code == 0, error.ToString());
        Assert.Contains("llm-eval: 12/12 stories", error.ToString(), StringComparison.Ordinal);
        using var document = JsonDocument.Parse(File.ReadAllText(json));
        var root = document.RootElement;
        Assert.Equal(SupportingFactQuality.Methods, root.GetProperty("byMethod").EnumerateObject().Select(p => p.Name));
        foreach (var figures in root.GetProperty("byMethod").EnumerateObject().Select(p => p.Value).Append(root))
        {
            foreach (var key in new[] { "supportingFact", "randomSupportingFact", "chance" })
            {
                Assert.InRange(figures.GetProperty(key).GetDouble(), 0.0, 1.0);
            }
        }

        Assert.All(root.GetProperty("byMethod").EnumerateObject(), p => Assert.Equal(root.GetProperty("accuracy").GetDouble(), p.Value.GetProperty("accuracy").GetDouble()));
        var headline = root.GetProperty("byMethod").GetProperty("feature-ablation");
        Assert.Equal(headline.GetProperty("supportingFact").GetDouble(), root.GetProperty("supportingFact").GetDouble());
        Assert.True(root.GetProperty("accuracy").GetDouble() >= 0.9, $"accuracy {root.GetProperty("accuracy").GetDouble()}");
        Assert.True(root.GetProperty("supportingFact").GetDouble() > root.GetProperty("chance").GetDouble() + 0.3, root.ToString());
        Assert.Contains("feature-ablation", output.ToString(), StringComparison.Ordinal);
    }

    private static (int Code, string Output, string Error) Run(params string[] arguments)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = CaptumCli.Run(["--plugins", Path.Combine(BuildOutputs.Of(Path.Combine("src", "Captum.Cli")), "plugins"), "llm-eval", .. arguments], output, error);
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public void LlmEval_Threads_RunsWithTheCountPrintsItAndPutsTheCallersBack()
    {
        using var threads = new ThreadCountGuard();

        var (code, output, error) = Run("--stories", "1", "--method", "feature-ablation", "--threads", threads.OtherText);

        Assert.True(code == 0, error);

        // The command printed gives the count read while the stories were explained.
        Assert.Contains($" --threads {threads.Other}\n", output.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Equal(threads.Before, TorchSharp.torch.get_num_threads());
    }

    [Fact]
    public void LlmEval_JsonInFoldersNotYetMade_MakesThemWhenItWritesTheFile()
    {
        using var folder = new TempFolder();
        var json = Path.Combine(folder.Path, "new", "deeper", "quality.json");

        var (code, output, error) = Run("--stories", "1", "--method", "feature-ablation", "--json", json);

        Assert.True(code == 0, error);
        Assert.Contains($"JSON: {json}", output, StringComparison.Ordinal);
        using var document = JsonDocument.Parse(File.ReadAllText(json));
        Assert.Equal(1, document.RootElement.GetProperty("stories").GetInt32());
    }

    [Fact]
    public void LlmEval_CheckpointWithoutItsVocabulary_ExitsTwoNamingCheckpoint()
    {
        using var folder = new TempFolder();
        using (var story = StoryModel.Load())
        {
            story.Save(folder.Path);
        }

        File.Delete(Path.Combine(folder.Path, StoryTokenizer.VocabularyFile));

        var (code, _, error) = Run("--stories", "1", "--checkpoint", folder.Path);

        Assert.Equal(2, code);
        Assert.Contains("error: --checkpoint: ", error, StringComparison.Ordinal);
        Assert.Contains("vocab.txt not found", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("folder")]
    [InlineData("proc")]
    public void LlmEval_JsonThatCannotBeWritten_ExitsTwoNamingJsonBeforeAnyStory(string kind)
    {
        using var folder = new TempFolder();
        var json = kind == "folder" ? folder.Path : "/proc/self/quality.json";

        var (code, _, error) = Run("--stories", "50", "--json", json);

        Assert.Equal(2, code);
        Assert.Contains("error: --json: ", error, StringComparison.Ordinal);
        Assert.DoesNotContain("stories", error, StringComparison.Ordinal);
    }

    [Fact]
    public void LlmEval_UnknownMethod_ExitsNonZeroNamingIt()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();

        var code = CaptumCli.Run(
            ["--plugins", Path.Combine(BuildOutputs.Of(Path.Combine("src", "Captum.Cli")), "plugins"), "llm-eval", "--stories", "2", "--method", "occlusion"],
            output,
            error);

        Assert.NotEqual(0, code);
        Assert.Contains("occlusion", error.ToString(), StringComparison.Ordinal);
    }
}
