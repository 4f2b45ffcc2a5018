using Captum.Attr;
using Captum.Forward;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Perturbation;

/// <summary>Bad input to the perturbation methods gets an ArgumentException naming the argument.</summary>
public sealed class PerturbationArgumentTests
{
    private static T Throws<T>(Action act, string parameter, string fragment)
        where T : ArgumentException
    {
        var ex = Assert.Throws<T>(act);
        Assert.Equal(parameter, ex.ParamName);
        Assert.Contains(fragment, ex.Message, StringComparison.OrdinalIgnoreCase);
        return ex;
    }

    [Theory]
    [InlineData(new long[] { 1, 3 })]
    [InlineData(new long[] { 3, 4 })]
    [InlineData(new long[] { 1, 1, 4 })]
    public void FeatureAblation_MaskOfWrongShape_ThrowsNamingFeatureMask(long[] shape)
    {
        using var scope = torch.NewDisposeScope();
        var method = new FeatureAblation(TestModels.SmoothMlp(1));
        Throws<ArgumentException>(() => method.Attribute(torch.randn(2, 4), new FeatureAblationOptions { Target = 0, FeatureMask = torch.zeros(shape, ScalarType.Int64) }), "FeatureMask", "shape");
    }

    [Fact]
    public void FeatureAblation_OneMaskForTwoInputs_ThrowsNamingFeatureMask()
    {
        using var scope = torch.NewDisposeScope();
        var method = new FeatureAblation(new TwoInputModel(1));
        Throws<ArgumentException>(
            () => method.Attribute(Inputs.Of(torch.randn(1, 2), torch.randn(1, 3)), new FeatureAblationOptions { Target = 0, FeatureMask = torch.zeros(1, 2, ScalarType.Int64), AdditionalForwardArgs = [torch.ones(1, 1)] }),
            "FeatureMask",
            "one mask per input");
    }

    [Fact]
    public void FeatureAblation_FloatingPointMask_ThrowsNamingFeatureMask()
    {
        using var scope = torch.NewDisposeScope();
        var method = new FeatureAblation(TestModels.SmoothMlp(1));
        Throws<ArgumentException>(() => method.Attribute(torch.randn(2, 4), new FeatureAblationOptions { Target = 0, FeatureMask = torch.zeros(1, 4) }), "FeatureMask", "integer");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void FeatureAblation_PerturbationsPerEvalBelowOne_ThrowsNamingIt(int perEval)
    {
        using var scope = torch.NewDisposeScope();
        var method = new FeatureAblation(TestModels.SmoothMlp(1));
        Throws<ArgumentOutOfRangeException>(() => method.Attribute(torch.randn(2, 4), new FeatureAblationOptions { Target = 0, PerturbationsPerEval = perEval }), "PerturbationsPerEval", "at least 1");
    }

    [Fact]
    public void FeatureAblation_ScalarOutputWithSeveralPerturbationsPerEval_ThrowsNamingIt()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(1);
        ForwardFunction total = ForwardFunction.FromDelegate((Tensor[] t) => model.call(t[0]).sum());
        Throws<ArgumentException>(() => new FeatureAblation(total).Attribute(torch.randn(2, 4), new FeatureAblationOptions { PerturbationsPerEval = 2 }), "PerturbationsPerEval", "whole batch");
    }

    [Fact]
    public void FeatureAblation_ScalarOutputWithPerExampleMask_ThrowsNamingFeatureMask()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(1);
        ForwardFunction total = ForwardFunction.FromDelegate((Tensor[] t) => model.call(t[0]).sum());
        Throws<ArgumentException>(
            () => new FeatureAblation(total).Attribute(torch.randn(2, 4), new FeatureAblationOptions { FeatureMask = torch.tensor(new long[,] { { 0, 0, 1, 1 }, { 0, 1, 1, 1 } }) }),
            "FeatureMask",
            "first dimension must be 1");
    }

    [Fact]
    public void FeatureAblation_TargetForScalarOutput_ThrowsNamingTarget()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(1);
        ForwardFunction total = ForwardFunction.FromDelegate((Tensor[] t) => model.call(t[0]).sum());
        Throws<ArgumentException>(() => new FeatureAblation(total).Attribute(torch.randn(2, 4), new FeatureAblationOptions { Target = 1 }), "target", "single scalar");
    }

    [Fact]
    public void FeatureAblation_NoTargetForVectorOutput_ThrowsNamingTarget()
    {
        using var scope = torch.NewDisposeScope();
        Throws<ArgumentException>(() => new FeatureAblation(TestModels.SmoothMlp(1)).Attribute(torch.randn(2, 4)), "target", "target is required");
    }

    [Fact]
    public void FeatureAblation_FractionalBaselineForTokenIds_ThrowsNamingBaselines()
    {
        using var scope = torch.NewDisposeScope();
        var method = new FeatureAblation(new BagOfWords(1));
        Throws<ArgumentException>(() => method.Attribute(torch.tensor(new long[,] { { 1, 2 } }), new FeatureAblationOptions { Target = 0, Baselines = 0.5 }), "baselines", "whole number");
    }

    [Fact]
    public void FeatureAblation_BaselineNotBroadcastable_ThrowsNamingBaselines()
    {
        using var scope = torch.NewDisposeScope();
        var method = new FeatureAblation(TestModels.SmoothMlp(1));
        Throws<ArgumentException>(() => method.Attribute(torch.randn(2, 4), new FeatureAblationOptions { Target = 0, Baselines = torch.zeros(3, 4) }), "baselines", "does not broadcast");
    }

    [Fact]
    public void ShapleyValueSampling_MaskOfWrongShape_ThrowsNamingFeatureMask()
    {
        using var scope = torch.NewDisposeScope();
        var method = new ShapleyValueSampling(TestModels.SmoothMlp(1));
        Throws<ArgumentException>(() => method.Attribute(torch.randn(2, 4), new ShapleyValueSamplingOptions { Target = 0, FeatureMask = torch.zeros(1, 5, ScalarType.Int64) }), "FeatureMask", "does not broadcast");
    }

    [Fact]
    public void Lime_VectorOutputPerBatch_ThrowsNamingTarget()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(1);
        ForwardFunction perClass = ForwardFunction.FromDelegate((Tensor[] t) => model.call(t[0]).sum(dim: 0));
        Throws<ArgumentException>(() => new Lime(perClass).Attribute(torch.randn(2, 4)), "target", "one value per example");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    public void KernelShap_PerturbationsPerEvalBelowOne_ThrowsNamingIt(int perEval)
    {
        using var scope = torch.NewDisposeScope();
        Throws<ArgumentOutOfRangeException>(
            () => new KernelShap(TestModels.SmoothMlp(1)).Attribute(torch.randn(1, 4), new KernelShapOptions { Target = 0, PerturbationsPerEval = perEval }),
            "PerturbationsPerEval",
            "at least 1");
    }
}
