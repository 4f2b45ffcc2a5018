using Captum.Attr;
using Captum.Layers;
using FsCheck.Xunit;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Neuron;

public sealed class NeuronGradientTests
{
    [Fact]
    public void Attribute_TanhNeuron_EqualsItsAnalyticGradient()
    {
        using var scope = torch.NewDisposeScope();
        var model = new SequentialMlp(seed: 1);
        var first = (Linear)LayerPath.Resolve(model, "net.0");
        var x = torch.randn(3, 4);

        using var result = new NeuronGradient(model, "net.1", 2).Attribute(x);

        using var noGrad = torch.no_grad();
        var z = first.call(x)[TensorIndex.Colon, 2];
        var expected = (1 - torch.tanh(z).pow(2)).unsqueeze(1) * first.weight![2];
        TensorAssert.AllClose(result.Attribution, expected, 1e-6, 1e-5);
        Assert.False(x.requires_grad);
    }

    [Fact]
    public void Attribute_ConvolutionNeuronByTuple_IsTheKernelOverItsWindow()
    {
        using var scope = torch.NewDisposeScope();
        var model = new ConvHead(seed: 2);
        var image = torch.randn(2, 1, 4, 4);

        using var result = new NeuronGradient(model, "conv", (1, 0, 2)).Attribute(image);

        // Channel 1 at row 0, column 2 reads the 2x2 window at rows 0-1, columns 2-3.
        var expected = torch.zeros(2, 1, 4, 4);
        expected[TensorIndex.Colon, TensorIndex.Colon, TensorIndex.Slice(0, 2), TensorIndex.Slice(2, 4)] = model.Conv.weight![1].detach();
        TensorAssert.AllClose(result.Attribution, expected, 1e-6, 0);
    }

    [Fact]
    public void Attribute_NeuronOfTheLayerInput_IsOneHot()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(3);

        using var result = new NeuronGradient(model, model.Lin1, 1).Attribute(torch.randn(2, 4), new NeuronGradientOptions { AttributeToNeuronInput = true });

        TensorAssert.AllClose(result.Attribution, torch.tensor(new float[,] { { 0, 1, 0, 0 }, { 0, 1, 0, 0 } }), 0, 0);
    }

    [Fact]
    public void Attribute_NeuronInTheInputOfAnInPlaceRelu_EqualsOutOfPlace()
    {
        using var scope = torch.NewDisposeScope();
        var x = TestModels.Normal(6, 3, 4);
        var options = new NeuronGradientOptions { AttributeToNeuronInput = true };

        // The in-place ReLU must not overwrite the input the neuron is read from (it used to, giving zeros).
        using var inPlace = new NeuronGradient(GradientTestModels.Mlp(7, "relu", inPlace: true), "act2", 1).Attribute(x, options);
        using var plain = new NeuronGradient(GradientTestModels.Mlp(7, "relu"), "act2", 1).Attribute(x, options);

        TensorAssert.AllClose(inPlace.Attribution, plain.Attribution, 0, 0);
        Assert.True((plain.Attribution != 0).all().item<bool>());
    }

    [Fact]
    public void Attribute_NegativeIndex_CountsFromTheEnd()
    {
        using var scope = torch.NewDisposeScope();
        var model = new SequentialMlp(seed: 4);
        var x = torch.randn(2, 4);

        using var last = new NeuronGradient(model, "net.1", -1).Attribute(x);
        using var five = new NeuronGradient(model, "net.1", 5).Attribute(x);

        TensorAssert.AllClose(last.Attribution, five.Attribution, 0, 0);
    }

    [Property(MaxTest = 25)]
    public void Attribute_IndexAndSelectorFunction_Agree(int seed, byte neuronChoice)
    {
        using var scope = torch.NewDisposeScope();
        var model = new SequentialMlp(seed);
        var x = torch.randn(3, 4);
        var neuron = neuronChoice % 6;

        using var byIndex = new NeuronGradient(model, "net.1", neuron).Attribute(x);
        using var byFunction = new NeuronGradient(model, "net.1", NeuronSelector.FromFunction(h => h[TensorIndex.Colon, neuron])).Attribute(x);
        using var byTensors = new NeuronGradient(model, "net.1", NeuronSelector.FromTensorsFunction(h => h[0][TensorIndex.Colon, neuron])).Attribute(x);

        TensorAssert.AllClose(byFunction.Attribution, byIndex.Attribution, 0, 0);
        TensorAssert.AllClose(byTensors.Attribution, byIndex.Attribution, 0, 0);
    }

    [Theory]
    [InlineData(6)]
    [InlineData(-7)]
    public void Attribute_IndexOutOfRange_ThrowsNamingNeuronSelector(int neuron)
    {
        using var scope = torch.NewDisposeScope();
        var method = new NeuronGradient(new SequentialMlp(seed: 5), "net.1", neuron);
        var ex = Assert.Throws<ArgumentException>(() => method.Attribute(torch.randn(2, 4)));
        Assert.Equal("neuronSelector", ex.ParamName);
        Assert.Contains("out of range", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Attribute_TooManyIndices_ThrowsNamingNeuronSelector()
    {
        using var scope = torch.NewDisposeScope();
        var method = new NeuronGradient(new SequentialMlp(seed: 5), "net.1", (1, 0));
        var ex = Assert.Throws<ArgumentException>(() => method.Attribute(torch.randn(2, 4)));
        Assert.Equal("neuronSelector", ex.ParamName);
    }

    [Fact]
    public void Attribute_FunctionReturningTheWholeLayer_ThrowsNamingNeuronSelector()
    {
        using var scope = torch.NewDisposeScope();
        var method = new NeuronGradient(new SequentialMlp(seed: 5), "net.1", (Func<Tensor, Tensor>)(h => h));
        var ex = Assert.Throws<ArgumentException>(() => method.Attribute(torch.randn(2, 4)));
        Assert.Equal("neuronSelector", ex.ParamName);
    }

    [Fact]
    public void Constructor_DefaultSelector_ThrowsNamingNeuronSelector()
    {
        using var scope = torch.NewDisposeScope();
        var ex = Assert.Throws<ArgumentException>(() => new NeuronGradient(new SequentialMlp(seed: 5), "net.1", default(NeuronSelector)));
        Assert.Equal("neuronSelector", ex.ParamName);
    }

    /// <summary>conv (1 to 2 channels, 2x2) then a linear head; forward(image).</summary>
    internal sealed class ConvHead : nn.Module<Tensor, Tensor>
    {
        private readonly Conv2d conv;
        private readonly Linear head;

        public ConvHead(int seed)
            : base(nameof(ConvHead))
        {
            torch.manual_seed(seed);
            conv = nn.Conv2d(1, 2, 2);
            head = nn.Linear(18, 3);
            RegisterComponents();
            eval();
        }

        public Conv2d Conv => conv;

        public override Tensor forward(Tensor x) => head.call(torch.tanh(conv.call(x)).flatten(1));
    }
}
