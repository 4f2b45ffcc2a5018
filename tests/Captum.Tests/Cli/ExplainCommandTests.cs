using System.Text.Json.Nodes;
using Captum.Tests.Plugins.Vqa.Commands;
using Xunit;

namespace Captum.Tests.Cli;

/// <summary><c>captum explain</c>: any loaded model by name, the same result.json and report as <c>captum vqa</c>.</summary>
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
        }
    }

    [Theory]
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

    private static string GettingStartedDocsRoot() => Captum.Tests.Docs.GettingStartedDocTests.RepositoryRoot();
}
