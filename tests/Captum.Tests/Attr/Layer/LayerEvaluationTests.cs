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

    [Fact]
    public void LayerMethods_InPlaceReluAfterTheLayer_SameAsWithAnOutOfPlaceRelu()
    {
        using var scope = torch.NewDisposeScope();
        var inPlace = new InPlaceAfterLayerModel(seed: 11);
        var outOfPlace = new InPlaceAfterLayerModel(seed: 11, inplace: false);
        var x = torch.randn(5, 3);
        Tensor expected;
        using (torch.no_grad())
        {
            expected = inPlace.Lin1.forward(x);
        }

        Assert.True(expected.lt(0).any().item<bool>(), "the test needs negative values for the ReLU to overwrite");
        using var activation = new LayerActivation(inPlace, "lin1").Attribute(x);
        using var neuronGradient = new NeuronGradient(inPlace, "lin1", 0).Attribute(x);
        var ligOptions = new LayerIntegratedGradientsOptions { Target = 1, ReturnConvergenceDelta = true };
        using var lig = new LayerIntegratedGradients(inPlace, "lin1").Attribute(x, ligOptions);
        using var ligReference = new LayerIntegratedGradients(outOfPlace, "lin1").Attribute(x, ligOptions);
        using var ablation = new NeuronFeatureAblation(inPlace, "lin1", 0).Attribute(x);
        using var ablationReference = new NeuronFeatureAblation(outOfPlace, "lin1", 0).Attribute(x);

        TensorAssert.AllClose(activation.Attribution, expected, 0, 0);
        TensorAssert.AllClose(neuronGradient.Attribution, inPlace.Lin1.weight![0].expand(5, 3), 1e-6, 0);
        TensorAssert.AllClose(lig.Attribution, ligReference.Attribution, 0, 0);
        TensorAssert.AllClose(lig.Delta!, ligReference.Delta!, 0, 0);
        TensorAssert.AllClose(ablation.Attribution, ablationReference.Attribution, 0, 0);
    }
}
