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
        Assert.Contains(Normalize(WithoutUsings(code)), Normalize(testSource), StringComparison.Ordinal);
        Assert.Empty(Usings(code).Except(Usings(testSource)));
    }

    /// <summary><paramref name="code"/> without its <c>using</c> directive lines (a doc shows them; the test file has them at its top).</summary>
    public static string WithoutUsings(string code) => UsingLine().Replace(code, string.Empty);

    /// <summary>Every ```csharp block of docs/*.md and README.md under <paramref name="root"/>: the file (relative to it), the block's index in it, its code.</summary>
    public static IReadOnlyList<(string Doc, int Index, string Code)> AllBlocks(string root) =>
        Directory.GetFiles(Path.Combine(root, "docs"), "*.md")
            .Append(Path.Combine(root, "README.md"))
            .Order(StringComparer.Ordinal)
            .SelectMany(f => CSharpBlock().Matches(File.ReadAllText(f).ReplaceLineEndings("\n"))
                .Select((m, i) => (Path.GetRelativePath(root, f), i, m.Groups["code"].Value)))
            .ToList();

    /// <summary>
    /// The sources whose code runs in a test: every .cs file under tests/ that declares a test ([Fact], [Theory],
    /// [Property]), and every .cs file of a samples/ folder that a project under tests/ builds (a ProjectReference to
    /// its project, as Captum.Tests has to samples/GettingStarted, or a Compile Include of its files, as the minimal
    /// test plugin has of samples/MinimalPlugin, which the host and CLI tests load).
    /// </summary>
    public static IReadOnlyList<string> TestedSources(string root)
    {
        var tests = Path.Combine(root, "tests");
        var testFiles = Sources(tests).Where(f => TestAttribute().IsMatch(File.ReadAllText(f)));
        var sampleFolders = Directory.EnumerateFiles(tests, "*.csproj", SearchOption.AllDirectories)
            .SelectMany(project => SampleInclude().Matches(File.ReadAllText(project))
                .Select(m => Path.GetFullPath(Path.Combine(Path.GetDirectoryName(project)!, m.Groups["path"].Value.Replace('\\', '/')))))
            .Select(path => Path.GetDirectoryName(path)!)
            .Distinct(StringComparer.Ordinal);
        return testFiles.Concat(sampleFolders.SelectMany(Sources)).Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>The blocks whose code (<c>using</c> lines, comments and indentation aside) stands in none of <paramref name="sources"/>' texts.</summary>
    public static IReadOnlyList<(string Doc, int Index, string Code)> Uncovered(IEnumerable<(string Doc, int Index, string Code)> blocks, IEnumerable<string> sources)
    {
        var texts = sources.Select(WithoutComments).ToList();
        return blocks.Where(b => WithoutComments(b.Code) is var code && (code.Length == 0 || !texts.Any(t => t.Contains(code, StringComparison.Ordinal)))).ToList();
    }

    private static IEnumerable<string> Sources(string folder) =>
        Directory.EnumerateFiles(folder, "*.cs", SearchOption.AllDirectories).Where(f => !BuildFolder().IsMatch(f));

    private static string WithoutComments(string code) => Normalize(string.Join(
        "\n",
        WithoutUsings(code).ReplaceLineEndings("\n").Split('\n').Select(l => l.IndexOf("//", StringComparison.Ordinal) is var c and >= 0 ? l[..c] : l)));

    private static string[] Usings(string code) =>
        UsingLine().Matches(code).Select(m => m.Value.Trim()).Where(u => u != "using Xunit;").Distinct().Order(StringComparer.Ordinal).ToArray();

    private static string Normalize(string code) => string.Join(
        "\n",
        code.ReplaceLineEndings("\n").Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0));

    [GeneratedRegex(@"```csharp\n(?<code>.*?)```", RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();

    [GeneratedRegex(@"^\s*using (static )?[A-Za-z.]+;\s*$", RegexOptions.Multiline)]
    private static partial Regex UsingLine();

    [GeneratedRegex(@"^\s*\[(Fact|Theory|Property)\b", RegexOptions.Multiline)]
    private static partial Regex TestAttribute();

    [GeneratedRegex(@"Include=""(?<path>[^""]*\bsamples[\\/][^""]+)""")]
    private static partial Regex SampleInclude();

    [GeneratedRegex(@"[\\/](bin|obj)[\\/]")]
    private static partial Regex BuildFolder();
}
