using Captum.Attr;
using Captum.Forward;
using FsCheck.Xunit;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Neuron;

public sealed class NeuronDeepLiftTests
{
    /// <summary>Captum's definition: DeepLift with the neuron in place of the model's output, every supported module (the layer's own included) under its rule.</summary>
    [Property(MaxTest = 30)]
    public void Attribute_AnyNeuron_EqualsDeepLiftOfAFunctionReturningIt(int seed, byte activationChoice, byte layerChoice, byte neuronChoice, bool multiplyByInputs)
    {
        using var scope = torch.NewDisposeScope();
        var activation = GradientTestModels.Activations[activationChoice % GradientTestModels.Activations.Length];
        var model = GradientTestModels.Mlp(seed, activation);
        var x = TestModels.Normal(seed, 3, 4) * 2;
        var baseline = TestModels.Normal(seed + 1, 3, 4);
        var layer = NeuronForwards.MlpLayers[layerChoice % NeuronForwards.MlpLayers.Length];
        var k = neuronChoice % 6;

        using var result = new NeuronDeepLift(model, layer, k, multiplyByInputs).Attribute(x, new NeuronDeepLiftOptions { Baselines = baseline });

        using var expected = new DeepLift(NeuronForwards.Mlp(model, layer, k), multiplyByInputs).Attribute(x, new DeepLiftOptions { Baselines = baseline });
        TensorAssert.AllClose(result.Attribution, expected.Attribution, 0, 0);
    }

    /// <summary>The rescale rule telescopes up to the neuron: the attributions sum to neuron(x) - neuron(baseline).</summary>
    [Property(MaxTest = 30)]
    public void Attribute_SupportedActivations_SumToNeuronDifference(int seed, byte activationChoice, byte neuronChoice)
    {
        using var scope = torch.NewDisposeScope();
        var activation = GradientTestModels.Activations[activationChoice % GradientTestModels.Activations.Length];
        var model = GradientTestModels.Mlp(seed, activation);
        var x = TestModels.Normal(seed, 4, 4) * 2;
        var baseline = TestModels.Normal(seed + 1, 1, 4);
        var k = neuronChoice % 6;

        using var result = new NeuronDeepLift(model, "act2", k).Attribute(x, new NeuronDeepLiftOptions { Baselines = baseline });

        using var noGrad = torch.no_grad();
        var neuron = NeuronForwards.Mlp(model, "act2", k);
        var difference = neuron.Invoke([x]) - neuron.Invoke([baseline]);
        TensorAssert.AllClose(result.Attribution.sum(1), difference, 1e-5, 1e-4);
    }

    [Fact]
    public void Attribute_ReluCnnNeuron_SumsToNeuronDifference()
    {
        using var scope = torch.NewDisposeScope();
        var model = new ReluCnn(71);
        var x = TestModels.Normal(72, 3, 2, 6, 6);

        using var result = new NeuronDeepLift(model, "relu2", (2, 1, 1)).Attribute(x, new NeuronDeepLiftOptions { Baselines = 0.5 });

        using var noGrad = torch.no_grad();
        var neuron = NeuronForwards.Cnn(model, "relu2", (2, 1, 1));
        TensorAssert.AllClose(result.Attribution.sum([1, 2, 3]), neuron.Invoke([x]) - neuron.Invoke([torch.full_like(x, 0.5)]), 1e-5, 1e-4);
    }

    [Fact]
    public void Attribute_NeuronInTheLayerInput_IsTheNeuronOfThePreviousLayer()
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(73, "elu");
        var x = TestModels.Normal(74, 3, 4);

        using var onInput = new NeuronDeepLift(model, "act1", 2).Attribute(x, new NeuronDeepLiftOptions { Baselines = 0.1, AttributeToNeuronInput = true });
        using var onOutput = new NeuronDeepLift(model, "lin1", 2).Attribute(x, new NeuronDeepLiftOptions { Baselines = 0.1 });

        TensorAssert.AllClose(onInput.Attribution, onOutput.Attribution, 0, 0);
    }

    [Fact]
    public void Attribute_CustomFunction_ReceivesTheMultipliersInputsAndBaselines()
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(75, "tanh");
        var x = TestModels.Normal(76, 3, 4);
        CustomAttributionFunc doubled = (multipliers, inputs, baselines) => [2 * multipliers[0] * (inputs[0] - baselines[0])];

        using var custom = new NeuronDeepLift(model, "act1", 0).Attribute(x, new NeuronDeepLiftOptions { Baselines = 0.3, CustomAttributionFunc = doubled });
        using var plain = new NeuronDeepLift(model, "act1", 0).Attribute(x, new NeuronDeepLiftOptions { Baselines = 0.3 });

        TensorAssert.AllClose(custom.Attribution, 2 * plain.Attribution, 1e-7, 1e-6);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Attribute_InPlaceRelu_EqualsOutOfPlace(bool toInput)
    {
        using var scope = torch.NewDisposeScope();
        var x = TestModels.Normal(78, 3, 4);
        var options = new NeuronDeepLiftOptions { Baselines = 0.2, AttributeToNeuronInput = toInput };

        using var inPlace = new NeuronDeepLift(GradientTestModels.Mlp(79, "relu", inPlace: true), "act2", 5).Attribute(x, options);
        using var plain = new NeuronDeepLift(GradientTestModels.Mlp(79, "relu"), "act2", 5).Attribute(x, options);

        TensorAssert.AllClose(inPlace.Attribution, plain.Attribution, 0, 0);
        Assert.True((plain.Attribution != 0).any().item<bool>());
    }

    [Fact]
    public void Attribute_UnsupportedActivation_ThrowsNamingModelAndLeavesNoHooks()
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(80, "gelu");

        var ex = Assert.Throws<ArgumentException>(() => new NeuronDeepLift(model, "lin2", 0).Attribute(torch.randn(2, 4)));

        Assert.Equal("model", ex.ParamName);
        Assert.Contains("GELU", ex.Message, StringComparison.Ordinal);
        Assert.Equal(0, GradientTestModels.HookCount(model));
    }

    [Fact]
    public void Constructor_ForwardFunctionWithoutModule_ThrowsNamingModel()
    {
        var model = GradientTestModels.Mlp(81);
        var ex = Assert.Throws<ArgumentException>(() => new NeuronDeepLift(ForwardFunction.FromDelegate((Tensor[] t) => model.call(t[0])), model.Lin1, 0));
        Assert.Equal("model", ex.ParamName);
    }
}
