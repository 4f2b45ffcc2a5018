using Captum.Attr;
using Captum.Forward;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Gradient;

/// <summary>GuidedBackprop and Deconvolution against gradients computed by hand on a two-hidden-layer ReLU net.</summary>
public sealed class ModifiedReluGradientTests
{
    private static (ModuleMlp Model, Tensor X, Tensor Mask1, Tensor Mask2) Net(int seed)
    {
        var model = GradientTestModels.Mlp(seed, "relu", inputs: 4, hidden: 6, outputs: 3);
        var x = torch.randn(5, 4);
        using var noGrad = torch.no_grad();
        var h1 = model.Lin1.call(x);
        var h2 = model.Lin2.call(torch.nn.functional.relu(h1));
        return (model, x, (h1 > 0).to_type(ScalarType.Float32), (h2 > 0).to_type(ScalarType.Float32));
    }

    [Fact]
    public void GuidedBackprop_ReluNet_EqualsHandComputedGuidedGradient()
    {
        using var scope = torch.NewDisposeScope();
        var (model, x, mask1, mask2) = Net(11);
        const int target = 1;

        using var result = new GuidedBackprop(model).Attribute(x, new GuidedBackpropOptions { Target = target });

        // At each ReLU: relu(gradient with respect to its input) = relu(upstream * mask).
        var g3 = model.Lin3.weight![target].expand(5, 6);
        var atAct1 = torch.nn.functional.relu(torch.nn.functional.relu(g3 * mask2).matmul(model.Lin2.weight!) * mask1);
        var expected = atAct1.matmul(model.Lin1.weight!);
        TensorAssert.AllClose(result.Attribution, expected, 1e-6, 1e-5);
    }

    [Fact]
    public void Deconvolution_ReluNet_EqualsHandComputedDeconvolution()
    {
        using var scope = torch.NewDisposeScope();
        var (model, x, _, _) = Net(12);
        const int target = 2;

        using var result = new Deconvolution(model).Attribute(x, new DeconvolutionOptions { Target = target });

        // At each ReLU: relu(gradient with respect to its output), the forward mask ignored.
        var g3 = model.Lin3.weight![target].expand(5, 6);
        var atAct1 = torch.nn.functional.relu(torch.nn.functional.relu(g3).matmul(model.Lin2.weight!));
        var expected = atAct1.matmul(model.Lin1.weight!);
        TensorAssert.AllClose(result.Attribution, expected, 1e-6, 1e-5);
    }

    [Fact]
    public void GuidedBackprop_InPlaceRelu_EqualsOutOfPlace()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.randn(4, 4);
        var plain = GradientTestModels.Mlp(13, "relu");
        var inPlace = GradientTestModels.Mlp(13, "relu", inPlace: true);

        using var a = new GuidedBackprop(plain).Attribute(x, new GuidedBackpropOptions { Target = 0 });
        using var b = new GuidedBackprop(inPlace).Attribute(x, new GuidedBackpropOptions { Target = 0 });
        using var c = new Deconvolution(plain).Attribute(x, new DeconvolutionOptions { Target = 0 });
        using var d = new Deconvolution(inPlace).Attribute(x, new DeconvolutionOptions { Target = 0 });

        TensorAssert.AllClose(b.Attribution, a.Attribution, 0, 0);
        TensorAssert.AllClose(d.Attribution, c.Attribution, 0, 0);
    }

    [Fact]
    public void GuidedBackprop_FunctionalReluOnly_EqualsPlainGradient()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(14);
        var x = torch.randn(3, 4);

        using var guided = new GuidedBackprop(model).Attribute(x, new GuidedBackpropOptions { Target = 0 });
        using var gradient = new Saliency(model).Attribute(x, new SaliencyOptions { Target = 0, Abs = false });

        TensorAssert.AllClose(guided.Attribution, gradient.Attribution, 0, 0);
    }

    [Fact]
    public void GuidedBackprop_AfterwardsModel_HasNoHooksAndPlainGradients()
    {
        using var scope = torch.NewDisposeScope();
        var (model, x, _, _) = Net(15);
        using var before = new Saliency(model).Attribute(x, new SaliencyOptions { Target = 0, Abs = false });

        using (new GuidedBackprop(model).Attribute(x, new GuidedBackpropOptions { Target = 0 }))
        using (new Deconvolution(model).Attribute(x, new DeconvolutionOptions { Target = 0 }))
        {
        }

        using var after = new Saliency(model).Attribute(x, new SaliencyOptions { Target = 0, Abs = false });
        Assert.Equal(0, GradientTestModels.HookCount(model));
        TensorAssert.AllClose(after.Attribution, before.Attribution, 0, 0);
    }

    [Fact]
    public void Constructor_ForwardWithoutModule_ThrowsNamingModel()
    {
        var forward = ForwardFunction.FromDelegate((Tensor[] a) => a[0].sum(1));
        Assert.Equal("model", Assert.Throws<ArgumentException>(() => new GuidedBackprop(forward)).ParamName);
        Assert.Equal("model", Assert.Throws<ArgumentException>(() => new Deconvolution(forward)).ParamName);
    }
}
