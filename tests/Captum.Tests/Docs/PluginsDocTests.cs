using System.Text.RegularExpressions;
using Xunit;

namespace Captum.Tests.Docs;

/// <summary>docs/plugins.md shows the code of the minimal plugin that the host tests build and load.</summary>
public sealed partial class PluginsDocTests
{
    [Fact]
    public void PluginsDoc_CSharpSnippets_AreTheMinimalPluginsCode()
    {
        var root = GettingStartedDocTests.RepositoryRoot();
        var doc = File.ReadAllText(Path.Combine(root, "docs", "plugins.md"));
        var source = Normalize(File.ReadAllText(Path.Combine(root, "tests", "TestPlugins", "Captum.Plugins.Minimal", "MinimalPlugin.cs")));

        var snippets = CSharpBlock().Matches(doc).Select(m => m.Groups["code"].Value).ToList();
        Assert.NotEmpty(snippets);
        foreach (var snippet in snippets)
        {
            Assert.Contains(Normalize(snippet), source, StringComparison.Ordinal);
        }
    }

    /// <summary>Code without comments and indentation, one line per statement line.</summary>
    private static string Normalize(string code) => string.Join(
        "\n",
        code.ReplaceLineEndings("\n").Split('\n')
            .Select(l => (l.IndexOf("//", StringComparison.Ordinal) is var c and >= 0 ? l[..c] : l).Trim())
            .Where(l => l.Length > 0));

    [GeneratedRegex(@"```csharp\n(?<code>.*?)```", RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();
}
