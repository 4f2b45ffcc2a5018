using System.Text.RegularExpressions;
using Xunit;

namespace Captum.Tests.Docs;

/// <summary>docs/plugins.md shows the code and the project file of the minimal plugin (samples/MinimalPlugin) that the host tests build and load.</summary>
public sealed partial class PluginsDocTests
{
    [Fact]
    public void PluginsDoc_CSharpSnippets_AreTheMinimalPluginsCode()
    {
        var root = GettingStartedDocTests.RepositoryRoot();
        var doc = File.ReadAllText(Path.Combine(root, "docs", "plugins.md"));
        var source = Normalize(File.ReadAllText(Path.Combine(root, "samples", "MinimalPlugin", "MinimalPlugin.cs")));

        var snippets = CSharpBlock().Matches(doc).Select(m => m.Groups["code"].Value).ToList();
        Assert.NotEmpty(snippets);
        foreach (var snippet in snippets)
        {
            Assert.Contains(Normalize(snippet), source, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void PluginsDoc_ProjectFile_IsTheMinimalPluginsProjectFile()
    {
        // scripts/test-packages.sh builds this block, copied as is outside the repository, against the packages.
        var root = GettingStartedDocTests.RepositoryRoot();
        var doc = File.ReadAllText(Path.Combine(root, "docs", "plugins.md")).ReplaceLineEndings("\n");
        var match = ProjectBlock().Match(doc);
        Assert.True(match.Success, "docs/plugins.md lost its marked project file");

        var project = File.ReadAllText(Path.Combine(root, "samples", "MinimalPlugin", "Captum.Plugins.Minimal.csproj")).ReplaceLineEndings("\n");
        Assert.Equal(project, Unindent(match.Groups["code"].Value));
    }

    [Theory]
    [InlineData("samples/MinimalPlugin/Captum.Plugins.Minimal.csproj")]
    [InlineData("src/Captum.Templates/content/captum-plugin/CaptumPluginTemplate.csproj")]
    public void PluginProjectFile_OutsideTheBuild_IsWellFormedXml(string path)
    {
        // Neither is built by the solution (they reference the packages), so a slip such as "--" inside an XML comment
        // would first show in scripts/test-packages.sh or on a user's machine.
        var file = Path.Combine(GettingStartedDocTests.RepositoryRoot(), path);

        var project = System.Xml.Linq.XDocument.Load(file);

        Assert.Equal("Project", project.Root!.Name.LocalName);
        Assert.Equal("Microsoft.NET.Sdk", project.Root.Attribute("Sdk")?.Value);
    }

    /// <summary>A fenced block of a list item, without the item's indentation.</summary>
    private static string Unindent(string block)
    {
        var lines = block.Split('\n');
        var indent = lines.Where(l => l.Trim().Length > 0).Min(l => l.Length - l.TrimStart().Length);
        return string.Join("\n", lines.Select(l => l.Length >= indent ? l[indent..] : l.TrimStart()));
    }

    /// <summary>Code without comments and indentation, one line per statement line.</summary>
    private static string Normalize(string code) => string.Join(
        "\n",
        code.ReplaceLineEndings("\n").Split('\n')
            .Select(l => (l.IndexOf("//", StringComparison.Ordinal) is var c and >= 0 ? l[..c] : l).Trim())
            .Where(l => l.Length > 0));

    [GeneratedRegex(@"```csharp\n(?<code>.*?)```", RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();

    [GeneratedRegex(@"<!-- begin: samples/MinimalPlugin/Captum\.Plugins\.Minimal\.csproj -->\s*```xml\n(?<code>.*?\n)[ ]*```\s*<!-- end", RegexOptions.Singleline)]
    private static partial Regex ProjectBlock();
}
