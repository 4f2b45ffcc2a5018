using Captum.Attr;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Gradient;

/// <summary>No native tensor survives the gradient methods' calls except the results the caller owns.</summary>
[Collection(SerialCollection.Name)]
public sealed class GradientMemoryTests(ITestOutputHelper output)
{
    [Fact]
    public void Attribute_FiftyCallsOfEveryMethod_LeaveNoLiveTensors()
    {
        var model = GradientTestModels.Mlp(101, "relu", inputs: 32, hidden: 64, outputs: 5);
        var pool = new ConvPoolModel(102);
        var x = torch.randn(8, 32);
        var images = torch.randn(4, 1, 4, 4);
        var references = torch.randn(4, 32);

        void Call()
        {
            using var a = new DeepLift(model).Attribute(x, new DeepLiftOptions { Target = 1, ReturnConvergenceDelta = true });
            using var b = new DeepLift(pool).Attribute(images, new DeepLiftOptions { Target = 0 });
            using var c = new GuidedBackprop(model).Attribute(x, new GuidedBackpropOptions { Target = 2 });
            using var d = new DeepLiftShap(model).Attribute(x, new DeepLiftShapOptions { Baselines = references, Target = 0 });
            using var e = new GradientShap(model).Attribute(x, new GradientShapOptions { Baselines = references, Target = 0, Seed = 1, ReturnConvergenceDelta = true });
            using var f = NoiseTunnel.Create(new IntegratedGradients(model)).Attribute(x, new NoiseTunnelOptions<IntegratedGradientsOptions>
            {
                Samples = 4,
                SamplesBatchSize = 3,
                Seed = 2,
                MethodOptions = new() { Target = 3, Steps = 8, ReturnConvergenceDelta = true },
            });
            using var g = new LayerDeepLift(model, "lin2").Attribute(x, new LayerDeepLiftOptions { Target = 1, ReturnConvergenceDelta = true });
            using var h = new LayerGradientShap(model, "act1").Attribute(x, new LayerGradientShapOptions { Baselines = references, Target = 1, Seed = 3 });
        }

        for (var i = 0; i < 5; i++)
        {
            Call();
        }

        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        var nodesBefore = AliveAutogradFunctionNodes();
        for (var i = 0; i < 50; i++)
        {
            Call();
        }

        var after = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        var nodesAfter = AliveAutogradFunctionNodes();
        output.WriteLine($"live tensors {before} -> {after}; custom autograd nodes {nodesBefore} -> {nodesAfter}");
        Assert.Equal(before, after);

        // Every custom-function node is released with its graph (TorchSharp keeps live ones in a static list).
        Assert.Equal(nodesBefore, nodesAfter);
    }

    private static int AliveAutogradFunctionNodes()
    {
        var field = typeof(torch.autograd).GetNestedType("Node", System.Reflection.BindingFlags.NonPublic)!
            .GetField("AliveNodes", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!;
        var list = (System.Collections.ICollection)field.GetValue(null)!;
        lock (list)
        {
            return list.Count;
        }
    }
}
