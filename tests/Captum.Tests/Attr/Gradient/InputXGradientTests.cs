using Captum.Attr;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Gradient;

public sealed class InputXGradientTests
{
    [Fact]
    public void Attribute_LinearModel_EqualsInputTimesWeightRow()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearModel(4, 3, seed: 5);
        var x = torch.randn(3, 4);

        using var result = new InputXGradient(model).Attribute(x, new InputXGradientOptions { Target = 1 });

        TensorAssert.AllClose(result.Attribution, x * model.Lin.weight![1], 1e-7, 1e-6);
        Assert.Null(result.Delta);
    }

    [Fact]
    public void Attribute_Mlp_EqualsInputTimesSignedSaliency()
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(6);
        var x = torch.randn(4, 4);

        using var ixg = new InputXGradient(model).Attribute(x, new InputXGradientOptions { Target = new[] { 0, 1, 2, 0 } });
        using var gradient = new Saliency(model).Attribute(x, new SaliencyOptions { Target = new[] { 0, 1, 2, 0 }, Abs = false });

        TensorAssert.AllClose(ixg.Attribution, x * gradient.Attribution, 0, 0);
    }

    [Fact]
    public void Attribute_InputRequiresGrad_ResultDetachedAndFlagKept()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.randn(2, 4).requires_grad_(true);

        using var result = new InputXGradient(new LinearModel(4, 2, seed: 1)).Attribute(x, new InputXGradientOptions { Target = 0 });

        Assert.True(x.requires_grad);
        Assert.False(result.Attribution.requires_grad);
    }
}
