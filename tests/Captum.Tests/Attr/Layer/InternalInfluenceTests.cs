using Captum.Attr;
using FsCheck.Xunit;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Layer;

public sealed class InternalInfluenceTests
{
    [Theory]
    [InlineData(IntegrationMethod.GaussLegendre, 50)]
    [InlineData(IntegrationMethod.RiemannTrapezoid, 9)]
    [InlineData(IntegrationMethod.RiemannLeft, 4)]
    public void Attribute_LayerLinearInTheInputs_EqualsLayerIntegratedGradientsWithoutMultiplying(IntegrationMethod method, int steps)
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(1);
        var x = torch.randn(3, 4);
        var baseline = torch.randn(3, 4);

        // lin1's output moves on a straight line when its input does, so both methods visit the same points.
        using var influence = new InternalInfluence(model, model.Lin1).Attribute(x, new InternalInfluenceOptions
        {
            Baselines = baseline,
            Target = 2,
            Steps = steps,
            Method = method,
        });
        using var layerIg = new LayerIntegratedGradients(model, model.Lin1, multiplyByInputs: false).Attribute(x, new LayerIntegratedGradientsOptions
        {
            Baselines = baseline,
            Target = 2,
            Steps = steps,
            Method = method,
        });

        TensorAssert.AllClose(influence.Attribution, layerIg.Attribution, 1e-6, 1e-5);
    }

    [Fact]
    public void Attribute_LinearHead_IsTheHeadWeightTimesTheStepWeights()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearStack(seed: 2);

        using var result = new InternalInfluence(model, model.Lin1).Attribute(torch.randn(2, 4), new InternalInfluenceOptions { Target = 1, Steps = 5 });

        // A constant gradient integrated with Gauss-Legendre weights, which sum to 1.
        TensorAssert.AllClose(result.Attribution, model.Lin2.weight![1].expand(2, 5), 1e-6, 1e-5);
    }

    [Property(MaxTest = 20)]
    public void Attribute_AnyInternalBatchSize_EqualsOneBatch(int seed, byte batchChoice)
    {
        using var scope = torch.NewDisposeScope();
        var model = new SequentialMlp(seed);
        var x = torch.randn(3, 4);
        var influence = new InternalInfluence(model, "net.1");
        var options = new InternalInfluenceOptions { Target = 0, Steps = 12 };

        using var whole = influence.Attribute(x, options);
        using var chunked = influence.Attribute(x, options with { InternalBatchSize = 1 + (batchChoice % 40) });

        TensorAssert.AllClose(chunked.Attribution, whole.Attribution, 1e-6, 1e-5);
    }
}
