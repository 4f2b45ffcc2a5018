using Captum.Attr;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Gradient;

public sealed class GradientShapTests
{
    [Fact]
    public void Attribute_LinearModelOneReference_EqualsWeightTimesDifference()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearModel(4, 3, seed: 51);
        var x = torch.randn(3, 4);
        var reference = torch.randn(1, 4);

        using var result = new GradientShap(model).Attribute(x, new GradientShapOptions { Baselines = reference, Target = 1, Samples = 7, Seed = 1, ReturnConvergenceDelta = true });

        // The gradient is the same at every point, so every sample gives W * (x - reference).
        TensorAssert.AllClose(result.Attribution, model.Lin.weight![1] * (x - reference), 1e-6, 1e-5);
        Assert.Equal(new long[] { 21 }, result.Delta!.shape);
        TensorAssert.AllClose(result.Delta!, torch.zeros(21), 1e-5, 0);
    }

    [Fact]
    public void Attribute_LinearModelIdenticalReferencesWithNoise_EqualsWeightTimesMeanNoisyDifference()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearModel(4, 2, seed: 52);
        var x = torch.randn(2, 4);

        // Two copies of one reference: whichever is drawn, attributions are W * (x + noise - reference).
        using var result = new GradientShap(model, multiplyByInputs: false).Attribute(x, new GradientShapOptions
        {
            Baselines = torch.zeros(2, 4),
            Target = 0,
            Samples = 9,
            Stdevs = 0.5,
            Seed = 2,
        });

        TensorAssert.AllClose(result.Attribution, model.Lin.weight![0].expand(2, 4), 1e-6, 1e-5);
    }

    [Fact]
    public void Attribute_SameSeed_RepeatsExactly_DifferentSeedsDiffer()
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(53, "tanh");
        var x = torch.randn(3, 4);
        var options = new GradientShapOptions { Baselines = torch.randn(6, 4), Target = 2, Samples = 5, Stdevs = 0.1, Seed = 7, ReturnConvergenceDelta = true };
        var shap = new GradientShap(model);

        using var first = shap.Attribute(x, options);
        torch.manual_seed(999);
        using var again = shap.Attribute(x, options);
        using var other = shap.Attribute(x, options with { Seed = 8 });

        TensorAssert.AllClose(again.Attribution, first.Attribution, 0, 0);
        TensorAssert.AllClose(again.Delta!, first.Delta!, 0, 0);
        Assert.True((other.Attribution - first.Attribution).abs().max().item<float>() > 1e-4);
    }

    [Fact]
    public void Attribute_GeneratorSeededAlike_EqualsSeedOnFirstCallThenAdvances()
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(54, "tanh");
        var x = torch.randn(2, 4);
        var options = new GradientShapOptions { Baselines = torch.randn(5, 4), Target = 0, Samples = 4 };
        var shap = new GradientShap(model);
        using var generator = new Generator(11, torch.CPU);

        using var seeded = shap.Attribute(x, options with { Seed = 11 });
        using var first = shap.Attribute(x, options with { Generator = generator });
        using var second = shap.Attribute(x, options with { Generator = generator });

        TensorAssert.AllClose(first.Attribution, seeded.Attribution, 0, 0);
        Assert.True((second.Attribution - first.Attribution).abs().max().item<float>() > 1e-5);
    }

    [Fact]
    public void Attribute_SeedAndGenerator_ThrowsNamingSeed()
    {
        using var scope = torch.NewDisposeScope();
        using var generator = new Generator(1, torch.CPU);
        var ex = Assert.Throws<ArgumentException>(() => new GradientShap(GradientTestModels.Mlp(1)).Attribute(torch.randn(2, 4), new GradientShapOptions
        {
            Baselines = torch.zeros(2, 4),
            Target = 0,
            Seed = 1,
            Generator = generator,
        }));
        Assert.Equal("Seed", ex.ParamName);
    }

    [Fact]
    public void Attribute_NoOrMisshapenBaselines_ThrowsNamingBaselines()
    {
        using var scope = torch.NewDisposeScope();
        var shap = new GradientShap(GradientTestModels.Mlp(55));
        var x = torch.randn(2, 4);
        Assert.Equal("baselines", Assert.Throws<ArgumentException>(() => shap.Attribute(x, new GradientShapOptions { Target = 0 })).ParamName);
        Assert.Equal("baselines", Assert.Throws<ArgumentException>(() => shap.Attribute(x, new GradientShapOptions { Baselines = torch.zeros(3, 5), Target = 0 })).ParamName);
    }

    [Fact]
    public void Attribute_BadSamplesOrStdevs_ThrowsNamingThem()
    {
        using var scope = torch.NewDisposeScope();
        var shap = new GradientShap(GradientTestModels.Mlp(56));
        var x = torch.randn(2, 4);
        var options = new GradientShapOptions { Baselines = torch.zeros(2, 4), Target = 0 };
        Assert.Equal("Samples", Assert.Throws<ArgumentOutOfRangeException>(() => shap.Attribute(x, options with { Samples = 0 })).ParamName);
        Assert.Equal("Stdevs", Assert.Throws<ArgumentException>(() => shap.Attribute(x, options with { Stdevs = -1.0 })).ParamName);
        Assert.Equal("Stdevs", Assert.Throws<ArgumentException>(() => shap.Attribute(x, options with { Stdevs = new[] { 0.1, 0.2 } })).ParamName);
    }

    [Fact]
    public void Attribute_ScalarBaseline_IsAConstantReference()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearModel(4, 2, seed: 57);
        var x = torch.randn(2, 4);

        using var result = new GradientShap(model).Attribute(x, new GradientShapOptions { Baselines = 0.5, Target = 1, Seed = 3 });

        TensorAssert.AllClose(result.Attribution, model.Lin.weight![1] * (x - 0.5), 1e-6, 1e-5);
    }
}
