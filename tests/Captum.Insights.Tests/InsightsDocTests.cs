using System.Text.RegularExpressions;
using Xunit;

namespace Captum.Insights.Tests;

/// <summary>docs/insights.md: its C# example is the tested code, and its API table names every route the server maps.</summary>
public sealed partial class InsightsDocTests
{
    [Fact]
    public void InsightsDoc_CSharpExample_IsTheTestedCode()
    {
        var doc = File.ReadAllText(Path.Combine(Root(), "docs", "insights.md"));
        var source = Normalize(File.ReadAllText(Path.Combine(Root(), "tests", "Captum.Insights.Tests", "AttributionVisualizerTests.cs")));
        var blocks = CSharpBlock().Matches(doc).Select(m => m.Groups["code"].Value).ToList();
        Assert.Single(blocks);
        Assert.Contains(Normalize(UsingLine().Replace(blocks[0], string.Empty)), source, StringComparison.Ordinal);   // its usings are at the file's top there
    }

    [Fact]
    public void InsightsDoc_ApiTable_NamesEveryRoute()
    {
        var doc = File.ReadAllText(Path.Combine(Root(), "docs", "insights.md"));
        var server = File.ReadAllText(Path.Combine(Root(), "src", "Captum.Insights", "InsightsServer.cs"));
        var routes = Route().Matches(server).Select(m => m.Groups["path"].Value).Where(p => p.StartsWith("/api/", StringComparison.Ordinal) || p == "/healthz").ToList();
        Assert.True(routes.Count >= 9, $"{routes.Count} routes found");
        Assert.All(routes, r => Assert.Contains(r.Replace("/api/runs/{id}/", "/", StringComparison.Ordinal), doc, StringComparison.Ordinal));
    }

    private static string Root()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "CaptumSharp.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("the repository root (CaptumSharp.sln) is not above the test's folder.");
    }

    private static string Normalize(string code) => string.Join(
        "\n",
        code.ReplaceLineEndings("\n").Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0));

    [GeneratedRegex(@"```csharp\n(?<code>.*?)```", RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();

    [GeneratedRegex(@"^\s*using (static )?[A-Za-z.]+;\s*$", RegexOptions.Multiline)]
    private static partial Regex UsingLine();

    [GeneratedRegex(@"web\.Map(Get|Post)\(""(?<path>[^""]+)""")]
    private static partial Regex Route();
}
