using Captum.Robust;
using FsCheck.Xunit;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Robust;

/// <summary>FGSM: Captum's signed step, its direction, masks, bounds, several inputs and the checks of its arguments.</summary>
public sealed class FGSMTests
{
    internal static Tensor Loss(nn.Module<Tensor, Tensor> model, Tensor x, Target target)
    {
        using var noGrad = torch.no_grad();
        return AttackLosses.CrossEntropy(model.call(x), target);
    }

    [Property(MaxTest = 25)]
    public void Perturb_EpsilonZero_ReturnsTheInputs(int seed, bool targeted)
    {
        using var scope = torch.NewDisposeScope();
        var random = new Random(seed);
        var model = TestModels.SmoothMlp(seed);
        var x = TestModels.Normal(seed + 1, random.Next(1, 7), 4);
        var target = Enumerable.Range(0, (int)x.shape[0]).Select(_ => random.Next(3)).ToArray();

        using var perturbed = new FGSM(model).Perturb(x, new FGSMOptions { Epsilon = 0, Target = target, Targeted = targeted });

        TensorAssert.AllClose(perturbed.Perturbed, x, 0, 0);
        Assert.False(perturbed.IsTuple);
    }

    [Fact]
    public void Perturb_SmoothModel_MovesEveryElementByEpsilonAlongTheGradientsSign()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(3);
        var x = TestModels.Normal(4, 5, 4);
        var target = new[] { 0, 1, 2, 0, 1 };

        using var perturbed = new FGSM(model, AttackLosses.CrossEntropy).Perturb(x, new FGSMOptions { Epsilon = 0.25, Target = target });

