using Captum.Attr;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Layer;

/// <summary>Layer values survive models that dispose their intermediate tensors (TorchSharp's Sequential does).</summary>
public sealed class LayerEvaluationTests
{
    [Theory]
    [InlineData("net.0", false)]
    [InlineData("net.1", false)]
    [InlineData("net.2", true)]
    public void LayerIntegratedGradients_SequentialChild_SumsToOutputDifference(string layer, bool onInput)
    {
        using var scope = torch.NewDisposeScope();
        var model = new SequentialMlp(seed: 3);
        var x = torch.randn(2, 4);

        using var result = new LayerIntegratedGradients(model, layer).Attribute(x, new LayerIntegratedGradientsOptions
        {
            Target = 2,
            AttributeToLayerInput = onInput,
            ReturnConvergenceDelta = true,
        });

        Assert.Equal(2, result.Attribution.shape[0]);
        Assert.True(result.Delta!.abs().max().item<float>() < 1e-4, $"delta {result.Delta!.abs().max().item<float>()}");
    }

    [Fact]
    public void ForwardWithValues_LayerOfFrozenModelOnPlainInputs_ValuesRequireGradAndCallerFlagsUntouched()
    {
        using var scope = torch.NewDisposeScope();
        var model = new SequentialMlp(seed: 4);
        foreach (var p in model.parameters())
        {
            p.requires_grad_(false);
        }

        var x = torch.randn(2, 4);
        var evaluation = LayerEvaluation.Create(model, ["net.0"], isList: false);

        var (output, values) = evaluation.ForwardWithValues([x], onInput: true);

        Assert.True(values[0][0].requires_grad);
        Assert.True(output.requires_grad);
        Assert.False(x.requires_grad);
        TensorAssert.AllClose(values[0][0], x, 0, 0);
    }
}
