using System.Diagnostics;
using Captum.Attr;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Captum.Tests.Attr;

/// <summary>No native memory survives an attribute call except the result the caller owns.</summary>
[Collection(SerialCollection.Name)]
public sealed class MemoryTests(ITestOutputHelper output)
{
    [Fact]
    public void Attribute_HundredCalls_LeavesNoLiveTensorsAndFlatResidentMemory()
    {
        var model = TestModels.SmoothMlp(1, inputs: 256, hidden: 512, outputs: 10);
        var x = torch.randn(16, 256);
        var tokens = torch.randint(1, 12, [4, 32], ScalarType.Int64);
        var text = new BagOfWords(2);
        var ig = new IntegratedGradients(model);
        var lig = new LayerIntegratedGradients(text, "embedding");

        void Call()
        {
            using var a = ig.Attribute(x, new IntegratedGradientsOptions { Target = 3, Steps = 50, InternalBatchSize = 200, ReturnConvergenceDelta = true });
            using var b = lig.Attribute(tokens, new LayerIntegratedGradientsOptions { Target = 1, Steps = 20, ReturnConvergenceDelta = true });
        }

        for (var i = 0; i < 10; i++)
        {
            Call();
        }

        var liveBefore = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        var rssBefore = ResidentMegabytes();
        for (var i = 0; i < 100; i++)
        {
            Call();
        }

        var liveAfter = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        var rssAfter = ResidentMegabytes();
        output.WriteLine($"live tensors {liveBefore} -> {liveAfter}; resident {rssBefore:F1} MB -> {rssAfter:F1} MB");

        Assert.Equal(liveBefore, liveAfter);

        // One leaked batch of activations per call would be 50 steps x 16 x 512 floats = 1.6 MB, 160 MB in all.
        Assert.True(rssAfter - rssBefore < 40, $"resident memory grew by {rssAfter - rssBefore:F1} MB over 100 calls");
    }

    private static double ResidentMegabytes()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        return process.WorkingSet64 / (1024.0 * 1024.0);
    }
}

/// <summary>
/// Tests that need the process to themselves run in this collection, alone: memory measurements, and
/// anything that depends on the exact sequence of TorchSharp's global random generator.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialCollection
{
    public const string Name = "serial";
}
