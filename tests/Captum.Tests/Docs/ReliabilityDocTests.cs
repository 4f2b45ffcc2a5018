using System.Text.RegularExpressions;
using Xunit;

namespace Captum.Tests.Docs;

/// <summary>docs/reliability.md cites tests and files that exist.</summary>
public sealed partial class ReliabilityDocTests
{
    private static string Doc => File.ReadAllText(Path.Combine(GettingStartedDocTests.RepositoryRoot(), "docs", "reliability.md"));

    [Fact]
    public void ReliabilityDoc_EveryCitedTest_Exists()
    {
        var tests = typeof(ReliabilityDocTests).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods().Select(m => $"{t.Name}.{m.Name}"))
            .ToHashSet(StringComparer.Ordinal);

        var cited = TestCitation().Matches(Doc).Select(m => m.Value).Distinct().ToList();

        Assert.True(cited.Count >= 30, $"the doc cites {cited.Count} tests");
        Assert.All(cited, c => Assert.Contains(c, tests));
    }

    [Fact]
    public void ReliabilityDoc_EveryCitedFile_Exists()
    {
        var root = GettingStartedDocTests.RepositoryRoot();

        var cited = FileCitation().Matches(Doc).Select(m => m.Groups["path"].Value).Distinct().ToList();

        Assert.NotEmpty(cited);
        Assert.All(cited, path => Assert.True(File.Exists(Path.Combine(root, path)), $"{path} does not exist"));
    }

    // A test class and method in backticks: `ZipChecksumTests.Load_OneByteChanged...`.
    [GeneratedRegex(@"(?<=`)[A-Z][A-Za-z]+(Tests|Properties)\.[A-Z][A-Za-z_]+(?=`)")]
    private static partial Regex TestCitation();

    [GeneratedRegex(@"`(?<path>(src|plugins|tests)/[^`]+\.cs)`")]
    private static partial Regex FileCitation();
}
