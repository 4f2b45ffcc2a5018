using System.Text.RegularExpressions;
using Captum.Attr;
using Captum.Batch;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Docs;

/// <summary>docs/scale.md, "DataLoaderAttribution at scale": its C# is this test's, and three workers merge to the single call.</summary>
public sealed partial class ScaleDataLoaderDocTests
{
    [Fact]
    public void ScaleDoc_DataLoaderSection_ExamplesAreThisTestsCode()
    {
        var doc = File.ReadAllText(Path.Combine(GettingStartedDocTests.RepositoryRoot(), "docs", "scale.md")).ReplaceLineEndings("\n");
        var section = Section().Match(doc);
        Assert.True(section.Success, "docs/scale.md has no section \"## DataLoaderAttribution at scale\"");
        var blocks = CSharpBlock().Matches(section.Value).Select(m => m.Groups["code"].Value).ToList();

        Assert.Equal(2, blocks.Count);
        Assert.All(blocks, b => DocExamples.IsCodeOf(b, Path.Combine("Docs", "ScaleDataLoaderDocTests.cs")));
    }

    [Fact]
    public async Task ScaleDoc_DataLoaderSection_ThreeWorkersMergeToTheSingleCall()
    {
        using var scope = torch.NewDisposeScope();
        using var temp = new TempFolder();
        var outFolder = temp.Path;
        var model = new LinearModel(4, 3, seed: 31);
        var x = TestModels.Normal(32, 8, 4);
        var labels = torch.tensor(new long[] { 0, 1, 2, 0, 1, 2, 0, 1 });
        var loader = new[] { 0L, 4L }.Select(s => Inputs.Of(x.narrow(0, s, 4), labels.narrow(0, s, 4))).ToArray();

        DataLoaderAttributionOptions? options = null;
        foreach (var index in new[] { 0, 1, 2 })
        {
            var variables = new Dictionary<string, string> { ["JOB_COMPLETION_INDEX"] = $"{index}", ["CAPTUM_SHARD_COUNT"] = "3" };
            options = await Worker(outFolder, variables.GetValueOrDefault, model, loader);
        }

        var report = ShardedDataLoaderAttribution.Inspect(outFolder);   // report.Summary: passes=2 shards=3 missing=0
        using var merged = ShardedDataLoaderAttribution.Merge(outFolder);   // Attribute's result, bit for bit

        using var single = new DataLoaderAttribution(new FeatureAblation(model)).Attribute(loader, options);
        Assert.Equal("passes=2 shards=3 missing=0", report.Summary);
        Assert.Equal(single.Attribution.shape, merged.Attribution.shape);
        Assert.True(single.Attribution.bytes.SequenceEqual(merged.Attribution.contiguous().bytes));
    }

    /// <summary>The doc's worker; returns its options for the single call to compare with.</summary>
    private static async Task<DataLoaderAttributionOptions> Worker(string outFolder, Func<string, string?> environment, LinearModel model, Inputs[] loader)
    {
        var shard = ShardAssignment.Resolve(index: null, count: null, environment);
        var method = new DataLoaderAttribution(new FeatureAblation(model));
        var options = new DataLoaderAttributionOptions
        {
            InputRoles = [InputRole.NeedAttribution, InputRole.NoForward],   // features, then labels
            FeatureMask = torch.tensor(new long[,] { { 0, 0, 1, 1 } }),
            Reduce = (acc, output, batch) => (acc as Tensor ?? torch.zeros(1)) + output.argmax(1).eq(batch[1]).sum(),
            ToMetric = correct => (Tensor)correct! / 8,   // accuracy
        };
        var spec = new DataLoaderRunSpec { Loader = "eval set v3, batches of 4", Model = "classifier v7", Metric = "accuracy" };
        await ShardedDataLoaderAttribution.RunShardAsync(outFolder, spec, shard, method, loader, options);
        return options;
    }

    [GeneratedRegex(@"## DataLoaderAttribution at scale\n.*?(?=\n## )", RegexOptions.Singleline)]
    private static partial Regex Section();

    [GeneratedRegex(@"```csharp\n(?<code>.*?)```", RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();
}
