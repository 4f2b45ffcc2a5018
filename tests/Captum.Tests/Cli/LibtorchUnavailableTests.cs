using Captum.TestData;
using Xunit;

namespace Captum.Tests.Cli;

/// <summary>
/// The built captum command on a machine where libtorch cannot be loaded: its build output copied without the native
/// libraries (runtimes/), and TorchSharp's fallback to the NuGet packages folder pointed at an empty folder. The help
/// and the plugin list still work; a command that needs a model ends with one error line, never TorchSharp's load
/// trace or a stack trace.
/// </summary>
public sealed class LibtorchUnavailableTests : IClassFixture<LibtorchUnavailableTests.CliWithoutNatives>
{
    private readonly CliWithoutNatives cli;

    public LibtorchUnavailableTests(CliWithoutNatives cli) => this.cli = cli;

    [Fact]
    public void Help_LibtorchUnavailable_PrintsTheHelpWithoutTheLoadTrace()
    {
        var (code, output, error) = cli.Run("--help");

        Assert.Equal(0, code);
        Assert.Contains("Commands:", output, StringComparison.Ordinal);
        Assert.DoesNotContain("LoadNativeBackend", output + error, StringComparison.Ordinal);
    }

    [Fact]
    public void Plugins_LibtorchUnavailable_ListsThePluginsAndSaysNoModelCanRun()
    {
        var (code, output, error) = cli.Run("plugins");

        Assert.Equal(0, code);
        Assert.Contains("command vqa:", output, StringComparison.Ordinal);
        var libtorch = Assert.Single(output.Split('\n'), line => line.StartsWith("libtorch: ", StringComparison.Ordinal));
        Assert.Contains("native runtime is unavailable", libtorch, StringComparison.Ordinal);
        Assert.DoesNotContain("LoadNativeBackend", output + error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("explain", "--model", "vqa", "--input", "image={scene}", "--input", "question=what color is the circle")]
    [InlineData("vqa", "--image", "{scene}", "--question", "what color is the circle")]
    [InlineData("llm", "--prompt", "john went to the garden . where is john ?")]
    public void ModelCommand_LibtorchUnavailable_OneErrorLineExit2NothingWritten(params string[] args)
    {
        var scene = Path.Combine(SharedData.RepositoryRoot(), "samples", "scenes", "scene-100-0000.png");
        using var temp = new TempFolder();
        var outFolder = Path.Combine(temp.Path, "out");

        var (code, output, error) = cli.Run([.. args.Select(a => a.Replace("{scene}", scene, StringComparison.Ordinal)), "--out", outFolder]);

        Assert.Equal(2, code);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("captum: error: TorchSharp's native runtime is unavailable:", line, StringComparison.Ordinal);
        Assert.Contains("scripts/setup.sh", line, StringComparison.Ordinal);
        Assert.DoesNotContain("LoadNativeBackend", output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output + error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(outFolder), "a command that could not run wrote its output folder");
    }

    /// <summary>The CLI's build output without runtimes/ (libtorch and the other natives), in a temporary folder.</summary>
    public sealed class CliWithoutNatives : IDisposable
    {
        private readonly TempFolder root = new();

        public CliWithoutNatives()
        {
            var build = BuildOutputs.Of(Path.Combine("src", "Captum.Cli"));
            foreach (var file in Directory.EnumerateFiles(build, "*", SearchOption.AllDirectories))
            {
                var relative = Path.GetRelativePath(build, file);
                if (relative.StartsWith("runtimes" + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                {
                    continue;
                }

                var destination = Path.Combine(Folder, relative);
                Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
                File.Copy(file, destination);
            }

            Directory.CreateDirectory(EmptyPackages);
        }

        private string Folder => Path.Combine(root.Path, "cli");

        private string EmptyPackages => Path.Combine(root.Path, "no-packages");

        // TorchSharp, failing to load libtorch beside itself, looks in the NuGet packages folder.
        public (int Code, string Output, string Error) Run(params string[] args) =>
            CliProcess.Run(Path.Combine(Folder, "captum.dll"), new Dictionary<string, string?> { ["NUGET_PACKAGES"] = EmptyPackages, ["CAPTUM_PLUGINS"] = null }, args);

        public void Dispose() => root.Dispose();
    }
}
