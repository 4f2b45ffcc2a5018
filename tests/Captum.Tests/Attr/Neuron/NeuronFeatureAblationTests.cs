using Captum.Attr;
using Captum.Forward;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Neuron;

public sealed class NeuronFeatureAblationTests
{
    [Fact]
    public void Attribute_PerturbationsPerEvalGiven_ReportsIt()
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(1, "tanh", inputs: 5, hidden: 6);
        var x = TestModels.Normal(2, 4, 5);

        using var result = new NeuronFeatureAblation(model, "act1", neuronSelector: 4).Attribute(x, new NeuronFeatureAblationOptions { PerturbationsPerEval = 2 });

        Assert.Equal(2, result.PerturbationsPerEval);
    }

    [Fact]
    public void Attribute_HiddenNeuron_EqualsFeatureAblationOfAFunctionReturningTheNeuron()
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(1, "tanh", inputs: 5, hidden: 6);
        var x = TestModels.Normal(2, 4, 5);
        var baseline = TestModels.Normal(3, 1, 5);
        var mask = torch.tensor(new long[,] { { 0, 3, 3, 1, 0 } });

        using var result = new NeuronFeatureAblation(model, "act1", neuronSelector: 4).Attribute(x, new NeuronFeatureAblationOptions
        {
            Baselines = baseline,
            FeatureMask = mask,
            PerturbationsPerEval = 2,
        });

        ForwardFunction neuron = (Func<Tensor, Tensor>)(batch => torch.tanh(model.Lin1.call(batch))[.., 4]);
        using var expected = new FeatureAblation(neuron).Attribute(x, new FeatureAblationOptions { Baselines = baseline, FeatureMask = mask });
        TensorAssert.AllClose(result.Attribution, expected.Attribution, 1e-6, 1e-5);
    }

    [Fact]
    public void Attribute_NeuronOfTheLayerInputWithTwoInputs_EqualsFeatureAblationOfThatNeuron()
    {
        using var scope = torch.NewDisposeScope();
        var model = new TwoInputModel(4);
        var a = TestModels.Normal(5, 3, 2);
        var b = TestModels.Normal(6, 3, 3);
        var scale = torch.rand(3, 1) + 0.5;

        // The input of lin is cat(tanh(a), sigmoid(b)); neuron 3 is sigmoid(b[:, 1]), which depends on b alone.
        using var result = new NeuronFeatureAblation(model, "lin", neuronSelector: 3).Attribute(Inputs.Of(a, b), new NeuronFeatureAblationOptions
        {
            Baselines = new BaselineValue[] { 0.0, 1.5 },
            AdditionalForwardArgs = [scale],
            AttributeToNeuronInput = true,
        });

        var expectedB = torch.zeros(3, 3);
        expectedB[.., 1] = torch.sigmoid(b[.., 1]) - torch.sigmoid(torch.tensor(1.5f));
        TensorAssert.AllClose(result[0], torch.zeros(3, 2), 0, 0);
        TensorAssert.AllClose(result[1], expectedB, 1e-6, 1e-5);
    }

    [Fact]
    public void Attribute_SelectorFunctionOnTokenIds_EqualsFeatureAblationOfTheSelectedValue()
    {
        using var scope = torch.NewDisposeScope();
        var model = new BagOfWords(7);
        var tokens = torch.tensor(new long[,] { { 3, 5, 1, 2 }, { 4, 4, 9, 11 } });
        Func<Tensor, Tensor> selector = embedded => embedded[.., 1, ..].sum(dim: 1) + embedded[.., 3, 2];

        using var result = new NeuronFeatureAblation(model, "embedding", selector).Attribute(tokens, new NeuronFeatureAblationOptions { PerturbationsPerEval = 3 });

        ForwardFunction selected = (Func<Tensor, Tensor>)(batch => selector(model.EmbeddingLayer.call(batch)));
        using var expected = new FeatureAblation(selected).Attribute(tokens);
        TensorAssert.AllClose(result.Attribution, expected.Attribution, 1e-6, 1e-5);

        // Only positions 1 and 3 reach the selected value.
        Assert.True((result.Attribution[.., 0] == 0).all().item<bool>());
        Assert.True((result.Attribution[.., 2] == 0).all().item<bool>());
    }

    [Fact]
    public void Attribute_AblationPasses_StopOnceTheLayerHasRun()
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(8, "tanh");
        var x = TestModels.Normal(9, 2, 4);
        var afterLayer = 0;
        var hook = model.Lin3.register_forward_pre_hook((_, input) =>
        {
            afterLayer++;
            return input;
        });

        AttributionResult result;
        try
        {
            result = new NeuronFeatureAblation(model, "lin1", neuronSelector: 0).Attribute(x);
        }
        finally
        {
            hook.remove();
        }

        // Only the first, unperturbed pass runs the model to its end (and checks the layer is called once).
        Assert.Equal(1, afterLayer);
        using var noGrad = torch.no_grad();
        var expected = model.Lin1.weight![0] * x;
        TensorAssert.AllClose(result.Attribution, expected, 1e-6, 1e-5);
        result.Dispose();
    }

    [Fact]
    public void Attribute_NeuronOutOfRange_ThrowsNamingNeuronSelector()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(10);

        var ex = Assert.Throws<ArgumentException>(() => new NeuronFeatureAblation(model, "lin1", neuronSelector: 8).Attribute(torch.randn(2, 4)));

        Assert.Equal("neuronSelector", ex.ParamName);
        Assert.Equal(0, GradientTestModels.HookCount(model));
    }
}
