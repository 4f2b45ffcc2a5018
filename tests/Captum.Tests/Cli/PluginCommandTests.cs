using Captum.Cli;
using Captum.Plugins;
using Xunit;

namespace Captum.Tests.Cli;

/// <summary>Commands that plugins add to the captum command line, through the minimal plugin.</summary>
public sealed class PluginCommandTests
{
    private static string MinimalOutput => BuildOutputs.Of(Path.Combine("tests", "TestPlugins", "Captum.Plugins.Minimal"));

    private static (int Code, string Output, string Error) Run(string pluginRoot, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = CaptumCli.Run(["--plugins", pluginRoot, .. args], output, error);
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public void Run_MinimalPluginCommand_ParsesItsOptionsAndRuns()
    {
        using var root = new TempFolder();
        BuildOutputs.Copy(MinimalOutput, Path.Combine(root.Path, "Captum.Plugins.Minimal"));

        var (code, output, error) = Run(root.Path, "minimal-score", "--text", "good movie", "--repeat", "2");

        Assert.True(code == 0, error);
        Assert.Equal(["positive", "positive"], output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }

    [Fact]
    public void Run_PluginCommandWithoutRequiredOption_ExitsNonZeroNamingIt()
    {
        using var root = new TempFolder();
        BuildOutputs.Copy(MinimalOutput, Path.Combine(root.Path, "Captum.Plugins.Minimal"));

        var (code, _, error) = Run(root.Path, "minimal-score", "--repeat", "2");

        Assert.NotEqual(0, code);
        Assert.Contains("--text", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_PluginCommandWithMistypedValue_ExitsNonZeroNamingIt()
    {
        using var root = new TempFolder();
        BuildOutputs.Copy(MinimalOutput, Path.Combine(root.Path, "Captum.Plugins.Minimal"));

        var (code, output, error) = Run(root.Path, "minimal-score", "--text", "good", "--repeat", "twice");

        Assert.NotEqual(0, code);
        Assert.DoesNotContain("positive", output, StringComparison.Ordinal);
        Assert.Contains("twice", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Plugins_MinimalPlugin_ListsItsCommand()
    {
        using var root = new TempFolder();
        BuildOutputs.Copy(MinimalOutput, Path.Combine(root.Path, "Captum.Plugins.Minimal"));

        var (code, output, _) = Run(root.Path, "plugins");

        Assert.Equal(0, code);
        Assert.Contains("command minimal-score: Print the bag-of-words model's answer for a sentence.", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Context_ValuesOfEachKind_ReadBackOrNameTheOption()
    {
        var context = new PluginCommandContext(
            new Dictionary<string, string> { ["n"] = "42", ["x"] = "0.25", ["flag"] = "true", ["text"] = "hi", ["bad"] = "4.5" },
            TextWriter.Null,
            TextWriter.Null);

        Assert.Equal(42L, context.GetInteger("n"));
        Assert.Equal(0.25, context.GetNumber("x"));
        Assert.True(context.GetFlag("flag"));
        Assert.False(context.GetFlag("absent"));
        Assert.Equal("hi", context.GetText("text"));
        Assert.Null(context.GetText("absent"));
        Assert.Equal("bad", Assert.Throws<ArgumentException>(() => context.GetInteger("bad")).ParamName);
        Assert.Equal("absent", Assert.Throws<ArgumentException>(() => context.GetNumber("absent")).ParamName);
    }

    [Fact]
    public void Context_GetTexts_RepeatedValuesInOrderOrTheSingleValueOrNone()
    {
        var context = new PluginCommandContext(
            new Dictionary<string, string> { ["one"] = "a" },
            new Dictionary<string, IReadOnlyList<string>> { ["many"] = ["x", "y"] },
            TextWriter.Null,
            TextWriter.Null);

        Assert.Equal(["x", "y"], context.GetTexts("many"));
        Assert.Equal(["a"], context.GetTexts("one"));
        Assert.Empty(context.GetTexts("absent"));
    }
}
