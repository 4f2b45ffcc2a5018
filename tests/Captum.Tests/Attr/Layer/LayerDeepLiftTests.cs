using Captum.Attr;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Layer;

public sealed class LayerDeepLiftTests
{
    [Fact]
    public void Attribute_ToInputOfFirstLayer_EqualsDeepLift()
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(71, "tanh");
        var x = torch.randn(3, 4);
        var baseline = torch.randn(3, 4);

        using var layer = new LayerDeepLift(model, "lin1").Attribute(x, new LayerDeepLiftOptions
        {
            Baselines = baseline,
            Target = 2,
            AttributeToLayerInput = true,
            ReturnConvergenceDelta = true,
        });
        using var plain = new DeepLift(model).Attribute(x, new DeepLiftOptions { Baselines = baseline, Target = 2, ReturnConvergenceDelta = true });

        TensorAssert.AllClose(layer.Attribution, plain.Attribution, 1e-6, 1e-5);
        TensorAssert.AllClose(layer.Delta!, plain.Delta!, 1e-6, 1e-5);
    }

    [Theory]
    [InlineData("lin1", false)]
    [InlineData("act1", false)]
    [InlineData("act1", true)]
    [InlineData("lin2", false)]
    public void Attribute_AnyLayer_SumsToOutputDifference(string layer, bool toInput)
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(72, "relu");
        var x = torch.randn(4, 4);

        using var result = new LayerDeepLift(model, layer).Attribute(x, new LayerDeepLiftOptions
        {
            Baselines = 0.2,
            Target = new[] { 0, 1, 2, 0 },
            AttributeToLayerInput = toInput,
            ReturnConvergenceDelta = true,
        });

        Assert.Equal(new long[] { 4, 6 }, result.Attribution.shape);
        TensorAssert.AllClose(result.Delta!, torch.zeros(4), 1e-5, 0);
    }

    [Fact]
    public void Attribute_EmbeddingFedTokenIds_SumsToOutputDifference()
    {
        using var scope = torch.NewDisposeScope();
        var model = new TokenTanhModel(73);
        var tokens = torch.tensor(new long[,] { { 3, 5, 7, 1 }, { 2, 2, 9, 11 } });

        using var result = new LayerDeepLift(model, "embedding").Attribute(tokens, new LayerDeepLiftOptions
        {
            Baselines = torch.zeros(1, 4, ScalarType.Int64),
            Target = 1,
            ReturnConvergenceDelta = true,
        });

        Assert.Equal(new long[] { 2, 4, 5 }, result.Attribution.shape);
        TensorAssert.AllClose(result.Delta!, torch.zeros(2), 1e-5, 0);
    }

    [Fact]
    public void Attribute_MultiplyByInputsFalse_ReturnsTheLayerMultipliers()
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(74, "relu");
        var x = torch.randn(2, 4);

        using var result = new LayerDeepLift(model, "act2", multiplyByInputs: false).Attribute(x, new LayerDeepLiftOptions { Target = 1 });

        // Above act2 the model is linear: the multipliers are lin3's weight row.
        TensorAssert.AllClose(result.Attribution, model.Lin3.weight![1].expand(2, 6), 1e-6, 1e-5);
    }

    [Fact]
    public void Attribute_InPlaceNonlinearityInputs_ThrowsNamingLayer()
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(75, "relu", inPlace: true);
        var ex = Assert.Throws<ArgumentException>(() => new LayerDeepLift(model, "act1").Attribute(torch.randn(2, 4), new LayerDeepLiftOptions { Target = 0, AttributeToLayerInput = true }));
        Assert.Equal("layer", ex.ParamName);
    }

    [Fact]
    public void Attribute_TokenIdsAsLayerInput_ThrowsNamingLayer()
    {
        using var scope = torch.NewDisposeScope();
        var model = new TokenTanhModel(77);
        var tokens = torch.tensor(new long[,] { { 3, 5, 7, 1 } });
        var ex = Assert.Throws<ArgumentException>(() => new LayerDeepLift(model, "embedding").Attribute(tokens, new LayerDeepLiftOptions { Target = 0, AttributeToLayerInput = true }));
        Assert.Equal("layer", ex.ParamName);
        Assert.Contains("Int64", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Attribute_InvalidTarget_LeavesModelAsItWas()
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(76);
        var x = torch.randn(2, 4);
        using var noGrad = torch.no_grad();
        var before = model.call(x);

        Assert.Equal("target", Assert.Throws<ArgumentException>(() => new LayerDeepLift(model, "lin2").Attribute(x, new LayerDeepLiftOptions { Target = 9 })).ParamName);

        Assert.Equal(0, GradientTestModels.HookCount(model));
        TensorAssert.AllClose(model.call(x), before, 0, 0);
    }
}
