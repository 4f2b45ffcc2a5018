using Captum.Attr;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Gradient;

public sealed class DeepLiftShapTests
{
    [Fact]
    public void Attribute_Distribution_EqualsMeanOfDeepLiftPerReference()
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(41, "tanh");
        var x = torch.randn(3, 4);
        var references = torch.randn(4, 4);
        var targets = new[] { 0, 2, 1 };

        using var shap = new DeepLiftShap(model).Attribute(x, new DeepLiftShapOptions { Baselines = references, Target = targets, ReturnConvergenceDelta = true });

        var deepLift = new DeepLift(model);
        var perReference = new List<Tensor>();
        var deltas = new List<Tensor>();
        for (var j = 0; j < 4; j++)
        {
            using var one = deepLift.Attribute(x, new DeepLiftOptions { Baselines = references[j].unsqueeze(0), Target = targets, ReturnConvergenceDelta = true });
            perReference.Add(one.Attribution.clone());
            deltas.Add(one.Delta!.clone());
        }

        TensorAssert.AllClose(shap.Attribution, torch.stack(perReference).mean([0]), 1e-6, 1e-5);

        // Deltas per pair, ordered by example then reference.
        TensorAssert.AllClose(shap.Delta!, torch.stack(deltas, 1).reshape(-1), 1e-6, 1e-5);
    }

    [Fact]
    public void Attribute_TwoInputsWithAdditionalArgument_ShapesAndNearZeroDeltas()
    {
        using var scope = torch.NewDisposeScope();
        var model = new TwoInputModuleModel(42);
        var a = torch.randn(2, 2);
        var b = torch.randn(2, 3);
        var scale = torch.rand(2, 1) + 0.5;

        using var result = new DeepLiftShap(model).Attribute(Inputs.Of(a, b), new DeepLiftShapOptions
        {
            Baselines = new[] { torch.randn(3, 2), torch.randn(3, 3) },
            Target = 1,
            AdditionalForwardArgs = [scale],
            ReturnConvergenceDelta = true,
        });

        Assert.Equal(a.shape, result[0].shape);
        Assert.Equal(b.shape, result[1].shape);
        TensorAssert.AllClose(result.Delta!, torch.zeros(6), 1e-5, 0);
    }

    [Fact]
    public void Attribute_SingleReference_ThrowsNamingBaselines()
    {
        using var scope = torch.NewDisposeScope();
        var shap = new DeepLiftShap(GradientTestModels.Mlp(43));
        var ex = Assert.Throws<ArgumentException>(() => shap.Attribute(torch.randn(2, 4), new DeepLiftShapOptions { Baselines = torch.zeros(1, 4), Target = 0 }));
        Assert.Equal("baselines", ex.ParamName);
        Assert.Contains("more than one", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Attribute_ScalarOrMissingOrMisshapenBaselines_ThrowNamingBaselines()
    {
        using var scope = torch.NewDisposeScope();
        var shap = new DeepLiftShap(GradientTestModels.Mlp(44));
        var x = torch.randn(2, 4);
        Assert.Equal("baselines", Assert.Throws<ArgumentException>(() => shap.Attribute(x, new DeepLiftShapOptions { Target = 0 })).ParamName);
        Assert.Equal("baselines", Assert.Throws<ArgumentException>(() => shap.Attribute(x, new DeepLiftShapOptions { Baselines = 0.5, Target = 0 })).ParamName);
        Assert.Equal("baselines", Assert.Throws<ArgumentException>(() => shap.Attribute(x, new DeepLiftShapOptions { Baselines = torch.zeros(3, 5), Target = 0 })).ParamName);
    }

    [Fact]
    public void Attribute_ReferenceCountsDifferBetweenInputs_ThrowsNamingBaselines()
    {
        using var scope = torch.NewDisposeScope();
        var shap = new DeepLiftShap(new TwoInputModuleModel(45));
        var ex = Assert.Throws<ArgumentException>(() => shap.Attribute(Inputs.Of(torch.randn(2, 2), torch.randn(2, 3)), new DeepLiftShapOptions
        {
            Baselines = new[] { torch.randn(3, 2), torch.randn(4, 3) },
            Target = 0,
            AdditionalForwardArgs = [torch.ones(2, 1)],
        }));
        Assert.Equal("baselines", ex.ParamName);
    }
}
