using Captum.Attr;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Gradient;

public sealed class SaliencyTests
{
    [Fact]
    public void Attribute_LinearModel_EqualsAbsoluteWeightRow()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearModel(4, 3, seed: 1);
        var x = torch.randn(5, 4);

        using var result = new Saliency(model).Attribute(x, new SaliencyOptions { Target = 2 });

        TensorAssert.AllClose(result.Attribution, model.Lin.weight![2].abs().expand(5, 4), 0, 0);
        Assert.Null(result.Delta);
    }

    [Fact]
    public void Attribute_AbsFalse_KeepsTheGradientsSign()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearModel(4, 3, seed: 2);
        var x = torch.randn(2, 4);

        using var result = new Saliency(model).Attribute(x, new SaliencyOptions { Target = new[] { 0, 2 }, Abs = false });

        TensorAssert.AllClose(result.Attribution, torch.stack([model.Lin.weight![0], model.Lin.weight![2]]), 0, 0);
    }

    [Fact]
    public void Attribute_TwoInputsWithAdditionalArgument_EqualsAutogradGradients()
    {
        using var scope = torch.NewDisposeScope();
        var model = new TwoInputModel(seed: 3);
        var a = torch.randn(3, 2);
        var b = torch.randn(3, 3);
        var scale = torch.rand(3, 1) + 0.5;

        using var result = new Saliency(model).Attribute(Inputs.Of(a, b), new SaliencyOptions { Target = 1, AdditionalForwardArgs = [scale], Abs = false });

        var la = a.detach().requires_grad_(true);
        var lb = b.detach().requires_grad_(true);
        var expected = torch.autograd.grad([model.call(la, lb, scale)[TensorIndex.Colon, 1].sum()], [la, lb]);
        TensorAssert.AllClose(result[0], expected[0], 1e-6, 1e-6);
        TensorAssert.AllClose(result[1], expected[1], 1e-6, 1e-6);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Attribute_CallersRequiresGrad_LeftAsItWas(bool requiresGrad)
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.randn(2, 4).requires_grad_(requiresGrad);

        using var result = new Saliency(TestModels.SmoothMlp(4)).Attribute(x, new SaliencyOptions { Target = 0 });

        Assert.Equal(requiresGrad, x.requires_grad);
        Assert.False(result.Attribution.requires_grad);
        Assert.True(x.grad is null || x.grad.IsInvalid);
    }

    [Fact]
    public void Attribute_OutputIndependentOfInputs_ThrowsInsteadOfANativeError()
    {
        // Captum raises here too (PyTorch: "element 0 of tensors does not require grad"); libtorch itself would
        // abort the process, so the check comes first.
        using var scope = torch.NewDisposeScope();
        var forward = Captum.Forward.ForwardFunction.FromDelegate((Tensor[] a) => torch.ones(a[0].shape[0], 2));

        var ex = Assert.Throws<ArgumentException>(() => new Saliency(forward).Attribute(torch.randn(3, 4), new SaliencyOptions { Target = 1 }));
        Assert.Contains("does not depend on the attributed inputs", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Attribute_IntegerInputs_ThrowsNamingInputs()
    {
        using var scope = torch.NewDisposeScope();
        var ex = Assert.Throws<ArgumentException>(() => new Saliency(TestModels.SmoothMlp(1)).Attribute(torch.ones(2, 4, ScalarType.Int64), new SaliencyOptions { Target = 0 }));
        Assert.Equal("inputs", ex.ParamName);
    }

    [Fact]
    public void Attribute_TargetOutOfRange_ThrowsNamingTarget()
    {
        using var scope = torch.NewDisposeScope();
        var ex = Assert.Throws<ArgumentException>(() => new Saliency(TestModels.SmoothMlp(1)).Attribute(torch.randn(2, 4), new SaliencyOptions { Target = 7 }));
        Assert.Equal("target", ex.ParamName);
    }

    [Fact]
    public void Attribute_CancelledToken_Throws()
    {
        using var scope = torch.NewDisposeScope();
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        Assert.Throws<OperationCanceledException>(() => new Saliency(TestModels.SmoothMlp(1)).Attribute(torch.randn(2, 4), new SaliencyOptions { Target = 0 }, cancel.Token));
    }
}
