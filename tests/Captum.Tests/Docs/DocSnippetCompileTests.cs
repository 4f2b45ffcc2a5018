using System.Diagnostics;
using Xunit;
using Xunit.Abstractions;

namespace Captum.Tests.Docs;

/// <summary>
/// Every C# block of docs/*.md, README.md and src/package-readme.md compiles as a reader would paste it into a new
/// console project: with the implicit usings and only the <c>using</c> lines the doc shows (the block's own and those of
/// the blocks above it). Blocks that do not stand alone say so in the markdown (<see cref="DocSnippetCompiler"/>).
/// Compile only: the tests that run the examples are the docs' own (MethodsDocTests, ApiDocTests, ...).
/// </summary>
public sealed class DocSnippetCompileTests(ITestOutputHelper output)
{
    public static TheoryData<string> Docs() => [.. DocSnippets.DocFiles(GettingStartedDocTests.RepositoryRoot())];

    [Theory]
    [MemberData(nameof(Docs))]
    public void Compile_EveryCSharpBlockOfTheDoc_CompilesWithTheUsingsTheDocShows(string doc)
    {
        var root = GettingStartedDocTests.RepositoryRoot();
        var snippets = DocSnippets.Parse(doc, File.ReadAllText(Path.Combine(root, doc)));
        var watch = Stopwatch.StartNew();

        var results = DocSnippetCompiler.Compile(snippets);

        var compiled = results.Count(r => r.Compiled);
        output.WriteLine($"{doc}: {compiled} blocks compiled, {results.Count - compiled} not compiled, {watch.ElapsedMilliseconds} ms ({DocSnippetCompiler.ReferenceNames.Count} references)");
        foreach (var exempt in results.Where(r => !r.Compiled))
        {
            output.WriteLine($"  {exempt.Snippet.Doc}:{exempt.Snippet.Line} not compiled: {exempt.Snippet.NotCompiledReason}");
        }

        var failed = results.Where(r => r.Diagnostics.Count > 0).ToList();
        Assert.True(failed.Count == 0, $"{failed.Count} C# blocks of {doc} do not compile:\n" + string.Join("\n", failed));
    }

