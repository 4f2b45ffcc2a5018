using Captum.Attr;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr;

/// <summary>Inputs and states a user brings by mistake get a one-line error that names them (issue 15, item 7).</summary>
public sealed class HostileInputTests
{
    public static TheoryData<string> GradientMethods => ["IntegratedGradients", "Saliency", "LayerIntegratedGradients"];

    [Theory]
    [MemberData(nameof(GradientMethods))]
    public void Attribute_InsideInferenceMode_ThrowsNamingInferenceMode(string method)
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(5);
        var x = torch.randn(2, 4);

        using var inference = torch.inference_mode();
        var ex = Assert.Throws<InvalidOperationException>(() => Run(method, model, x));

        Assert.Contains("inference_mode", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Theory]
    [MemberData(nameof(GradientMethods))]
    public void Attribute_Float64InputsToAFloat32Model_ThrowsNamingInputsAndBothDtypes(string method)
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(6);
        var x = torch.randn(2, 4, ScalarType.Float64);

        var ex = Assert.Throws<ArgumentException>(() => Run(method, model, x));

        Assert.Equal("inputs", ex.ParamName);
        Assert.Contains("Float64", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Float32", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message); // libtorch's C++ stack stays in the inner exception
    }

    [Fact]
    public void Attribute_Float64InputsToAFloat64Model_Works()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(7);
        model.to(ScalarType.Float64);

        using var result = new IntegratedGradients(model).Attribute(torch.randn(2, 4, ScalarType.Float64), new IntegratedGradientsOptions { Target = 0 });

        Assert.Equal(ScalarType.Float64, result.Attribution.dtype);
    }

    private static void Run(string method, Mlp model, Tensor x)
    {
        switch (method)
        {
            case "IntegratedGradients":
                new IntegratedGradients(model).Attribute(x, new IntegratedGradientsOptions { Target = 0 }).Dispose();
                break;
            case "Saliency":
                new Saliency(model).Attribute(x, new SaliencyOptions { Target = 0 }).Dispose();
                break;
            default:
                new LayerIntegratedGradients(model, model.Lin1).Attribute(x, new LayerIntegratedGradientsOptions { Target = 0 }).Dispose();
                break;
        }
    }
}
