using System.Text.Json;
using Captum.Plugins.Vqa.Commands;
using Captum.Tests.Checkpoints;
using Xunit;

namespace Captum.Tests.Plugins.Vqa.Commands;

/// <summary><c>captum vqa-tcav</c>, run in-process by the captum command with the plugins bundled beside it.</summary>
public sealed class VqaTcavCommandTests
{
    [Fact]
    public void VqaTcav_SmallRun_WritesEveryConceptAndLayerWithItsTest()
    {
        using var folder = new TempFolder();
        var jsonPath = Path.Combine(folder.Path, "tcav.json");

        var (code, output, error) = BundledCli.Run("vqa-tcav", "--random-concepts", "3", "--examples", "6", "--inputs", "3", "--classifier-iterations", "30", "--out", folder.Path, "--json", jsonPath);

        Assert.True(code == 0, error);
        Assert.Contains("Report:", output, StringComparison.Ordinal);
        var report = File.ReadAllText(Path.Combine(folder.Path, "report.html"));
        Assert.Contains("data:image/png;base64", report, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(File.ReadAllText(jsonPath));
        var results = json.RootElement.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal(4 * VqaTcavCommand.Layers.Count, results.Count);
        Assert.Equal(
            ["red", "blue", "circle", "control"],
            results.Select(r => r.GetProperty("concept").GetString()).Distinct());
        Assert.All(results, r =>
        {
            Assert.Equal("red", r.GetProperty("target").GetString());
            Assert.Contains(r.GetProperty("layer").GetString(), VqaTcavCommand.Layers);
            var scores = r.GetProperty("scores").EnumerateArray().Select(s => s.GetDouble()).ToList();
            Assert.Equal(3, scores.Count);
            Assert.Equal(scores.Average(), r.GetProperty("score").GetDouble(), 12);
            Assert.All(scores, s => Assert.InRange(s, 0, 1));
            var p = r.GetProperty("pValue").GetDouble();
            Assert.InRange(p, 0, 1);
            Assert.Equal(p < 0.05, r.GetProperty("significant").GetBoolean());

            // The null distribution: each random concept's mean score against the other two and the concept.
            var randomScores = r.GetProperty("randomScores").EnumerateArray().Select(s => s.GetDouble()).ToList();
            Assert.Equal(3, randomScores.Count);
            Assert.Equal(randomScores.Average(), r.GetProperty("randomMean").GetDouble(), 12);
            Assert.All(randomScores, s => Assert.InRange(s, 0, 1));
        });
    }

    [Theory]
    [InlineData("--random-concepts", "2", "--random-concepts")]
    [InlineData("--test", "welch", "--test must be among-randoms or reference")]
    public void VqaTcav_OptionOutOfRange_ExitsTwoNamingTheOption(string option, string value, string message)
    {
        using var folder = new TempFolder();

        var (code, _, error) = BundledCli.Run("vqa-tcav", option, value, "--out", folder.Path);

        Assert.Equal(2, code);
        Assert.Contains(message, error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(folder.Path, "report.html")));
    }

    [Fact]
    public void VqaTcav_JsonThatIsAFolder_ExitsTwoNamingJsonBeforeAnyWorkOrReport()
    {
        using var folder = new TempFolder();
        var outFolder = Path.Combine(folder.Path, "out");

        var (code, output, error) = BundledCli.Run("vqa-tcav", "--random-concepts", "3", "--examples", "6", "--inputs", "3", "--classifier-iterations", "30", "--out", outFolder, "--json", folder.Path);

        Assert.Equal(2, code);
        Assert.StartsWith($"captum: error: --json: {folder.Path} is a folder, not a file.", error, StringComparison.Ordinal);
        Assert.Empty(output);
        Assert.False(Directory.Exists(outFolder));
    }
}
