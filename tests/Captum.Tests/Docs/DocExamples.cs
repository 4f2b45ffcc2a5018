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
    /// <remarks>
    /// A block's <c>using</c> lines must all be the test file's too, so the code compiles as the reader copies it (with
    /// an ambiguous name such as TensorStringStyle under both <c>using TorchSharp</c> and <c>using static
    /// TorchSharp.torch</c>, the test would not build). <paramref name="doc"/> may start with "../" for README.md.
    /// </remarks>
    public static void AreTestedCode(string doc, string test, int count)
    {
        var root = GettingStartedDocTests.RepositoryRoot();
        var text = File.ReadAllText(Path.GetFullPath(Path.Combine(root, "docs", doc)));
        var blocks = CSharpBlock().Matches(text).Select(m => m.Groups["code"].Value).ToList();
        Assert.Equal(count, blocks.Count);
        Assert.All(blocks, block => IsCodeOf(block, test));
    }

    /// <summary>
    /// Asserts <paramref name="code"/>, its <c>using</c> lines aside, stands in <paramref name="test"/> (under
    /// tests/Captum.Tests/), lines compared trimmed and blank lines ignored, and its <c>using</c> lines are the test's too.
    /// </summary>
    public static void IsCodeOf(string code, string test)
    {
        var testSource = File.ReadAllText(Path.Combine(GettingStartedDocTests.RepositoryRoot(), "tests", "Captum.Tests", test));
        Assert.Contains(Normalize(UsingLine().Replace(code, string.Empty)), Normalize(testSource), StringComparison.Ordinal);
        Assert.Empty(Usings(code).Except(Usings(testSource)));
    }

    private static string[] Usings(string code) =>
        UsingLine().Matches(code).Select(m => m.Value.Trim()).Where(u => u != "using Xunit;").Distinct().Order(StringComparer.Ordinal).ToArray();

    private static string Normalize(string code) => string.Join(
        "\n",
        code.ReplaceLineEndings("\n").Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0));

    [GeneratedRegex(@"```csharp\n(?<code>.*?)```", RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();

    [GeneratedRegex(@"^\s*using (static )?[A-Za-z.]+;\s*$", RegexOptions.Multiline)]
    private static partial Regex UsingLine();
}
