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

/// <summary>A plugin command in a real captum process stopped by SIGTERM, as kill, Kubernetes and Slurm stop one.</summary>
public sealed class PluginCommandSignalTests
{
    [Theory]
    [InlineData("-TERM")]
    [InlineData("-INT")]
    public async Task Run_PluginCommandTerminatedOrInterrupted_Exits130AndWritesNothingHalfDone(string signal)
    {
        using var temp = new TempFolder();
        var folder = Path.Combine(temp.Path, "model");
        var started = new TaskCompletionSource();
        var errors = new System.Collections.Concurrent.ConcurrentQueue<string>();

        // llm-train checks its token before every step and writes the model folder only when training ends.
        using var process = Captum.Tests.Batch.IndexedJobWorker.Start(
            ["llm-train", "--steps", "1000000", "--batch-size", "4", "--width", "16", "--heads", "1", "--layers", "1", "--held-out-stories", "0", "--out", folder],
            0,
            1,
            line =>
            {
                errors.Enqueue(line);
                if (line.StartsWith("llm-train:", StringComparison.Ordinal))
                {
                    started.TrySetResult();
                }
            });
        await started.Task.WaitAsync(TimeSpan.FromMinutes(2));
        await Signal(process, signal);

        // Without the CLI's handling the runtime ends the process at once: exit 143 (SIGTERM) or 130 with nothing said (SIGINT).
        Assert.Equal(130, process.ExitCode);
        Assert.Contains("llm-train: cancelled.", errors);
        Assert.DoesNotContain(errors, line => line.Contains("Unhandled exception", StringComparison.Ordinal));
        Assert.False(Directory.Exists(folder), "a cancelled training wrote a model folder");
    }

    [Theory]
    [InlineData("-TERM")]
    [InlineData("-INT")]
    public async Task Explain_InterruptedMidRun_SaysCancelledExits130AndWritesNothing(string signal)
    {
        using var temp = new TempFolder();
        var folder = Path.Combine(temp.Path, "out");
        var started = new TaskCompletionSource();
        var errors = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var process = Captum.Tests.Batch.IndexedJobWorker.Start(
            ["explain", "--model", "vqa", "--input", $"image={Path.Combine(Captum.TestData.SharedData.RepositoryRoot(), "samples", "scenes", "scene-100-0000.png")}", "--input", "question=what color is the circle", "--steps", "100000", "--out", folder],
            0,
            1,
            line =>
            {
                errors.Enqueue(line);
                if (line.StartsWith("explain: ", StringComparison.Ordinal))
                {
                    started.TrySetResult();
                }
            });
        await started.Task.WaitAsync(TimeSpan.FromMinutes(2));
        await Signal(process, signal);

        Assert.Equal(130, process.ExitCode);
        Assert.Contains("explain: cancelled; nothing was written.", errors);
        Assert.False(File.Exists(Path.Combine(folder, "report.html")));
    }

    private static async Task Signal(System.Diagnostics.Process process, string signal)
    {
        using (var kill = System.Diagnostics.Process.Start("kill", [signal, $"{process.Id}"]))
        {
            await kill.WaitForExitAsync();
        }

        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
    }
}
