using System.Globalization;
using System.Text.RegularExpressions;
using Captum.Attr;
using TorchSharp;
using Xunit;

namespace Captum.Tests.Docs;

/// <summary>docs/llm.md's figures of the story model the plugin ships, and its C# example, which runs here.</summary>
public sealed partial class LlmDocTests
{
    [Fact]
    public void LlmDoc_Examples_AreTheTestedCode() =>
        DocExamples.AreTestedCode("llm.md", Path.Combine("Docs", "LlmDocTests.cs"), 1);

    [Fact]
    public void LlmDoc_TemplateBaselines_DrawNameAndPronounTogether()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(2);
        string[] vocab = ["<unk>", "<s>", "Dave", "Sarah", "John", "lives", "in", "Paris", "Seattle", "Boston", "and", "is", "a", "lawyer", ".", "his", "her", "personal", "interests", "include", "hiking"];
        var model = new Captum.Plugins.TextGeneration.Model.Gpt2LMHeadModel(new(vocab.Length, 32, 8, 2, 1));
        model.eval();
        var tokenizer = new Captum.Golden.WordTokenizer(vocab);

        var baselines = new TextProductBaselines(seed: 1)
        {
            { ["name", "pronoun"], [["Sarah", "her"], ["John", "his"]] },   // drawn together
            { "city", ["Seattle", "Boston"] },
        };
        var input = new TextTemplateInput(
            "{name} lives in {city} and is a lawyer . {pronoun} personal interests include",
            new Dictionary<string, string> { ["name"] = "Dave", ["city"] = "Paris", ["pronoun"] = "his" },
            new TextTemplateOptions
            {
                BaselineProduct = baselines,
                NamedMask = new Dictionary<string, int> { ["name"] = 0, ["pronoun"] = 0, ["city"] = 1 },   // name and pronoun: one feature
            });
        using var result = LLMAttribution.FeatureAblation(model, tokenizer).Attribute(input, "hiking", new LLMAttributionOptions<FeatureAblationOptions> { SkipTokens = ["<s>"] });

        // Per value, the name and the pronoun sharing their feature's attribution.
        var attribution = result.SequenceAttribution.data<float>().ToArray();
        Assert.Equal(3, attribution.Length);
        Assert.Equal(attribution[0], attribution[2]);
        using var personRemoved = torch.tensor(new float[,] { { 0, 1 } });
        for (var i = 0; i < 20; i++)
        {
            Assert.Matches("^(Sarah .* her|John .* his) personal", input.ToText(personRemoved));
        }
    }

    [Fact]
    public void LlmDoc_EverySizeInKilobytes_IsTheShippedModelFiles()
    {
        var root = GettingStartedDocTests.RepositoryRoot();
        var doc = File.ReadAllText(Path.Combine(root, "docs", "llm.md"));
        var bytes = new FileInfo(Path.Combine(root, "plugins", "TextGeneration", "Stories", "story-model", "model.safetensors")).Length;

        var sizes = Kilobytes().Matches(doc).Select(m => int.Parse(m.Groups["kb"].Value, CultureInfo.InvariantCulture)).ToList();

        Assert.NotEmpty(sizes);
        Assert.All(sizes, kb => Assert.Equal(Math.Round(bytes / 1000.0), kb));
    }

    [GeneratedRegex(@"(?<kb>\d+) KB")]
    private static partial Regex Kilobytes();
}
