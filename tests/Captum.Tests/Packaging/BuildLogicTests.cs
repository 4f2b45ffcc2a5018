using System.Text.RegularExpressions;
using Xunit;

namespace Captum.Tests.Packaging;

/// <summary>
/// What Directory.Build.targets and CaptumSharp.Plugins.Sdk's targets make of the build outputs (docs/packaging.md):
/// libraries depend on TorchSharp alone, executables carry the backend, plugins carry nothing the host shares.
/// scripts/test-packages.sh checks the same through the packed packages.
/// </summary>
public sealed partial class BuildLogicTests
{
    public static TheoryData<string> Libraries() =>
    [
        "Captum.Core", "Captum.Attr", "Captum.Visualization", "Captum.Checkpoints", "Captum.Influence",
        "Captum.Robust", "Captum.Concept", "Captum.Explain", "Captum.Hosting",
    ];

    [Theory]
    [MemberData(nameof(Libraries))]
    public void Library_DependsOnTorchSharpWithoutABackend(string library)
    {
        var deps = File.ReadAllText(Path.Combine(BuildOutputs.Of(Path.Combine("src", library)), library + ".deps.json"));

        Assert.Matches(@"""TorchSharp/0\.107\.0""", deps);
        Assert.DoesNotMatch(Backend(), deps);
    }

    [Fact]
    public void Cli_CarriesABackend()
    {
        // TorchSharp-cpu by default, TorchSharp-cuda-linux with -p:TorchBackend=cuda.
        var deps = File.ReadAllText(Path.Combine(BuildOutputs.Of(Path.Combine("src", "Captum.Cli")), "captum.deps.json"));

        Assert.Matches(Backend(), deps);
    }

    [Theory]
    [InlineData("Captum.Plugins.Minimal")]
    [InlineData("Captum.Plugins.Template")]
    public void PluginOutput_HoldsOnlyItsOwnFiles(string plugin)
    {
        var folder = BuildOutputs.Of(Path.Combine("tests", "TestPlugins", plugin));
        var files = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(folder, f)).ToList();

        Assert.All(files, f => Assert.StartsWith(plugin + ".", f, StringComparison.Ordinal));
        Assert.True(files.Sum(f => new FileInfo(Path.Combine(folder, f)).Length) < 1024 * 1024, string.Join(", ", files));
    }

    [Fact]
    public void VqaPluginOutput_HasNoTorchSharpLibtorchOrSharedAssembly()
    {
        var folder = BuildOutputs.Of(Path.Combine("plugins", "Vqa"));
        var shared = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Select(Path.GetFileName)
            .Where(f => HostShared().IsMatch(f!))
            .ToList();

        Assert.Empty(shared);
    }

    [GeneratedRegex(@"""(TorchSharp-c(pu|uda)[a-z-]*|libtorch[a-z0-9.-]*)/")]
    private static partial Regex Backend();

    [GeneratedRegex(@"^(TorchSharp|libtorch|libLibTorchSharp|SkiaSharp|SixLabors\.ImageSharp|Captum\.(Core|Attr|Visualization|Explain)\.dll)", RegexOptions.IgnoreCase)]
    private static partial Regex HostShared();
}
