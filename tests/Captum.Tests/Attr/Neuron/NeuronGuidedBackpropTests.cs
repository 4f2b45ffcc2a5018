using Captum.Attr;
using Captum.Forward;
using FsCheck.Xunit;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Neuron;

public sealed class NeuronGuidedBackpropTests
{
    /// <summary>Captum's definition: GuidedBackprop with the neuron in place of the model's output.</summary>
    [Property(MaxTest = 25)]
    public void Attribute_AnyNeuron_EqualsGuidedBackpropOfAFunctionReturningIt(int seed, byte layerChoice, byte c, byte i, byte j)
    {
        using var scope = torch.NewDisposeScope();
        var model = new ReluCnn(seed);
        var x = TestModels.Normal(seed, 3, 2, 6, 6);
        var layer = NeuronForwards.CnnLayers[layerChoice % NeuronForwards.CnnLayers.Length].Name;
        var neuron = NeuronForwards.CnnNeuron(layer, c, i, j);

        using var result = new NeuronGuidedBackprop(model, layer, neuron).Attribute(x);

        using var expected = new GuidedBackprop(NeuronForwards.Cnn(model, layer, neuron)).Attribute(x);
        TensorAssert.AllClose(result.Attribution, expected.Attribution, 0, 0);
    }

    [Fact]
    public void Attribute_ReluNet_EqualsHandComputedGuidedGradientOfTheNeuron()
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(41, "relu");
        var x = TestModels.Normal(42, 5, 4);

        using var result = new NeuronGuidedBackprop(model, "lin2", 3).Attribute(x);

        // From lin2's neuron 3 back: its weight row, relu(upstream * act1's mask), then lin1's weights.
        using var noGrad = torch.no_grad();
        var mask1 = (model.Lin1.call(x) > 0).to_type(ScalarType.Float32);
        var expected = nn.functional.relu(model.Lin2.weight![3].expand(5, 6) * mask1).matmul(model.Lin1.weight!);
        TensorAssert.AllClose(result.Attribution, expected, 1e-6, 1e-5);
    }

    [Fact]
    public void Attribute_NeuronInTheLayerInput_IsTheNeuronOfThePreviousLayer()
    {
        using var scope = torch.NewDisposeScope();
        var model = new ReluCnn(43);
        var x = TestModels.Normal(44, 2, 2, 6, 6);

        using var onInput = new NeuronGuidedBackprop(model, "relu2", (1, 2, 0)).Attribute(x, new NeuronGuidedBackpropOptions { AttributeToNeuronInput = true });
        using var onConv = new NeuronGuidedBackprop(model, "conv2", (1, 2, 0)).Attribute(x);

        TensorAssert.AllClose(onInput.Attribution, onConv.Attribution, 0, 0);
    }

    [Fact]
    public void Attribute_SeveralInputsAndAdditionalArgument_AttributesEveryInput()
    {
        using var scope = torch.NewDisposeScope();
        var model = new TwoInputModuleModel(45);
        var a = torch.randn(3, 2);
        var b = torch.randn(3, 3);
        var scale = torch.ones(3, 1) * 2;

        using var result = new NeuronGuidedBackprop(model, "relu", 1).Attribute(Inputs.Of(a, b), new NeuronGuidedBackpropOptions { AdditionalForwardArgs = [scale] });

        // relu's neuron 1 reads only a, through la's row 1 where it is active.
        using var noGrad = torch.no_grad();
        var la = (TorchSharp.Modules.Linear)model.named_modules().Single(m => m.name == "la").module;
        var active = (la.call(a)[.., 1] > 0).to_type(ScalarType.Float32).unsqueeze(1);
        TensorAssert.AllClose(result[0], active * la.weight![1], 1e-6, 1e-5);
        TensorAssert.AllClose(result[1], torch.zeros(3, 3), 0, 0);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Attribute_InPlaceRelu_EqualsOutOfPlace(bool toInput)
    {
        using var scope = torch.NewDisposeScope();
        var x = TestModels.Normal(49, 3, 4);
        var options = new NeuronGuidedBackpropOptions { AttributeToNeuronInput = toInput };

        using var inPlace = new NeuronGuidedBackprop(GradientTestModels.Mlp(50, "relu", inPlace: true), "act2", 1).Attribute(x, options);
        using var plain = new NeuronGuidedBackprop(GradientTestModels.Mlp(50, "relu"), "act2", 1).Attribute(x, options);

        TensorAssert.AllClose(inPlace.Attribution, plain.Attribution, 0, 0);
        Assert.True((plain.Attribution != 0).any().item<bool>());
    }

    [Fact]
    public void Constructor_ForwardFunctionWithoutModule_ThrowsNamingModel()
    {
        var model = new ReluCnn(46);
        var ex = Assert.Throws<ArgumentException>(() => new NeuronGuidedBackprop(ForwardFunction.FromDelegate((Tensor[] t) => model.call(t[0])), model.Conv1, (0, 0, 0)));
        Assert.Equal("model", ex.ParamName);
    }

    [Fact]
    public void Attribute_NeuronOutOfRange_ThrowsNamingNeuronSelectorAndLeavesNoHooks()
    {
        using var scope = torch.NewDisposeScope();
        var model = new ReluCnn(47);
        var x = TestModels.Normal(48, 2, 2, 6, 6).requires_grad_(true);

        var ex = Assert.Throws<ArgumentException>(() => new NeuronGuidedBackprop(model, "relu2", (4, 0, 0)).Attribute(x));

        Assert.Equal("neuronSelector", ex.ParamName);
        Assert.Equal(0, GradientTestModels.HookCount(model));
        Assert.True(x.requires_grad);
        Assert.Null(x.grad);
    }
}