        var leaf = x.detach().requires_grad_(true);
        var gradient = torch.autograd.grad([AttackLosses.CrossEntropy(model.call(leaf), target).sum()], [leaf])[0];
        TensorAssert.AllClose(perturbed.Perturbed, x + (0.25 * gradient.sign()), 1e-6, 0);
    }

    [Fact]
    public void Perturb_UntargetedAndTargeted_MoveTheLossInOppositeDirections()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(5);
        var x = TestModels.Normal(6, 6, 4);
        Target target = new[] { 0, 1, 2, 2, 1, 0 };
        var fgsm = new FGSM(model, AttackLosses.CrossEntropy);

        using var away = fgsm.Perturb(x, new FGSMOptions { Epsilon = 0.01, Target = target });
        using var towards = fgsm.Perturb(x, new FGSMOptions { Epsilon = 0.01, Target = target, Targeted = true });

        var before = Loss(model, x, target);
        Assert.True((Loss(model, away.Perturbed, target) > before).all().item<bool>(), "an untargeted step raises the loss of the true label");
        Assert.True((Loss(model, towards.Perturbed, target) < before).all().item<bool>(), "a targeted step lowers the loss of the target");
    }

    [Fact]
    public void Perturb_Mask_LeavesMaskedOutElementsUnchanged()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(7);
        var x = TestModels.Normal(8, 3, 4);
        var mask = torch.tensor(new float[] { 1, 0, 1, 0 }).unsqueeze(0);

        using var perturbed = new FGSM(model, AttackLosses.CrossEntropy).Perturb(x, new FGSMOptions { Epsilon = 0.5, Target = 2, Mask = [mask] });

        var moved = (perturbed.Perturbed - x).abs();
        TensorAssert.AllClose(moved[.., 1], torch.zeros(3), 0, 0);
        TensorAssert.AllClose(moved[.., 3], torch.zeros(3), 0, 0);
        TensorAssert.AllClose(moved[.., 0], torch.full(3, 0.5f), 1e-6, 0);
    }

    [Fact]
    public void Perturb_Bounds_ClampTheResult()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(9);
        var x = torch.rand(4, 4, generator: new torch.Generator(9));

        using var perturbed = new FGSM(model, AttackLosses.CrossEntropy, lowerBound: 0, upperBound: 1).Perturb(x, new FGSMOptions { Epsilon = 2, Target = 0 });

        Assert.True((perturbed.Perturbed >= 0).all().item<bool>() && (perturbed.Perturbed <= 1).all().item<bool>());
        Assert.True(((perturbed.Perturbed == 0) | (perturbed.Perturbed == 1)).all().item<bool>(), "a step of 2 takes every element to a bound");
    }

    [Fact]
    public void Perturb_TwoInputsAndAdditionalArguments_MovesEachByItsOwnGradient()
    {
        using var scope = torch.NewDisposeScope();
        var model = new TwoInputModel(11);
        var a = TestModels.Normal(12, 3, 2);
        var b = TestModels.Normal(13, 3, 3);
        var scale = torch.full([3, 1], 2f);

        using var perturbed = new FGSM(model, AttackLosses.CrossEntropy).Perturb(Inputs.Of(a, b), new FGSMOptions
        {
            Epsilon = 0.1,
            Target = 1,
            AdditionalForwardArgs = [scale],
        });

        var la = a.detach().requires_grad_(true);
        var lb = b.detach().requires_grad_(true);
        var grads = torch.autograd.grad([AttackLosses.CrossEntropy(model.call(la, lb, scale), 1).sum()], [la, lb]);
        Assert.True(perturbed.IsTuple);
        Assert.Equal(2, perturbed.Count);
        TensorAssert.AllClose(perturbed[0], a + (0.1 * grads[0].sign()), 1e-6, 0);
        TensorAssert.AllClose(perturbed[1], b + (0.1 * grads[1].sign()), 1e-6, 0);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Perturb_CallersTensors_AreUnchanged(bool requiresGrad)
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(13);
        var x = TestModels.Normal(14, 3, 4).requires_grad_(requiresGrad);
        var mask = torch.ones(3, 4);
        var copy = x.detach().clone();

        using var perturbed = new FGSM(model).Perturb(x, new FGSMOptions { Epsilon = 0.3, Target = 0, Mask = [mask] });

        TensorAssert.Untouched(x, copy, requiresGrad);
        Assert.False(mask.requires_grad);
        Assert.False(perturbed.Perturbed.requires_grad);
    }

    [Fact]
    public void Perturb_BadArguments_ThrowNamingTheArgument()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(15);
        var x = TestModels.Normal(16, 3, 4);
        var fgsm = new FGSM(model);

        Assert.Equal("Epsilon", Assert.ThrowsAny<ArgumentException>(() => fgsm.Perturb(x, new FGSMOptions { Epsilon = -0.1, Target = 0 })).ParamName);
        Assert.Equal("Epsilon", Assert.ThrowsAny<ArgumentException>(() => fgsm.Perturb(x, new FGSMOptions { Epsilon = double.NaN, Target = 0 })).ParamName);
        Assert.Equal("Mask", Assert.Throws<ArgumentException>(() => fgsm.Perturb(x, new FGSMOptions { Epsilon = 0.1, Target = 0, Mask = [torch.ones(3, 5)] })).ParamName);
        Assert.Equal("Mask", Assert.Throws<ArgumentException>(() => fgsm.Perturb(x, new FGSMOptions { Epsilon = 0.1, Target = 0, Mask = [torch.ones(4), torch.ones(4)] })).ParamName);
        Assert.Equal("target", Assert.Throws<ArgumentException>(() => fgsm.Perturb(x, new FGSMOptions { Epsilon = 0.1, Target = new[] { 0, 1 } })).ParamName);
        Assert.Equal("inputs", Assert.Throws<ArgumentException>(() => fgsm.Perturb(torch.ones(3, 4, ScalarType.Int64), new FGSMOptions { Epsilon = 0.1, Target = 0 })).ParamName);
        Assert.Equal("lowerBound", Assert.Throws<ArgumentException>(() => new FGSM(model, lowerBound: 1, upperBound: 0)).ParamName);
    }
}
