using Captum.Attr;
using Captum.Forward;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Gradient;

public sealed class DeepLiftTests
{
    [Fact]
    public void Attribute_LinearModel_EqualsWeightTimesDifferenceLikeIntegratedGradients()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearModel(4, 3, seed: 21);
        var x = torch.randn(5, 4);
        var baseline = torch.randn(1, 4);

        using var deepLift = new DeepLift(model).Attribute(x, new DeepLiftOptions { Baselines = baseline, Target = 2, ReturnConvergenceDelta = true });
        using var ig = new IntegratedGradients(model).Attribute(x, new IntegratedGradientsOptions { Baselines = baseline, Target = 2 });

        TensorAssert.AllClose(deepLift.Attribution, model.Lin.weight![2] * (x - baseline), 1e-6, 1e-5);
        TensorAssert.AllClose(deepLift.Attribution, ig.Attribution, 1e-6, 1e-5);
        TensorAssert.AllClose(deepLift.Delta!, torch.zeros(5), 1e-5, 0);
    }

    [Fact]
    public void Attribute_ModelThatIsOneRelu_AppliesTheRescaleRuleToIt()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(new float[,] { { 1f, 2f } });
        var baseline = torch.tensor(new float[,] { { -1f, -3f } });

        // relu(1) - relu(-1) = 1 and relu(2) - relu(-3) = 2; the plain gradient times (x - baseline) would give 2 and 5.
        using var first = new DeepLift(nn.ReLU()).Attribute(x, new DeepLiftOptions { Baselines = baseline, Target = 0 });
        using var second = new DeepLift(nn.ReLU()).Attribute(x, new DeepLiftOptions { Baselines = baseline, Target = 1 });

        TensorAssert.AllClose(first.Attribution, torch.tensor(new float[,] { { 1f, 0f } }), 1e-6, 0);
        TensorAssert.AllClose(second.Attribution, torch.tensor(new float[,] { { 0f, 2f } }), 1e-6, 0);
    }

    [Fact]
    public void Attribute_SingleReluUnit_EqualsRescaleRuleByHand()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(22);
        var lin = nn.Linear(3, 1);
        var model = nn.Sequential(("lin", lin), ("relu", nn.ReLU()));
        model.eval();
        var x = torch.tensor(new float[,] { { 1, 2, -1 }, { -2, 0.5f, 1 } });
        var reference = torch.tensor(new float[,] { { 0.5f, -1, 0 }, { 1, 1, 1 } });

        using var result = new DeepLift(model).Attribute(x, new DeepLiftOptions { Baselines = reference, Target = 0 });

        using var noGrad = torch.no_grad();
        var h = lin.call(x);
        var hRef = lin.call(reference);
        var multiplier = (torch.nn.functional.relu(h) - torch.nn.functional.relu(hRef)) / (h - hRef);
        TensorAssert.AllClose(result.Attribution, multiplier * lin.weight! * (x - reference), 1e-6, 1e-5);
    }

    [Theory]
    [InlineData("relu")]
    [InlineData("tanh")]
    [InlineData("sigmoid")]
    [InlineData("elu")]
    [InlineData("leaky_relu")]
    [InlineData("softplus")]
    public void Attribute_ModuleMlp_SumsToOutputDifference(string activation)
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(23, activation);
        var x = torch.randn(6, 4) * 2;
        var baseline = torch.randn(6, 4);

        using var result = new DeepLift(model).Attribute(x, new DeepLiftOptions { Baselines = baseline, Target = 1, ReturnConvergenceDelta = true });

        using var noGrad = torch.no_grad();
        var difference = model.call(x)[TensorIndex.Colon, 1] - model.call(baseline)[TensorIndex.Colon, 1];
        TensorAssert.AllClose(result.Attribution.sum(1), difference, 1e-5, 1e-4);
        TensorAssert.AllClose(result.Delta!, torch.zeros(6), 1e-5, 0);
    }

    [Fact]
    public void Attribute_InputEqualsBaseline_MultipliersArePlainGradient()
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(24, "tanh");
        var x = torch.randn(3, 4);

        // The stacked rows of x and of its copy may differ in the last bit after a matrix product (BLAS blocks
        // rows differently); an eps above float32 rounding makes every nonlinearity fall back to its gradient.
        using var multipliers = new DeepLift(model, multiplyByInputs: false, eps: 1e-4).Attribute(x, new DeepLiftOptions { Baselines = x, Target = 0 });
        using var gradient = new Saliency(model).Attribute(x, new SaliencyOptions { Target = 0, Abs = false });
        using var attributions = new DeepLift(model).Attribute(x, new DeepLiftOptions { Baselines = x, Target = 0 });

        TensorAssert.AllClose(multipliers.Attribution, gradient.Attribution, 1e-6, 1e-5);
        TensorAssert.AllClose(attributions.Attribution, torch.zeros_like(x), 0, 0);
    }

    [Fact]
    public void Attribute_SoftmaxModule_EqualsCaptumsNormalizedRuleByHand()
    {
        using var scope = torch.NewDisposeScope();
        var model = new SoftmaxModel(25);
        var x = torch.randn(3, 3);
        var reference = torch.randn(3, 3);
        const int target = 1;

        using var result = new DeepLift(model).Attribute(x, new DeepLiftOptions { Baselines = reference, Target = target });

        // Captum's softmax rule over the stacked batch: rescale, then subtract the mean of the whole gradient.
        using var noGrad = torch.no_grad();
        var h = model.Lin1.call(torch.cat([x, reference]));
        var s = torch.softmax(h, 1);
        var g = model.Lin2.weight![target].expand(6, 4);
        var deltaIn = torch.cat([h.narrow(0, 0, 3) - h.narrow(0, 3, 3), h.narrow(0, 0, 3) - h.narrow(0, 3, 3)]);
        var deltaOut = torch.cat([s.narrow(0, 0, 3) - s.narrow(0, 3, 3), s.narrow(0, 0, 3) - s.narrow(0, 3, 3)]);
        var rescaled = g * deltaOut / deltaIn;
        var normalized = rescaled - (rescaled.sum() / rescaled.numel());
        var expected = normalized.narrow(0, 0, 3).matmul(model.Lin1.weight!) * (x - reference);
        TensorAssert.AllClose(result.Attribution, expected, 1e-6, 1e-4);
    }

    [Fact]
    public void Attribute_MaxPoolModel_SumsToOutputDifference()
    {
        using var scope = torch.NewDisposeScope();
        var model = new ConvPoolModel(26);
        var x = torch.randn(4, 1, 4, 4);
        var baseline = torch.randn(4, 1, 4, 4) * 0.5;

        using var result = new DeepLift(model).Attribute(x, new DeepLiftOptions { Baselines = baseline, Target = 0, ReturnConvergenceDelta = true });

        Assert.Equal(x.shape, result.Attribution.shape);
        TensorAssert.AllClose(result.Delta!, torch.zeros(4), 1e-5, 0);
    }

    [Fact]
    public void Attribute_MaxPoolOnePixelDiffers_RoutesTheOutputDifferenceToIt()
    {
        using var scope = torch.NewDisposeScope();
        var pool = nn.MaxPool2d(2);
        var model = nn.Sequential(("pool", pool), ("flatten", nn.Flatten()));
        var x = torch.zeros(1, 1, 2, 2);
        x[0, 0, 1, 0] = torch.tensor(3f);
        var baseline = torch.ones(1, 1, 2, 2);

        using var result = new DeepLift(model).Attribute(x, new DeepLiftOptions { Baselines = baseline, Target = 0, ReturnConvergenceDelta = true });

        // Max 3 on the input against 1 on the reference: the input's winner gets max(3, 1) - 1 = 2, the reference's
        // winner (pixel 0) gets 3 - max(3, 1) = 0; every other pixel gets nothing.
        TensorAssert.AllClose(result.Delta!, torch.zeros(1), 1e-6, 0);
        TensorAssert.AllClose(result.Attribution, torch.tensor(new float[] { 0, 0, 2, 0 }).reshape(1, 1, 2, 2), 1e-6, 0);
    }

    [Fact]
    public void Attribute_ReusedReluModule_SumsToOutputDifference()
    {
        using var scope = torch.NewDisposeScope();
        var model = new ReusedReluModel(27);
        var x = torch.randn(3, 4);

        using var result = new DeepLift(model).Attribute(x, new DeepLiftOptions { Baselines = 0.3, Target = 1, ReturnConvergenceDelta = true });

        TensorAssert.AllClose(result.Delta!, torch.zeros(3), 1e-5, 0);
    }

    [Theory]
    [InlineData("relu")]
    [InlineData("elu")]
    [InlineData("leaky_relu")]
    public void Attribute_InPlaceActivations_EqualOutOfPlace(string activation)
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.randn(4, 4);
        var options = new DeepLiftOptions { Baselines = torch.randn(1, 4), Target = 2, ReturnConvergenceDelta = true };

        using var plain = new DeepLift(GradientTestModels.Mlp(28, activation)).Attribute(x, options);
        using var inPlace = new DeepLift(GradientTestModels.Mlp(28, activation, inPlace: true)).Attribute(x, options);

        TensorAssert.AllClose(inPlace.Attribution, plain.Attribution, 1e-7, 1e-6);
        TensorAssert.AllClose(inPlace.Delta!, torch.zeros(4), 1e-5, 0);
    }

    [Fact]
    public void Attribute_TwoInputsWithAdditionalArgument_SumsToOutputDifference()
    {
        using var scope = torch.NewDisposeScope();
        var model = new TwoInputModuleModel(29);
        var a = torch.randn(3, 2);
        var b = torch.randn(3, 3);
        var scale = torch.rand(3, 1) + 0.5;

        using var result = new DeepLift(model).Attribute(Inputs.Of(a, b), new DeepLiftOptions
        {
            Baselines = new BaselineValue[] { 0.5, torch.zeros(1, 3) },
            Target = new[] { 0, 2, 1 },
            AdditionalForwardArgs = [scale],
            ReturnConvergenceDelta = true,
        });

        Assert.Equal(a.shape, result[0].shape);
        Assert.Equal(b.shape, result[1].shape);
        TensorAssert.AllClose(result.Delta!, torch.zeros(3), 1e-5, 0);
    }

    [Fact]
    public void Attribute_CustomAttributionFunc_ReceivesMultipliersInputsAndBaselines()
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(30);
        var x = torch.randn(2, 4);
        var baseline = torch.randn(2, 4);

        using var multipliers = new DeepLift(model, multiplyByInputs: false).Attribute(x, new DeepLiftOptions { Baselines = baseline, Target = 0 });
        using var custom = new DeepLift(model).Attribute(x, new DeepLiftOptions
        {
            Baselines = baseline,
            Target = 0,
            CustomAttributionFunc = (m, inputs, baselines) => [m[0] * inputs[0] * 2 - baselines[0]],
        });

        TensorAssert.AllClose(custom.Attribution, (multipliers.Attribution * x * 2) - baseline, 1e-6, 1e-5);
    }

    [Fact]
    public void Attribute_UnsupportedActivationModule_ThrowsNamingModelAndModule()
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(31, "gelu");

        var ex = Assert.Throws<ArgumentException>(() => new DeepLift(model).Attribute(torch.randn(2, 4), new DeepLiftOptions { Target = 0 }));

        Assert.Equal("model", ex.ParamName);
        Assert.Contains("act1", ex.Message, StringComparison.Ordinal);
        Assert.Contains("GELU", ex.Message, StringComparison.Ordinal);
        Assert.Equal(0, GradientTestModels.HookCount(model));
    }

    [Fact]
    public void Attribute_BaselineOfWrongShape_ThrowsNamingBaselines()
    {
        using var scope = torch.NewDisposeScope();
        var ex = Assert.Throws<ArgumentException>(() => new DeepLift(GradientTestModels.Mlp(32)).Attribute(torch.randn(2, 4), new DeepLiftOptions { Baselines = torch.zeros(3, 4), Target = 0 }));
        Assert.Equal("baselines", ex.ParamName);
    }

    [Fact]
    public void Attribute_FailureWhileHooked_RemovesEveryHookAndKeepsOutputs()
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(33);
        var x = torch.randn(2, 4);
        using var noGrad = torch.no_grad();
        var before = model.call(x);

        // One additional argument too many: the forward function throws while the rule hooks are registered.
        Assert.Throws<ArgumentException>(() => new DeepLift(model).Attribute(x, new DeepLiftOptions { Target = 0, AdditionalForwardArgs = [x] }));
        Assert.Throws<ArgumentException>(() => new DeepLift(model).Attribute(x, new DeepLiftOptions { Target = 5 }));

        Assert.Equal(0, GradientTestModels.HookCount(model));
        TensorAssert.AllClose(model.call(x), before, 0, 0);
    }

    [Fact]
    public void Constructor_ForwardWithoutModule_ThrowsNamingModel()
    {
        var forward = ForwardFunction.FromDelegate((Tensor[] a) => a[0].sum(1));
        Assert.Equal("model", Assert.Throws<ArgumentException>(() => new DeepLift(forward)).ParamName);
        Assert.Equal("eps", Assert.Throws<ArgumentException>(() => new DeepLift(GradientTestModels.Mlp(1), eps: -1)).ParamName);
    }
}
