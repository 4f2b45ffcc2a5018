using Captum.Cli;
using Xunit;

namespace Captum.Tests.Cli;

/// <summary>
/// The plugin that <c>dotnet new captum-plugin</c> makes (src/Captum.Templates), built in the repository, loaded by the
/// captum command: its command gets the model by constructor injection and explains its answer.
/// </summary>
public sealed class TemplatePluginTests
{
    private static string TemplateOutput => BuildOutputs.Of(Path.Combine("tests", "TestPlugins", "Captum.Plugins.Template"));

    private static (int Code, string Output, string Error) Run(params string[] args)
    {
        using var root = new TempFolder();
        BuildOutputs.Copy(TemplateOutput, Path.Combine(root.Path, "Captum.Plugins.Template"));
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = CaptumCli.Run(["--plugins", root.Path, .. args], output, error);
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public void Run_TemplateExplainCommand_AnswersAndCreditsTheDecidingWord()
    {
        var (code, output, error) = Run("my-plugin-explain", "--text", "great plot", "--steps", "20");

        Assert.True(code == 0, error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.StartsWith("positive", lines[0], StringComparison.Ordinal);
        var scores = lines[1..].Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .ToDictionary(p => p[0], p => double.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(["great", "plot"], scores.Keys);
        // "plot" embeds to zero, the baseline: all of the positive score is "great"'s.
        Assert.True(scores["great"] > 0.5, output);
        Assert.Equal(0, scores["plot"], 3);
    }

    [Fact]
    public void Run_TemplateExplainCommandWithZeroSteps_ExitsTwoNamingTheOption()
    {
        var (code, _, error) = Run("my-plugin-explain", "--text", "good movie", "--steps", "0");

        Assert.Equal(2, code);
        Assert.Contains("--steps", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Plugins_TemplatePlugin_ListsItsModelAndCommand()
    {
        var (code, output, error) = Run("plugins");

        Assert.True(code == 0, error);
        Assert.Contains("model my-plugin-words", output, StringComparison.Ordinal);
        Assert.Contains("command my-plugin-explain", output, StringComparison.Ordinal);
    }
}
