using Xunit;

namespace Captum.Tests.Docs;

/// <summary>
/// Every C# block of docs/*.md and README.md is code that a test compiles and runs: it stands (its <c>using</c> lines,
/// comments and indentation aside) in a test file, or in a sample that a test project builds and a test runs. A new
/// block without its test fails here, naming the doc and the block.
/// </summary>
public sealed class DocsCoverageTests
{
    [Fact]
    public void Docs_EveryCSharpBlock_IsTheCodeOfATest()
    {
        var root = GettingStartedDocTests.RepositoryRoot();
        var blocks = DocExamples.AllBlocks(root);
        var sources = DocExamples.TestedSources(root).Select(File.ReadAllText).ToList();

        var uncovered = DocExamples.Uncovered(blocks, sources);

        Assert.Contains(blocks, b => b.Doc == Path.Combine("docs", "api.md"));
        Assert.True(uncovered.Count == 0, "C# blocks no test runs:\n" + string.Join("\n", uncovered.Select(b => $"{b.Doc} block {b.Index + 1}: {b.Code.Split('\n')[0]}")));
    }

    [Fact]
    public void TestedSources_Repository_AreTestFilesAndTheSamplesTestProjectsBuild()
    {
        var root = GettingStartedDocTests.RepositoryRoot();

        var sources = DocExamples.TestedSources(root).Select(f => Path.GetRelativePath(root, f)).ToList();

        Assert.Contains(Path.Combine("tests", "Captum.Tests", "Docs", "ApiDocTests.cs"), sources);
        Assert.Contains(Path.Combine("samples", "GettingStarted", "GettingStartedExample.cs"), sources);
        Assert.Contains(Path.Combine("samples", "MinimalPlugin", "MinimalPlugin.cs"), sources);
        Assert.DoesNotContain(Path.Combine("tests", "Captum.Tests", "Docs", "DocExamples.cs"), sources);
        Assert.DoesNotContain(sources, s => s.StartsWith("src", StringComparison.Ordinal));
    }

    [Fact]
    public void Uncovered_BlocksInAndOutOfTheSources_OnlyTheMissingAndTheEmptyAreReported()
    {
        string[] sources =
        [
            """
            using Xunit;
            public void Test()
            {
                    var ig = new IntegratedGradients(model);   // a comment of the test's own
                using var result = ig.Attribute(x);
            }
            """,
        ];
        (string Doc, int Index, string Code)[] blocks =
        [
            ("docs/a.md", 0, "using Captum.Attr;\nvar ig = new IntegratedGradients(model);   // the doc's comment\n\nusing var result = ig.Attribute(x);\n"),
            ("docs/a.md", 1, "var ig = new IntegratedGradients(model);\nusing var result = ig.Attribute(y);\n"),
            ("docs/b.md", 0, "// only a comment\n"),
        ];

        var uncovered = DocExamples.Uncovered(blocks, sources);

        Assert.Equal([("docs/a.md", 1), ("docs/b.md", 0)], uncovered.Select(b => (b.Doc, b.Index)));
    }
}