    [Fact]
    public void ReferenceNames_TestProcess_AreTheLibrariesTheirDependenciesAndTheFrameworks()
    {
        var names = DocSnippetCompiler.ReferenceNames;

        output.WriteLine(string.Join(", ", names.Where(n => !n.StartsWith("System", StringComparison.Ordinal) && !n.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal))));
        Assert.Contains("Captum.Attr", names);
        Assert.Contains("Captum.Insights", names);
        Assert.Contains("TorchSharp", names);
        Assert.Contains("System.Runtime", names);
        Assert.Contains("Microsoft.Extensions.DependencyInjection.Abstractions", names);
        Assert.DoesNotContain(names, n => n.StartsWith("xunit", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain("Captum.Tests", names);
        Assert.DoesNotContain("Captum.Cli", names);
        Assert.DoesNotContain("GettingStarted", names);
    }

    [Fact]
    public void DocFiles_Repository_ListTheGuidesAndBothReadmes()
    {
        var docs = DocSnippets.DocFiles(GettingStartedDocTests.RepositoryRoot());

        Assert.Contains("docs/methods.md", docs);
        Assert.Contains("README.md", docs);
        Assert.Contains("src/package-readme.md", docs);
    }

    [Fact]
    public void Compile_SnippetWithoutTheUsingItNeeds_ReportsTheDocLineAndTheDiagnostic()
    {
        const string markdown = """
            # Doc

            <!-- given: nn.Module<Tensor, Tensor> model; -->
            ```csharp
            var ig = new IntegratedGradients(model);
            ```
            """;

        var result = Assert.Single(CompileDoc(markdown));

        Assert.Equal(5, result.Snippet.Line);
        Assert.Contains(result.Diagnostics, d => d.StartsWith("docs/x.md:5: error CS0246:", StringComparison.Ordinal) && d.Contains("IntegratedGradients", StringComparison.Ordinal));
    }

    [Fact]
    public void Compile_UsingOfAnEarlierBlock_IsInheritedByTheBlocksBelow()
    {
        const string markdown = """
            ```csharp
            using Captum.Attr;
            using static TorchSharp.torch;

            var model = nn.Linear(3, 2);
            ```

            ```csharp
            var saliency = new Saliency(nn.Linear(3, 2));
            Tensor zeros = zeros_like(rand(2, 3));
            ```
            """;

        var results = CompileDoc(markdown);

        Assert.Equal(2, results.Count);
        Assert.All(results, r => Assert.Empty(r.Diagnostics));
    }

    [Fact]
    public void Compile_ContinuedBlock_SeesTheVariablesAboveAndOtherBlocksDoNot()
    {
        const string markdown = """
            ```csharp
            var count = int.Parse("3");
            ```

            <!-- continues the block above -->
            ```csharp
            Console.WriteLine(count + 2);
            ```

            ```csharp
            Console.WriteLine(count + 1);
            ```
            """;

        var results = CompileDoc(markdown);

        Assert.Empty(results[0].Diagnostics);
        Assert.Empty(results[1].Diagnostics);
        Assert.Contains(results[2].Diagnostics, d => d.StartsWith("docs/x.md:11: error CS0103:", StringComparison.Ordinal));
    }

    [Fact]
    public void Compile_ContinuedDeclarationsAndProgram_CompileTogether()
    {
        const string markdown = """
            ```csharp
            namespace Sample;

            public static class Greeting
            {
                public static string Text => "hello";
            }
            ```

            <!-- continues the block above -->
            ```csharp
            using Sample;

            Console.WriteLine(Greeting.Text);
            ```
            """;

        var results = CompileDoc(markdown);

        Assert.All(results, r => Assert.Empty(r.Diagnostics));
    }

    [Fact]
    public void Compile_GivenRedeclared_LaterBlocksSeeTheNewType()
    {
        const string markdown = """
            <!-- given: int value; -->
            ```csharp
            int twice = value * 2;
            ```

            <!-- given: string value; -->
            ```csharp
            int length = value.Length;
            ```

            ```csharp
            int twice = value * 2;
            ```
            """;

        var results = CompileDoc(markdown);

        Assert.Empty(results[0].Diagnostics);
        Assert.Empty(results[1].Diagnostics);
        Assert.Contains(results[2].Diagnostics, d => d.StartsWith("docs/x.md:12: error CS0019:", StringComparison.Ordinal));
    }

    [Fact]
    public void Compile_NotCompiledBlock_IsSkippedWithItsReason()
    {
        const string markdown = """
            <!-- not compiled: pseudo-code -->
            ```csharp
            for each example: explain it
            ```
            """;

        var result = Assert.Single(CompileDoc(markdown));

        Assert.False(result.Compiled);
        Assert.Equal("pseudo-code", result.Snippet.NotCompiledReason);
        Assert.Empty(result.Diagnostics);
    }

    [Fact]
    public void Parse_NotCompiledWithoutAReason_IsRefused()
    {
        const string markdown = """
            <!-- not compiled: -->
            ```csharp
            for each example: explain it
            ```
            """;

        var error = Assert.Throws<FormatException>(() => DocSnippets.Parse("docs/x.md", markdown));

        Assert.StartsWith("docs/x.md:1:", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_BlockOfAListItem_IsUnindentedAndOtherFencesAreSkipped()
    {
        const string markdown = """
            1. A step:

               ```csharp
               var x = 1;
               ```

            ```xml
            <Project />
            ```
            """;

        var snippet = Assert.Single(DocSnippets.Parse("docs/x.md", markdown));

        Assert.Equal("var x = 1;\n", snippet.Code);
        Assert.Equal(4, snippet.Line);
    }

    private static IReadOnlyList<DocSnippetResult> CompileDoc(string markdown) =>
        DocSnippetCompiler.Compile(DocSnippets.Parse("docs/x.md", markdown));
}
