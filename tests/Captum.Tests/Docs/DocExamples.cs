using System.Text.RegularExpressions;
using Xunit;

namespace Captum.Tests.Docs;

/// <summary>
/// A doc's C# examples and the test that runs them: each ```csharp block, its <c>using</c> lines aside, stands in the
/// test's source (lines compared trimmed, blank lines ignored).
/// </summary>
internal static partial class DocExamples
{
    /// <summary>Asserts <paramref name="doc"/> (under docs/) has <paramref name="count"/> C# blocks and each is code of <paramref name="test"/> (under tests/Captum.Tests/).</summary>
    public static void AreTestedCode(string doc, string test, int count)
    {
        var root = GettingStartedDocTests.RepositoryRoot();
        var text = File.ReadAllText(Path.Combine(root, "docs", doc));
        var source = Normalize(File.ReadAllText(Path.Combine(root, "tests", "Captum.Tests", test)));
        var blocks = CSharpBlock().Matches(text).Select(m => m.Groups["code"].Value).ToList();
        Assert.Equal(count, blocks.Count);
        Assert.All(blocks, block => Assert.Contains(Normalize(UsingLine().Replace(block, string.Empty)), source, StringComparison.Ordinal));
    }

    private static string Normalize(string code) => string.Join(
        "\n",
        code.ReplaceLineEndings("\n").Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0));

    [GeneratedRegex(@"```csharp\n(?<code>.*?)```", RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();

    [GeneratedRegex(@"^\s*using [A-Za-z.]+;\s*$", RegexOptions.Multiline)]
    private static partial Regex UsingLine();
}
