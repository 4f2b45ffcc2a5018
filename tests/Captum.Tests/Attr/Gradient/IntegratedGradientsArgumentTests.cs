using Captum.Attr;
using Captum.Forward;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Gradient;

/// <summary>Bad input gets an ArgumentException naming the argument, never a native crash.</summary>
public sealed class IntegratedGradientsArgumentTests
{
    private static T Throws<T>(Action act, string parameter, string fragment)
        where T : ArgumentException
    {
        var ex = Assert.Throws<T>(act);
        Assert.Equal(parameter, ex.ParamName);
        Assert.Contains(fragment, ex.Message, StringComparison.OrdinalIgnoreCase);
        return ex;
    }

    [Fact]
    public void Attribute_NoTargetForVectorOutput_ThrowsNamingTarget()
    {
        using var scope = torch.NewDisposeScope();
        var ig = new IntegratedGradients(TestModels.SmoothMlp(1));
        Throws<ArgumentException>(() => ig.Attribute(torch.randn(2, 4)), "target", "target is required");
    }

    [Theory]
    [InlineData(3)]
    [InlineData(-4)]
    public void Attribute_TargetOutOfRange_ThrowsNamingTarget(int target)
    {
        using var scope = torch.NewDisposeScope();
        var ig = new IntegratedGradients(TestModels.SmoothMlp(1));
        Throws<ArgumentException>(() => ig.Attribute(torch.randn(2, 4), new IntegratedGradientsOptions { Target = target }), "target", "out of range");
    }

    [Fact]
    public void Attribute_PerExampleTargetOutOfRange_ThrowsNamingTarget()
    {
        using var scope = torch.NewDisposeScope();
        var ig = new IntegratedGradients(TestModels.SmoothMlp(1));
        Throws<ArgumentException>(() => ig.Attribute(torch.randn(2, 4), new IntegratedGradientsOptions { Target = new[] { 0, 3 } }), "target", "out of range");
    }

    [Fact]
    public void Attribute_TargetCountDiffersFromBatch_ThrowsNamingTarget()
    {
        using var scope = torch.NewDisposeScope();
        var ig = new IntegratedGradients(TestModels.SmoothMlp(1));
        Throws<ArgumentException>(() => ig.Attribute(torch.randn(2, 4), new IntegratedGradientsOptions { Target = new[] { 0, 1, 2 } }), "target", "3 indices");
    }

    [Fact]
    public void Attribute_TooManyTargetIndices_ThrowsNamingTarget()
    {
        using var scope = torch.NewDisposeScope();
        var ig = new IntegratedGradients(TestModels.SmoothMlp(1));
        Throws<ArgumentException>(() => ig.Attribute(torch.randn(2, 4), new IntegratedGradientsOptions { Target = (0, 1) }), "target", "dimension");
    }

    [Theory]
    [InlineData(0, IntegrationMethod.GaussLegendre)]
    [InlineData(-3, IntegrationMethod.RiemannLeft)]
    public void Attribute_StepsBelowOne_ThrowsNamingSteps(int steps, IntegrationMethod method)
    {
        using var scope = torch.NewDisposeScope();
        var ig = new IntegratedGradients(TestModels.SmoothMlp(1));
        Throws<ArgumentOutOfRangeException>(() => ig.Attribute(torch.randn(2, 4), new IntegratedGradientsOptions { Target = 0, Steps = steps, Method = method }), "Steps", "at least 1");
    }

