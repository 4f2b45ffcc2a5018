using Captum.Explain;
using Captum.Hosting;
using Captum.Plugins;
using TorchSharp;
using Xunit;

namespace Captum.Tests.Hosting;

public sealed class PluginHostTests
{
    private static string MinimalOutput => BuildOutputs.Of(Path.Combine("tests", "TestPlugins", "Captum.Plugins.Minimal"));

    [Fact]
    public void Load_MinimalPluginFolder_OffersAModelThatExplains()
    {
        using var scope = torch.NewDisposeScope();
        using var root = new TempFolder();
        BuildOutputs.Copy(MinimalOutput, Path.Combine(root.Path, "Captum.Plugins.Minimal"));

        using var host = PluginHost.Load([root.Path]);

        Assert.Empty(host.Failures);
        var plugin = Assert.Single(host.Plugins);
        Assert.Equal("minimal", plugin.Plugin.Name);
        using var model = host.GetModelProvider("bag-of-words").Load(new Dictionary<string, string>(), new Dictionary<string, string>());
        var prepared = model.Prepare(new Dictionary<string, string> { ["text"] = "good movie plot" });
        using var explanation = ModelExplainer.Explain(model, prepared, new ExplanationOptions { Steps = 20 });

        Assert.Equal("positive", explanation.Label);
        var tokens = explanation.Inputs[0].TokenAttributions!;
        Assert.Equal(3, tokens.Count);
        Assert.True(tokens[0] > tokens[1] && tokens[0] > tokens[2], $"'good' should carry the answer: {string.Join(", ", tokens)}");
        Assert.True(Math.Abs(explanation.Delta) < 1e-4);
    }

    [Fact]
    public void ExplanationStrategies_MinimalPlugin_ItsStrategyFollowsTheBuiltInOnesAndRuns()
    {
        using var scope = torch.NewDisposeScope();
        using var root = new TempFolder();
        BuildOutputs.Copy(MinimalOutput, Path.Combine(root.Path, "Captum.Plugins.Minimal"));
        using var host = PluginHost.Load([root.Path]);
        using var model = host.GetModelProvider("bag-of-words").Load(new Dictionary<string, string>(), new Dictionary<string, string>());
        var prepared = model.Prepare(new Dictionary<string, string> { ["text"] = "good movie plot" });

        var strategies = host.ExplanationStrategies;
        using var explanation = ModelExplainer.Explain(model, prepared, strategies.Get("token-drop"));

        Assert.Equal(["layer-ig", "interpretable-embedding", "gradient-x-activation", "occlusion", "token-drop"], strategies.Names);
        Assert.Equal("positive", explanation.Label);
        // Positive score = mean(x) - mean(y) of the embeddings: 1/3 for "good movie plot"; without "good" 0, and
        // "movie" (0.1, 0.1) and "plot" (0, 0) change nothing.
        var tokens = explanation.Inputs[0].TokenAttributions!;
        Assert.Equal(3, tokens.Count);
        Assert.Equal(1.0 / 3, tokens[0], 1e-6);
        Assert.Equal(0.0, tokens[1], 1e-6);
        Assert.Equal(0.0, tokens[2], 1e-6);
        Assert.True(double.IsNaN(explanation.Delta));
    }

    [Fact]
    public void Load_BrokenPluginBesideAGoodOne_ReportsPathAndReasonAndLoadsTheOther()
    {
        using var root = new TempFolder();
        BuildOutputs.Copy(MinimalOutput, Path.Combine(root.Path, "Captum.Plugins.Minimal"));
        var broken = Directory.CreateDirectory(Path.Combine(root.Path, "Broken")).FullName;
        File.WriteAllBytes(Path.Combine(broken, "Broken.dll"), [0x4d, 0x5a, 1, 2, 3, 4]);
        var empty = Directory.CreateDirectory(Path.Combine(root.Path, "Empty")).FullName;

        using var host = PluginHost.Load([root.Path]);

        Assert.Equal("minimal", Assert.Single(host.Plugins).Plugin.Name);
        Assert.Equal(2, host.Failures.Count);
        Assert.Contains(host.Failures, f => f.Path == Path.Combine(broken, "Broken.dll") && f.Reason.Length > 0);
        Assert.Contains(host.Failures, f => f.Path == empty && f.Reason.Contains("no main assembly", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_AssemblyWithoutEntryPoint_ReportsIt()
    {
        using var root = new TempFolder();
        var folder = Directory.CreateDirectory(Path.Combine(root.Path, "Captum.Core")).FullName;
        File.Copy(typeof(ICaptumPlugin).Assembly.Location, Path.Combine(folder, "Captum.Core.dll"));

        using var host = PluginHost.Load([root.Path]);

        Assert.Empty(host.Plugins);
        Assert.Contains("implements ICaptumPlugin", Assert.Single(host.Failures).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_BundledVqaPlugin_OffersTheVqaModel()
    {
        using var host = PluginHost.Load([Path.Combine(BuildOutputs.Of(Path.Combine("src", "Captum.Cli")), "plugins")]);

        Assert.Empty(host.Failures);
        var provider = host.GetModelProvider("vqa");
        Assert.Equal(["checkpoint", "resnet"], provider.Files.Select(f => f.Name));
    }

    [Fact]
    public void GetModelProvider_UnknownName_ListsTheAvailableOnes()
    {
        using var root = new TempFolder();
        BuildOutputs.Copy(MinimalOutput, Path.Combine(root.Path, "Captum.Plugins.Minimal"));
        using var host = PluginHost.Load([root.Path, Path.Combine(root.Path, "missing")]);

        var ex = Assert.Throws<ArgumentException>(() => host.GetModelProvider("vqa"));
        Assert.Contains("bag-of-words", ex.Message, StringComparison.Ordinal);
    }
}
