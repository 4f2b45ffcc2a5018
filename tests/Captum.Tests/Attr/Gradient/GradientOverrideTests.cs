using Captum.Attr;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Gradient;

/// <summary>The hook and custom-function machinery behind DeepLift, GuidedBackprop and Deconvolution.</summary>
public sealed class GradientOverrideTests
{
    private sealed class ThrowingRule : GradientRule
    {
        public override (Tensor? ToInput, Tensor? ThroughModule) Backward(Tensor input, Tensor output, Tensor gradOutput) =>
            throw new InvalidOperationException("rule failed");
    }

    private sealed class DoublingRule : GradientRule
    {
        public override (Tensor? ToInput, Tensor? ThroughModule) Backward(Tensor input, Tensor output, Tensor gradOutput) =>
            (null, gradOutput * 2);
    }

    [Fact]
    public void Backward_RuleThrows_FailureRethrownAfterTheBackwardPassNotACrash()
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(91);
        var session = new OverrideSession();
        var leaf = torch.randn(2, 4).requires_grad_(true);
        Tensor output;
        using (ModuleGradientOverrides.Register(model, (_, m) => m is ReLU ? new ThrowingRule() : null, session))
        {
            output = model.call(leaf);
        }

        var gradients = Gradients.Of(output[TensorIndex.Colon, 0], [leaf]);

        var ex = Assert.Throws<InvalidOperationException>(session.ThrowIfFailed);
        Assert.Equal("rule failed", ex.Message);
        Assert.Equal(leaf.shape, gradients[0].shape);
        Assert.Equal(0, GradientTestModels.HookCount(model));
    }

    [Fact]
    public void Register_RuleThroughModule_ScalesTheModulesOwnGradient()
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(92, "tanh");
        var x = torch.randn(3, 4);
        using var plain = new Saliency(model).Attribute(x, new SaliencyOptions { Target = 0, Abs = false });

        var leaf = x.detach().requires_grad_(true);
        Tensor output;
        using (ModuleGradientOverrides.Register(model, (path, _) => path == "act2" ? new DoublingRule() : null, new OverrideSession()))
        {
            output = model.call(leaf);
        }

        // One doubled nonlinearity on every path: the gradient doubles.
        TensorAssert.AllClose(Gradients.Of(output[TensorIndex.Colon, 0], [leaf])[0], plain.Attribution * 2, 1e-6, 1e-5);
        Assert.Equal(0, GradientTestModels.HookCount(model));
    }

    [Fact]
    public void Register_WhileRegistered_HooksCountedThenAllRemoved()
    {
        var model = GradientTestModels.Mlp(94, "relu", inPlace: true);
        var handle = ModuleGradientOverrides.Register(model, (_, m) => m is ReLU ? new DoublingRule() : null, new OverrideSession());

        // Two in-place ReLUs: a pre-hook (the copy) and a post-hook (the function) each.
        Assert.Equal(4, GradientTestModels.HookCount(model));
        handle.Dispose();
        Assert.Equal(0, GradientTestModels.HookCount(model));
    }

    [Fact]
    public void Register_SelectorRefuses_NothingRegistered()
    {
        var model = GradientTestModels.Mlp(93);
        Assert.Throws<ArgumentException>(() => ModuleGradientOverrides.Register(
            model,
            (path, _) => path == "act2" ? throw new ArgumentException("no", "model") : path == "act1" ? new DoublingRule() : null,
            new OverrideSession()));
        Assert.Equal(0, GradientTestModels.HookCount(model));
    }
}
