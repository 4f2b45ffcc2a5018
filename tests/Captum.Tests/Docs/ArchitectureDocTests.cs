using System.Text.RegularExpressions;
using Xunit;

namespace Captum.Tests.Docs;

/// <summary>docs/architecture.md names the engines and tests that exist, and every engine there is.</summary>
public sealed partial class ArchitectureDocTests
{
    [Fact]
    public void ArchitectureDoc_EngineTable_NamesEveryFileOfCommonAndNothingElse()
    {
        var root = GettingStartedDocTests.RepositoryRoot();
        var doc = File.ReadAllText(Path.Combine(root, "docs", "architecture.md")).ReplaceLineEndings("\n");
        var common = Directory.GetFiles(Path.Combine(root, "src", "Captum.Attr", "Common"), "*.cs")
            .Select(Path.GetFileNameWithoutExtension)
            .ToHashSet(StringComparer.Ordinal);

        var section = doc[doc.IndexOf("### The engines", StringComparison.Ordinal)..doc.IndexOf("## How a call flows", StringComparison.Ordinal)];
        var named = EngineRow().Matches(section)
            .SelectMany(m => Backticked().Matches(m.Groups["first"].Value).Select(b => b.Groups["name"].Value))
            .ToHashSet(StringComparer.Ordinal);

        Assert.Empty(common.Except(named).Order());
        // A name in the first column that is no file of Common/ must be a type declared in one (AblationFeatures).
        var sources = string.Join("\n", common.Select(f => File.ReadAllText(Path.Combine(root, "src", "Captum.Attr", "Common", f + ".cs"))));
        Assert.Empty(named.Except(common).Where(n => !Regex.IsMatch(sources, $@"\b(class|record|struct|enum) {n}\b")).Order());
    }

    [Fact]
    public void ArchitectureDoc_FolderTable_NamesEveryFolderAndEveryHelperFileOfAttr()
    {
        var root = GettingStartedDocTests.RepositoryRoot();
        var doc = File.ReadAllText(Path.Combine(root, "docs", "architecture.md")).ReplaceLineEndings("\n");
        var section = doc[doc.IndexOf("## Inside Captum.Attr", StringComparison.Ordinal)..doc.IndexOf("### The contract", StringComparison.Ordinal)];
        var attr = Path.Combine(root, "src", "Captum.Attr");
        var folders = Directory.GetDirectories(attr).Select(Path.GetFileName).Where(f => f is not ("bin" or "obj")).ToList();
        Assert.True(folders.Count >= 10, string.Join(", ", folders));
        Assert.Empty(folders.Where(f => !section.Contains($"`{f}/`", StringComparison.Ordinal)).Order());

        // In the families' folders a file is a method (named as its class) or a helper the table names.
        var methods = typeof(Captum.Attr.IntegratedGradients).Assembly.GetExportedTypes()
            .Where(t => t.IsClass && typeof(Captum.Attr.IAttribution).IsAssignableFrom(t))
            .Select(t => t.Name.Split('`')[0])
            .Concat(["Infidelity", "SensitivityMax"])
            .ToHashSet(StringComparer.Ordinal);
        var helpers = new[] { "Gradient", "Perturbation", "Layer", "Neuron", "Metrics" }
            .SelectMany(f => Directory.GetFiles(Path.Combine(attr, f), "*.cs"))
            .Select(Path.GetFileNameWithoutExtension)
            .Where(f => !methods.Contains(f!))
            .ToList();
        Assert.Contains("FeatureMask", helpers);
        Assert.Empty(helpers.Where(h => !section.Contains($"`{h}`", StringComparison.Ordinal)).Order());
    }

    [Fact]
    public void ArchitectureDoc_Checklist_NamesTestsThatExist()
    {
        var root = GettingStartedDocTests.RepositoryRoot();
        var doc = File.ReadAllText(Path.Combine(root, "docs", "architecture.md"));
        var checklist = doc[doc.IndexOf("## Adding a method", StringComparison.Ordinal)..];
        var testNames = typeof(ArchitectureDocTests).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods().Select(m => $"{t.Name}.{m.Name}"))
            .ToHashSet(StringComparer.Ordinal);

        var cited = TestCitation().Matches(checklist).Select(m => m.Value).Distinct().ToList();
        Assert.True(cited.Count >= 8, $"the checklist cites {cited.Count} tests");
        Assert.All(cited, c => Assert.Contains(c, testNames));
    }

    [Fact]
    public void Plugins_EverySourceFile_DeclaresOnePublicTypeNamedAsTheFile()
    {
        // Issue 10's rule for the plugins (samples/ are read as single files and may hold a small plugin whole).
        var root = GettingStartedDocTests.RepositoryRoot();
        var sources = Directory.GetFiles(Path.Combine(root, "plugins"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                        && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .ToList();
        Assert.True(sources.Count > 50, $"{sources.Count} plugin sources found");

        var wrong = sources
            .Select(f => (File: Path.GetRelativePath(root, f), Types: PublicTopLevelType().Matches(File.ReadAllText(f)).Select(m => m.Groups["name"].Value).ToList()))
            .Where(f => f.Types.Count > 1 || (f.Types.Count == 1 && f.Types[0] != Path.GetFileNameWithoutExtension(f.File)))
            .Select(f => $"{f.File}: {string.Join(", ", f.Types)}")
            .ToList();
        Assert.Empty(wrong);
    }

    [Fact]
    public void Plugins_EveryPublicTopLevelType_HasAFileNamedAfterIt()
    {
        // The compiled view of the rule above: every exported type (delegates and indented declarations included) has
        // its own file, so a type the source scan misses still needs a file of its name.
        var root = GettingStartedDocTests.RepositoryRoot();
        var files = Directory.GetFiles(Path.Combine(root, "plugins"), "*.cs", SearchOption.AllDirectories)
            .Select(Path.GetFileNameWithoutExtension)
            .ToHashSet(StringComparer.Ordinal);
        var types = new[] { typeof(Captum.Plugins.Vqa.VqaModel), typeof(Captum.Plugins.TextGeneration.Model.Gpt2Config) }
            .SelectMany(t => t.Assembly.GetExportedTypes())
            .Where(t => !t.IsNested)
            .Select(t => t.Name.Split('`')[0])
            .ToList();

        Assert.True(types.Count > 40, $"{types.Count} public types");
        var withoutFile = types.Where(t => !files.Contains(t)).ToList();
        Assert.True(withoutFile.Count == 0, "public types without a file of their name: " + string.Join(", ", withoutFile));
    }

    [GeneratedRegex(@"^public (?:(?:sealed|static|abstract|readonly|partial) )*(?:record struct|record|class|interface|enum|struct) (?<name>[A-Za-z_][A-Za-z0-9_]*)", RegexOptions.Multiline)]
    private static partial Regex PublicTopLevelType();

    [GeneratedRegex(@"^\| (?<first>[^|]*) \|", RegexOptions.Multiline)]
    private static partial Regex EngineRow();

    [GeneratedRegex(@"`(?<name>[A-Za-z]+)`")]
    private static partial Regex Backticked();

    [GeneratedRegex(@"\b[A-Z][A-Za-z]+Tests\.[A-Z][A-Za-z_]+")]
    private static partial Regex TestCitation();
}
