using System.Collections.Immutable;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Captum.Tests.Docs;

/// <summary>What compiling one C# block of a doc gave: the block, and Roslyn's errors and warnings (empty when it compiles), or why it is not compiled.</summary>
internal sealed record DocSnippetResult(DocSnippet Snippet, IReadOnlyList<string> Diagnostics)
{
    public bool Compiled => Snippet.NotCompiledReason is null;

    public override string ToString() =>
        $"{Snippet.Doc}:{Snippet.Line}: the block starting '{Snippet.Code.Split('\n').FirstOrDefault(l => l.Trim().Length > 0)?.Trim()}'\n" + string.Join("\n", Diagnostics.Select(d => "    " + d));
}

/// <summary>
/// Compiles a doc's C# blocks with Roslyn (compile only, nothing runs) as a reader who copies one into a new console
/// project would: against the CaptumSharp libraries, TorchSharp, their dependencies and the shared frameworks, with the
/// implicit usings of <c>dotnet new console</c> and only the <c>using</c> directives the doc shows. A block passes when
/// Roslyn reports neither an error nor a warning for it (nullable warnings included, as in a new project).
/// </summary>
/// <remarks>
/// <para>A block is a program (top-level statements, with types after them if it declares any) or, when it has no
/// statement, declarations (a class, a namespace). Its usings are its own, those of every C# block above it in the same
/// doc (a guide shows its usings once, in its first example), and the implicit ones.</para>
/// <para>The HTML comments right above a block's fence say more:</para>
/// <list type="bullet">
/// <item><c>&lt;!-- not compiled: REASON --&gt;</c>: the block is not compiled (pseudo-code, an excerpt of a larger
/// file that the build compiles, ...); the reason is required.</item>
/// <item><c>&lt;!-- continues the block above --&gt;</c>: the block is compiled after the C# block above it (and what
/// that one continues), so the variables and types declared there are in scope.</item>
/// <item><c>&lt;!-- given: DECLARATIONS --&gt;</c>: C# fields (<c>Tensor image; nn.Module&lt;Tensor, Tensor&gt; model;</c>)
/// and types standing for what the prose says the reader has (a model, a batch, a folder). They are in scope in this
/// block and every later block of the doc, a later <c>given</c> of the same name replacing the type. They are compiled
/// in a file of their own with TorchSharp's and every CaptumSharp namespace imported, and only their names reach the
/// block (through <c>using static</c>), never a namespace.</item>
/// </list>
/// </remarks>
internal static class DocSnippetCompiler
{
    /// <summary>The class that holds the givens; the blocks see its members through <c>global using static</c>.</summary>
    private const string GivenClass = "DocSnippetGiven";

    /// <summary>The implicit usings of a new console project (Microsoft.NET.Sdk's ImplicitUsings).</summary>
    private static readonly string[] ImplicitUsings =
    [
        "System", "System.Collections.Generic", "System.IO", "System.Linq", "System.Net.Http", "System.Threading", "System.Threading.Tasks",
    ];

    /// <summary>What the givens' file imports (the names the givens' types use; none of them reaches a block).</summary>
    private static readonly string[] GivenUsings =
    [
        "TorchSharp", "TorchSharp.Modules", "static TorchSharp.torch", "Captum", "Captum.Attr", "Captum.Batch", "Captum.Checkpoints",
        "Captum.Explain", "Captum.Forward", "Captum.Influence", "Captum.Insights", "Captum.Layers", "Captum.Metrics", "Captum.Plugins",
        "Captum.Robust", "Captum.Visualization",
    ];

    /// <summary>The CaptumSharp libraries a reader references (the packages' assemblies); with their dependencies, the references besides the shared frameworks.</summary>
    private static readonly string[] Libraries =
    [
        "Captum.Core", "Captum.Attr", "Captum.Checkpoints", "Captum.Robust", "Captum.Influence", "Captum.Concept", "Captum.Explain",
        "Captum.Hosting", "Captum.Batch", "Captum.Visualization", "Captum.Insights", "TorchSharp",
    ];

