using Captum.Attr;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Layer;

public sealed class LayerGradientShapTests
{
    [Fact]
    public void Attribute_ToInputOfFirstLayer_EqualsGradientShapWithTheSameSeed()
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(81, "tanh");
        var x = torch.randn(3, 4);
        var references = torch.randn(5, 4);

        using var layer = new LayerGradientShap(model, "lin1").Attribute(x, new LayerGradientShapOptions
        {
            Baselines = references,
            Target = 0,
            Samples = 6,
            Stdevs = 0.2,
            Seed = 3,
            AttributeToLayerInput = true,
            ReturnConvergenceDelta = true,
        });
        using var plain = new GradientShap(model).Attribute(x, new GradientShapOptions
        {
            Baselines = references,
            Target = 0,
            Samples = 6,
            Stdevs = 0.2,
            Seed = 3,
            ReturnConvergenceDelta = true,
        });

        TensorAssert.AllClose(layer.Attribution, plain.Attribution, 1e-6, 1e-5);
        TensorAssert.AllClose(layer.Delta!, plain.Delta!, 1e-6, 1e-5);
    }

    [Fact]
    public void Attribute_OutputOfLastHiddenLayer_WeightTimesLayerDifference()
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(82, "relu");
        var x = torch.randn(2, 4);
        var reference = torch.randn(1, 4);

        using var result = new LayerGradientShap(model, "act2").Attribute(x, new LayerGradientShapOptions { Baselines = reference, Target = 2, Samples = 4, Seed = 1 });

        // Above act2 the model is linear: every sample gives W3[2] * (act2(x) - act2(reference)).
        using var noGrad = torch.no_grad();
        Tensor Act2(Tensor t) => torch.nn.functional.relu(model.Lin2.call(torch.nn.functional.relu(model.Lin1.call(t))));
        TensorAssert.AllClose(result.Attribution, model.Lin3.weight![2] * (Act2(x) - Act2(reference)), 1e-6, 1e-5);
    }

    [Fact]
    public void Attribute_SameSeedRepeats_DeltaPerSample()
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(83, "tanh");
        var x = torch.randn(2, 4);
        var options = new LayerGradientShapOptions { Baselines = torch.randn(3, 4), Target = 1, Samples = 5, Stdevs = 0.1, Seed = 9, ReturnConvergenceDelta = true };
        var method = new LayerGradientShap(model, "lin2");

        using var first = method.Attribute(x, options);
        using var again = method.Attribute(x, options);

        TensorAssert.AllClose(again.Attribution, first.Attribution, 0, 0);
        Assert.Equal(new long[] { 10 }, first.Delta!.shape);
        Assert.Equal(0, GradientTestModels.HookCount(model));
    }

    [Fact]
    public void Attribute_NoBaselines_ThrowsNamingBaselines()
    {
        using var scope = torch.NewDisposeScope();
        var method = new LayerGradientShap(GradientTestModels.Mlp(84), "lin1");
        Assert.Equal("baselines", Assert.Throws<ArgumentException>(() => method.Attribute(torch.randn(2, 4), new LayerGradientShapOptions { Target = 0 })).ParamName);
    }
}
