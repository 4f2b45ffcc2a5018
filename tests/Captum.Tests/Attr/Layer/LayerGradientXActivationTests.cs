using Captum.Attr;
using Captum.Layers;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Layer;

public sealed class LayerGradientXActivationTests
{
    [Fact]
    public void Attribute_LinearLayerBeforeLinearHead_IsHeadWeightTimesActivation()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearStack(seed: 1);
        var x = torch.randn(3, 4);

        using var result = new LayerGradientXActivation(model, model.Lin1).Attribute(x, new LayerGradientXActivationOptions { Target = 2 });

        using var noGrad = torch.no_grad();
        var hidden = model.Lin1.call(x);
        TensorAssert.AllClose(result.Attribution, model.Lin2.weight![2] * hidden, 1e-6, 1e-5);

        // Through a linear head the products add up to the output minus the head's bias.
        TensorAssert.AllClose(result.Attribution.sum(1), model.call(x)[TensorIndex.Colon, 2] - model.Lin2.bias![2], 1e-5, 1e-4);
    }

    [Fact]
    public void Attribute_WithoutMultiplying_IsTheGradient()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearStack(seed: 2);
        var x = torch.randn(2, 4);

        var method = new LayerGradientXActivation(model, model.Lin1, multiplyByInputs: false);
        using var result = method.Attribute(x, new LayerGradientXActivationOptions { Target = new[] { 0, 1 } });

        Assert.False(method.MultipliesByInputs);
        TensorAssert.AllClose(result.Attribution, torch.stack([model.Lin2.weight![0], model.Lin2.weight![1]]), 1e-6, 1e-5);
    }

    [Fact]
    public void Attribute_LayerInputAndOutputOfConsecutiveLayers_Agree()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearStack(seed: 3);
        var x = torch.randn(2, 4);

        using var result = new LayerGradientXActivation(model, new LayerReference[] { model.Lin1, model.Lin2 })
            .Attribute(x, new LayerGradientXActivationOptions { Target = 0, AttributeToLayerInput = true });
        using var output = new LayerGradientXActivation(model, model.Lin1).Attribute(x, new LayerGradientXActivationOptions { Target = 0 });

        Assert.Equal(new long[] { 2, 4 }, result[0].shape);
        TensorAssert.AllClose(result[1], output.Attribution, 1e-6, 1e-5);
    }

    [Fact]
    public void Attribute_PerExampleTargetOfWrongLength_ThrowsNamingTarget()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearStack(seed: 4);
        var ex = Assert.Throws<ArgumentException>(() =>
            new LayerGradientXActivation(model, model.Lin1).Attribute(torch.randn(2, 4), new LayerGradientXActivationOptions { Target = new[] { 0, 1, 2 } }));
        Assert.Equal("target", ex.ParamName);
    }

    [Fact]
    public void Attribute_IntegerLayerInput_ThrowsNamingLayer()
    {
        using var scope = torch.NewDisposeScope();
        var model = new BagOfWords(seed: 5);
        var ex = Assert.Throws<ArgumentException>(() =>
            new LayerGradientXActivation(model, "embedding").Attribute(torch.tensor(new long[,] { { 1, 2 } }), new LayerGradientXActivationOptions { Target = 0, AttributeToLayerInput = true }));
        Assert.Equal("layer", ex.ParamName);
    }
}