    [Fact]
    public void Attribute_RiemannWithOneStep_ThrowsNamingSteps()
    {
        using var scope = torch.NewDisposeScope();
        var ig = new IntegratedGradients(TestModels.SmoothMlp(1));
        Throws<ArgumentException>(() => ig.Attribute(torch.randn(2, 4), new IntegratedGradientsOptions { Target = 0, Steps = 1, Method = IntegrationMethod.RiemannTrapezoid }), "Steps", "at least 2");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void Attribute_InternalBatchSizeBelowOne_ThrowsNamingIt(int size)
    {
        using var scope = torch.NewDisposeScope();
        var ig = new IntegratedGradients(TestModels.SmoothMlp(1));
        Throws<ArgumentOutOfRangeException>(() => ig.Attribute(torch.randn(2, 4), new IntegratedGradientsOptions { Target = 0, InternalBatchSize = size }), "InternalBatchSize", "at least 1");
    }

    [Fact]
    public void Attribute_IntegerInput_ThrowsPointingToLayerIntegratedGradients()
    {
        using var scope = torch.NewDisposeScope();
        var model = new BagOfWords(1);
        var ig = new IntegratedGradients(model);
        var ex = Throws<ArgumentException>(() => ig.Attribute(torch.tensor(new long[,] { { 1, 2, 3 } }), new IntegratedGradientsOptions { Target = 0 }), "inputs", "floating-point");
        Assert.Contains("LayerIntegratedGradients", ex.Message, StringComparison.Ordinal);
        Assert.Contains("interpretable embedding", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new long[] { 3, 4 })]
    [InlineData(new long[] { 2, 5 })]
    [InlineData(new long[] { 1, 1, 4 })]
    public void Attribute_BaselineNotBroadcastable_ThrowsNamingBaselines(long[] shape)
    {
        using var scope = torch.NewDisposeScope();
        var ig = new IntegratedGradients(TestModels.SmoothMlp(1));
        Throws<ArgumentException>(() => ig.Attribute(torch.randn(2, 4), new IntegratedGradientsOptions { Target = 0, Baselines = torch.zeros(shape) }), "baselines", "does not broadcast");
    }

    [Fact]
    public void Attribute_BaselineCountDiffersFromInputs_ThrowsNamingBaselines()
    {
        using var scope = torch.NewDisposeScope();
        var ig = new IntegratedGradients(TestModels.SmoothMlp(1));
        Throws<ArgumentException>(() => ig.Attribute(torch.randn(2, 4), new IntegratedGradientsOptions { Target = 0, Baselines = new[] { 0.0, 1.0 } }), "baselines", "one baseline per input");
    }

    [Fact]
    public void Attribute_InputsWithDifferentBatchSizes_ThrowsNamingInputs()
    {
        using var scope = torch.NewDisposeScope();
        var ig = new IntegratedGradients(new TwoInputModel(1));
        Throws<ArgumentException>(() => ig.Attribute(Inputs.Of(torch.randn(2, 2), torch.randn(3, 3)), new IntegratedGradientsOptions { Target = 0, AdditionalForwardArgs = [torch.ones(2, 1)] }), "inputs", "same batch size");
    }

    [Fact]
    public void Attribute_MissingForwardArgument_ThrowsNamingArgs()
    {
        using var scope = torch.NewDisposeScope();
        var ig = new IntegratedGradients(new TwoInputModel(1));
        var ex = Throws<ArgumentException>(() => ig.Attribute(Inputs.Of(torch.randn(2, 2), torch.randn(2, 3)), new IntegratedGradientsOptions { Target = 0 }), "args", "takes 3 argument");
        Assert.Contains("scale", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Attribute_DisposedInput_ThrowsNamingInputs()
    {
        using var scope = torch.NewDisposeScope();
        var ig = new IntegratedGradients(TestModels.SmoothMlp(1));
        var x = torch.randn(2, 4);
        x.Dispose();
        Throws<ArgumentException>(() => ig.Attribute(x, new IntegratedGradientsOptions { Target = 0 }), "inputs", "disposed");
    }

    [Fact]
    public void FromModule_ArgumentOfWrongType_ThrowsNamingTheParameter()
    {
        using var scope = torch.NewDisposeScope();
        var forward = ForwardFunction.FromModule(new TwoInputModel(1));
        var ex = Assert.Throws<ArgumentException>(() => forward.Invoke(torch.ones(1, 2), torch.ones(1, 3), 2.0));
        Assert.Contains("'scale'", ex.Message, StringComparison.Ordinal);
    }
}
