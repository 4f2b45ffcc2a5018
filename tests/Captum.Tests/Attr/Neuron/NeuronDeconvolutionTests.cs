using Captum.Attr;
using Captum.Forward;
using FsCheck.Xunit;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Neuron;

public sealed class NeuronDeconvolutionTests
{
    /// <summary>Captum's definition: Deconvolution with the neuron in place of the model's output.</summary>
    [Property(MaxTest = 25)]
    public void Attribute_AnyNeuron_EqualsDeconvolutionOfAFunctionReturningIt(int seed, byte layerChoice, byte c, byte i, byte j, bool toInput)
    {
        using var scope = torch.NewDisposeScope();
        var model = new ReluCnn(seed);
        var x = TestModels.Normal(seed, 3, 2, 6, 6);
        var index = layerChoice % NeuronForwards.CnnLayers.Length;
        var layer = NeuronForwards.CnnLayers[index].Name;
        var neuron = NeuronForwards.CnnNeuron(layer, c, i, j);

        // The neuron in relu1's or relu2's input is the one in the output of the convolution before it.
        var onInput = toInput && layer.StartsWith("relu", StringComparison.Ordinal);
        using var result = new NeuronDeconvolution(model, layer, neuron).Attribute(x, new NeuronDeconvolutionOptions { AttributeToNeuronInput = onInput });

        var produced = onInput ? NeuronForwards.CnnLayers[index - 1].Name : layer;
        using var expected = new Deconvolution(NeuronForwards.Cnn(model, produced, neuron)).Attribute(x);
        TensorAssert.AllClose(result.Attribution, expected.Attribution, 0, 0);
    }

    [Fact]
    public void Attribute_InactiveNeuronOfAReluLayer_GoesThroughThatRelusRule()
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(51, "relu");
        var x = TestModels.Normal(52, 6, 4);
        using var noGrad = torch.no_grad();
        var preActivation = model.Lin1.call(x)[.., 2];
        Assert.True((preActivation < 0).any().item<bool>() && (preActivation > 0).any().item<bool>(), "both active and inactive examples");

        using var result = new NeuronDeconvolution(model, "act1", 2).Attribute(x);

        // Deconvolution ignores act1's mask: relu(1) passes back, so every example gets lin1's weight row, also
        // where the neuron is 0 and its plain gradient would be.
        TensorAssert.AllClose(result.Attribution, model.Lin1.weight![2].expand(6, 4), 1e-7, 0);
    }

    [Fact]
    public void Attribute_ReluNet_IsTheSameForEveryExample()
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(53, "relu");
        var x = TestModels.Normal(54, 4, 4);

        using var result = new NeuronDeconvolution(model, "act2", 5).Attribute(x);

        // The masks are ignored: relu(lin2's row 5) through act1, then lin1's weights, for every example.
        using var noGrad = torch.no_grad();
        var expected = nn.functional.relu(model.Lin2.weight![5]).matmul(model.Lin1.weight!).expand(4, 4);
        TensorAssert.AllClose(result.Attribution, expected, 1e-6, 1e-5);
    }

    [Fact]
    public void Constructor_ForwardFunctionWithoutModule_ThrowsNamingModel()
    {
        var model = new ReluCnn(55);
        var ex = Assert.Throws<ArgumentException>(() => new NeuronDeconvolution(ForwardFunction.FromDelegate((Tensor[] t) => model.call(t[0])), model.Conv1, (0, 0, 0)));
        Assert.Equal("model", ex.ParamName);
    }

    [Fact]
    public void Attribute_IntegerInputs_ThrowsNamingInputs()
    {
        using var scope = torch.NewDisposeScope();
        var model = new TokenTanhModel(56);
        var ex = Assert.Throws<ArgumentException>(() => new NeuronDeconvolution(model, "tanh", (1, 2)).Attribute(torch.tensor(new long[,] { { 1, 2, 3, 4 } })));
        Assert.Equal("inputs", ex.ParamName);
    }
}
