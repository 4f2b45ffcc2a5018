using Captum.Cli;
using Captum.TestData;
using Xunit;

namespace Captum.Tests.Cli;

/// <summary>The captum command itself: generic over plugins, it knows none by name.</summary>
public sealed class CaptumCliTests
{
    private static string MinimalOutput => BuildOutputs.Of(Path.Combine("tests", "TestPlugins", "Captum.Plugins.Minimal"));

    private static (int Code, string Output, string Error) Run(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = CaptumCli.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public void CliSources_AnyFile_NamesNoPlugin()
    {
        var folder = Path.Combine(SharedData.RepositoryRoot(), "src", "Captum.Cli");
        var files = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".cs", StringComparison.Ordinal) || f.EndsWith(".csproj", StringComparison.Ordinal))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .ToList();

        Assert.NotEmpty(files);
        foreach (var file in files)
        {
            var text = File.ReadAllText(file);
            Assert.False(text.Contains("vqa", StringComparison.OrdinalIgnoreCase), $"{file} names the VQA plugin");
            Assert.False(text.Contains("minimal", StringComparison.OrdinalIgnoreCase), $"{file} names the minimal plugin");
        }
    }

    [Fact]
    public void Run_OnlyTheMinimalPlugin_HasItsCommandsAndNoVqa()
    {
        using var root = new TempFolder();
        BuildOutputs.Copy(MinimalOutput, Path.Combine(root.Path, "Captum.Plugins.Minimal"));

        var (vqaCode, _, vqaError) = Run("--plugins", root.Path, "vqa", "--image", "a.png", "--question", "what is it");
        var (helpCode, help, _) = Run("--plugins", root.Path, "--help");

        Assert.Equal(1, vqaCode);
        Assert.Contains("'vqa'", vqaError, StringComparison.Ordinal);
        Assert.Equal(0, helpCode);
        Assert.Contains("minimal-score", help, StringComparison.Ordinal);
    }

    [Fact]
    public void Plugins_MinimalPlugin_ListsItsExplanationMethodButNotTheBuiltInOnes()
    {
        using var root = new TempFolder();
        BuildOutputs.Copy(MinimalOutput, Path.Combine(root.Path, "Captum.Plugins.Minimal"));

        var (code, output, _) = Run("--plugins", root.Path, "plugins");

        Assert.Equal(0, code);
        Assert.Contains("  method token-drop: Each token replaced by its baseline token in turn", output, StringComparison.Ordinal);
        Assert.DoesNotContain("method layer-ig", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Plugins_TwoPlugins_EachListsItsOwnModelsCommandsAndMethodsUnderIt()
    {
        using var root = new TempFolder();
        BuildOutputs.Copy(MinimalOutput, Path.Combine(root.Path, "Captum.Plugins.Minimal"));
        BuildOutputs.Copy(BuildOutputs.Of(Path.Combine("tests", "TestPlugins", "Captum.Plugins.Template")), Path.Combine(root.Path, "Captum.Plugins.Template"));

        var (code, output, _) = Run("--plugins", root.Path, "plugins");

        Assert.Equal(0, code);
        var lines = output.ReplaceLineEndings("\n").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        // The kernel check's line (TorchRuntime.KernelWarning), on CPUs where oneDNN was switched off, is no plugin.
        var headers = lines.Select((l, i) => (l, i)).Where(x => !x.l.StartsWith(' ') && !x.l.StartsWith("libtorch: ", StringComparison.Ordinal)).Select(x => x.i).ToList();
        Assert.Equal(2, headers.Count);
        var sections = headers.Select((h, k) => lines[h..(k + 1 < headers.Count ? headers[k + 1] : lines.Length)]).ToList();
        var minimal = Assert.Single(sections, s => s.Any(l => l.Contains("command minimal-score", StringComparison.Ordinal)));
        Assert.Contains(minimal, l => l.StartsWith("  method token-drop", StringComparison.Ordinal));
        Assert.Contains(minimal, l => l.StartsWith("  model ", StringComparison.Ordinal));
        var template = Assert.Single(sections, s => s != minimal);
        Assert.DoesNotContain(template, l => l.Contains("minimal-score", StringComparison.Ordinal) || l.Contains("token-drop", StringComparison.Ordinal));
        Assert.Contains(template, l => l.StartsWith("  command ", StringComparison.Ordinal));
    }

    [Fact]
    public void Plugins_AfterTheKernelCheck_SaysWhetherOneDnnWasSwitchedOffAndWhy()
    {
        using var root = new TempFolder();
        BuildOutputs.Copy(MinimalOutput, Path.Combine(root.Path, "Captum.Plugins.Minimal"));

        var (code, output, _) = Run("--plugins", root.Path, "plugins");

        Assert.Equal(0, code);
        var said = output.ReplaceLineEndings("\n").Split('\n').Where(l => l.StartsWith("libtorch: ", StringComparison.Ordinal)).ToList();
        if (Captum.Runtime.TorchRuntime.KernelWarning is { } warning)
        {
            Assert.Equal("libtorch: " + warning, Assert.Single(said));
            Assert.Contains("switched off", warning, StringComparison.Ordinal);
        }
        else
        {
            Assert.Empty(said);
        }
    }

    [Fact]
    public void Run_PluginsFolderThatDoesNotExist_ExitsTwoNamingPlugins()
    {
        using var root = new TempFolder();
        var missing = Path.Combine(root.Path, "no-such-plugins");

        var (code, output, error) = Run("--plugins", missing, "plugins");

        Assert.Equal(2, code);
        Assert.Equal($"captum: error: --plugins: folder not found: {missing}", error.TrimEnd());
        Assert.Empty(output);
    }

    [Fact]
    public void Run_PluginsVariableNamingAFolderThatDoesNotExist_WarnsNamingItAndUsesTheOthers()
    {
        using var root = new TempFolder();
        var missing = Path.Combine(root.Path, "gone");
        var plugins = Path.Combine(root.Path, "plugins");
        BuildOutputs.Copy(MinimalOutput, Path.Combine(plugins, "Captum.Plugins.Minimal"));

        // A process of its own: the variable is read from the environment, which the other tests share.
        var (code, output, error) = CliProcess.Run(
            CliProcess.BuiltCli,
            new Dictionary<string, string?> { [CaptumCli.PluginsVariable] = string.Join(Path.PathSeparator, missing, plugins) },
            "plugins");

        Assert.True(code == 0, error);
        Assert.Equal($"captum: warning: ${CaptumCli.PluginsVariable} names a folder that does not exist: {missing}", Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries)).TrimEnd());
        Assert.Contains("bag-of-words", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_PluginsGivenAFile_ExitsTwoAskingForItsFolder()
    {
        using var root = new TempFolder();
        var file = Path.Combine(root.Path, "Captum.Plugins.Minimal.dll");
        File.WriteAllText(file, "not a folder");

        var (code, _, error) = Run("--plugins", file, "plugins");

        Assert.Equal(2, code);
        Assert.Equal($"captum: error: --plugins: {file} is a file; give the folder of plugins it is in.", error.TrimEnd());
    }
}