    private static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest, DocumentationMode.None);

    /// <summary>One compilation per output kind, without source: every block's compilation adds its trees to one of them and so reuses the bound references.</summary>
    private static readonly Lazy<(CSharpCompilation Program, CSharpCompilation Library)> Empty = new(() =>
    {
        var references = References();
        var options = new CSharpCompilationOptions(
            OutputKind.ConsoleApplication,
            nullableContextOptions: NullableContextOptions.Enable,
            // The SDK's default NoWarn: assembly version unification.
            specificDiagnosticOptions: new Dictionary<string, ReportDiagnostic> { ["CS1701"] = ReportDiagnostic.Suppress, ["CS1702"] = ReportDiagnostic.Suppress });
        var program = CSharpCompilation.Create("DocSnippet", references: references, options: options);
        return (program, program.WithOptions(options.WithOutputKind(OutputKind.DynamicallyLinkedLibrary)));
    });

    /// <summary>The assemblies every block compiles against, by simple name.</summary>
    public static IReadOnlyList<string> ReferenceNames =>
        Empty.Value.Program.References.Select(r => Path.GetFileNameWithoutExtension(r.Display!)).ToList();

    /// <summary>Compiles every C# block of <paramref name="snippets"/> (one doc's, in order); the exempt ones give no diagnostics.</summary>
    public static IReadOnlyList<DocSnippetResult> Compile(IReadOnlyList<DocSnippet> snippets)
    {
        var results = new List<DocSnippetResult>();
        var givens = new List<(string Name, string Declaration, int Line, string Doc)>();
        for (var i = 0; i < snippets.Count; i++)
        {
            var snippet = snippets[i];
            var problems = new List<string>();
            if (snippet.Given is not null)
            {
                AddGivens(givens, snippet, problems);
            }

            if (snippet.NotCompiledReason is not null)
            {
                results.Add(new DocSnippetResult(snippet, problems));
                continue;
            }

            var chain = Chain(snippets, i, problems);
            var earlierUsings = snippets.Take(i - chain.Count + 1).SelectMany(s => Usings(s.Code)).Distinct(StringComparer.Ordinal).ToList();
            if (problems.Count == 0)
            {
                problems.AddRange(CompileChain(chain, earlierUsings, givens));
            }

            results.Add(new DocSnippetResult(snippet, problems));
        }

        return results;
    }

    /// <summary>The blocks compiled together for block <paramref name="index"/>: the blocks it continues, then itself.</summary>
    private static List<DocSnippet> Chain(IReadOnlyList<DocSnippet> snippets, int index, List<string> problems)
    {
        var chain = new List<DocSnippet> { snippets[index] };
        for (var i = index; snippets[i].Continues; i--)
        {
            if (i == 0 || snippets[i - 1].NotCompiledReason is not null)
            {
                problems.Add($"'<!-- {DocSnippets.ContinuesTheBlockAbove} -->' with no compiled C# block above it");
                break;
            }

            chain.Insert(0, snippets[i - 1]);
        }

        return chain;
    }

    private static void AddGivens(List<(string Name, string Declaration, int Line, string Doc)> givens, DocSnippet snippet, List<string> problems)
    {
        // The wrapper's brace shares the given's first line, so a member's line in this tree is its offset in the given.
        var tree = CSharpSyntaxTree.ParseText("class G {" + snippet.Given + "\n}", ParseOptions);
        foreach (var diagnostic in tree.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error))
        {
            problems.Add($"{snippet.Doc}:{snippet.GivenLine + diagnostic.Location.GetLineSpan().StartLinePosition.Line}: given: {diagnostic.Id}: {diagnostic.GetMessage()}");
        }

        var members = tree.GetCompilationUnitRoot().DescendantNodes().OfType<ClassDeclarationSyntax>().First().Members;
        foreach (var member in members)
        {
            var line = snippet.GivenLine + member.GetLocation().GetLineSpan().StartLinePosition.Line;
            var declarations = member switch
            {
                FieldDeclarationSyntax field => field.Declaration.Variables
                    .Select(v => (v.Identifier.Text, $"public static {field.Declaration.Type} {v};")),
                BaseTypeDeclarationSyntax type => [(type.Identifier.Text, WithPublic(type.Modifiers, type.ToString()))],
                DelegateDeclarationSyntax type => [(type.Identifier.Text, WithPublic(type.Modifiers, type.ToString()))],
                _ => null,
            };
            if (declarations is null)
            {
                problems.Add($"{snippet.Doc}:{line}: given: only fields and types, not '{member.ToString().Split('\n')[0]}'");
                continue;
            }

            foreach (var (name, declaration) in declarations)
            {
                givens.RemoveAll(g => g.Name == name);
                givens.Add((name, declaration, line, snippet.Doc));
            }
        }
    }

    private static string WithPublic(SyntaxTokenList modifiers, string declaration) =>
        modifiers.Any(m => m.IsKind(SyntaxKind.PublicKeyword) || m.IsKind(SyntaxKind.InternalKeyword)) ? declaration : "public " + declaration;

    private static IEnumerable<string> CompileChain(List<DocSnippet> chain, List<string> earlierUsings, List<(string Name, string Declaration, int Line, string Doc)> givens)
    {
        var doc = chain[^1].Doc;
        var trees = new List<SyntaxTree>();
        var program = new StringBuilder();
        var hoisted = new List<string>();
        foreach (var piece in chain)
        {
            var parsed = CSharpSyntaxTree.ParseText(piece.Code, ParseOptions).GetCompilationUnitRoot();
            var text = $"#line {piece.Line} \"{piece.Doc}\"\n";
            if (!parsed.Members.Any(m => m is GlobalStatementSyntax))
            {
                trees.Add(CSharpSyntaxTree.ParseText(text + piece.Code, ParseOptions, path: piece.Doc));
            }
            else if (program.Length == 0)
            {
                program.Append(text).Append(piece.Code);
            }
            else
            {
                // Top-level statements live in one file: a later piece's usings move to the global ones, its lines stay where they were.
                var code = piece.Code.ToCharArray();
                foreach (var directive in parsed.Usings)
                {
                    hoisted.Add(directive.WithoutTrivia().ToString());
                    for (var c = directive.SpanStart; c < directive.Span.End; c++)
                    {
                        code[c] = code[c] == '\n' ? '\n' : ' ';
                    }
                }

                program.Append('\n').Append(text).Append(code);
            }
        }

        if (program.Length > 0)
        {
            trees.Add(CSharpSyntaxTree.ParseText(program.ToString(), ParseOptions, path: doc));
        }

        var chainUsings = chain.SelectMany(s => Usings(s.Code)).ToHashSet(StringComparer.Ordinal);
        var globalUsings = ImplicitUsings.Select(u => $"using {u};")
            .Concat(earlierUsings.Where(u => !chainUsings.Contains(u)))
            .Concat(hoisted)
            .Append($"using static {GivenClass};")
            .Distinct(StringComparer.Ordinal)
            .Select(u => "global " + u);
        trees.Add(CSharpSyntaxTree.ParseText(string.Join("\n", globalUsings), ParseOptions, path: "(implicit and earlier usings)"));
        trees.Add(CSharpSyntaxTree.ParseText(GivenSource(givens), ParseOptions, path: "(given)"));

        var empty = program.Length > 0 ? Empty.Value.Program : Empty.Value.Library;
        return empty.AddSyntaxTrees(trees).GetDiagnostics()
            .Where(d => d.Severity >= DiagnosticSeverity.Warning)
            .OrderBy(d => d.Location.GetMappedLineSpan().StartLinePosition)
            .Select(Format)
            .Distinct(StringComparer.Ordinal)
            .ToList();
    }

    private static string GivenSource(List<(string Name, string Declaration, int Line, string Doc)> givens)
    {
        // Annotations as in the blocks (string? environment), no nullable warnings: a given has no value to check.
        var source = new StringBuilder("#nullable disable warnings\n");
        foreach (var directive in GivenUsings)
        {
            source.Append("using ").Append(directive).Append(";\n");
        }

        source.Append("public static class ").Append(GivenClass).Append("\n{\n");
        foreach (var given in givens)
        {
            source.Append($"#line {given.Line} \"{given.Doc}\"\n").Append(given.Declaration).Append('\n');
        }

        return source.Append("#line default\n}\n").ToString();
    }

    private static string Format(Diagnostic diagnostic)
    {
        var span = diagnostic.Location.GetMappedLineSpan();
        var where = span.IsValid ? $"{span.Path}:{span.StartLinePosition.Line + 1}" : "(no location)";
        return $"{where}: {diagnostic.Severity.ToString().ToLowerInvariant()} {diagnostic.Id}: {diagnostic.GetMessage()}";
    }

    /// <summary>The file-level <c>using</c> directives of <paramref name="code"/> (not <c>using var</c> statements), as written without trivia.</summary>
    private static IEnumerable<string> Usings(string code) =>
        CSharpSyntaxTree.ParseText(code, ParseOptions).GetCompilationUnitRoot().Usings.Select(u => u.WithoutTrivia().ToString());

    /// <summary>
    /// The shared frameworks' assemblies this process runs on (Microsoft.NETCore.App and Microsoft.AspNetCore.App, which
    /// Captum.Insights brings), the CaptumSharp libraries and TorchSharp, and every assembly those reference, found
    /// among the test's trusted assemblies. Test-only assemblies (xunit, the samples) are left out.
    /// </summary>
    private static ImmutableArray<MetadataReference> References()
    {
        var trusted = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        var byName = trusted.GroupBy(p => Path.GetFileNameWithoutExtension(p), StringComparer.OrdinalIgnoreCase).ToDictionary(g => g.Key, g => g.First(), StringComparer.OrdinalIgnoreCase);
        var chosen = trusted.Where(p => Path.GetFileName(Path.GetDirectoryName(Path.GetDirectoryName(Path.GetDirectoryName(p)))) == "shared").ToHashSet(StringComparer.Ordinal);

        var pending = new Stack<string>(Libraries.Select(name => byName.TryGetValue(name, out var path) ? path : throw new InvalidOperationException($"{name}.dll is not among the test's assemblies")));
        while (pending.TryPop(out var path))
        {
            if (!chosen.Add(path))
            {
                continue;
            }

            using var stream = File.OpenRead(path);
            using var pe = new PEReader(stream);
            var metadata = pe.GetMetadataReader();
            foreach (var handle in metadata.AssemblyReferences)
            {
                var name = metadata.GetString(metadata.GetAssemblyReference(handle).Name);
                if (byName.TryGetValue(name, out var dependency))
                {
                    pending.Push(dependency);
                }
            }
        }

        return [.. chosen.Order(StringComparer.Ordinal).Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))];
    }
}
