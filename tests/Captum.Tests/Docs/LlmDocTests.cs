using System.Globalization;
using System.Text.RegularExpressions;
using Xunit;

namespace Captum.Tests.Docs;

/// <summary>docs/llm.md's figures of the story model the plugin ships.</summary>
public sealed partial class LlmDocTests
{
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
