using Captum.Attr;
using FsCheck.Xunit;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Neuron;

public sealed class NeuronIntegratedGradientsTests
{
    [Fact]
    public void Attribute_SmoothNeuron_SumsToTheNeuronsChange()
    {
        using var scope = torch.NewDisposeScope();
        var model = new SequentialMlp(seed: 1);
        var x = torch.randn(3, 4) * 2;
        var baseline = torch.randn(3, 4);

        using var result = new NeuronIntegratedGradients(model, "net.1", 4).Attribute(x, new NeuronIntegratedGradientsOptions { Baselines = baseline });

        var activation = new LayerActivation(model, "net.1");
        using var atInput = activation.Attribute(x);
        using var atBaseline = activation.Attribute(baseline);
        var change = atInput.Attribution[TensorIndex.Colon, 4] - atBaseline.Attribution[TensorIndex.Colon, 4];
        TensorAssert.AllClose(result.Attribution.sum(1), change, 1e-5, 1e-4);
    }

    [Fact]
    public void Attribute_LinearNeuronWithoutMultiplying_IsItsWeights()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearStack(seed: 2);

        var method = new NeuronIntegratedGradients(model, model.Lin1, 3, multiplyByInputs: false);
        using var result = method.Attribute(torch.randn(2, 4), new NeuronIntegratedGradientsOptions { Steps = 3, Method = IntegrationMethod.RiemannRight });

        Assert.False(method.MultipliesByInputs);
        TensorAssert.AllClose(result.Attribution, model.Lin1.weight![3].expand(2, 4), 1e-6, 1e-5);
    }

    [Property(MaxTest = 20)]
    public void Attribute_IndexAndSelectorFunction_Agree(int seed, byte neuronChoice, byte batchChoice)
    {
        using var scope = torch.NewDisposeScope();
        var model = new SequentialMlp(seed);
        var x = torch.randn(2, 4);
        var neuron = neuronChoice % 6;
        var options = new NeuronIntegratedGradientsOptions { Steps = 8 };

        using var byIndex = new NeuronIntegratedGradients(model, "net.0", neuron).Attribute(x, options);
        using var byFunction = new NeuronIntegratedGradients(model, "net.0", NeuronSelector.FromFunction(h => h[TensorIndex.Colon, neuron]))
            .Attribute(x, options with { InternalBatchSize = 1 + (batchChoice % 20) });

        TensorAssert.AllClose(byFunction.Attribution, byIndex.Attribution, 1e-6, 1e-5);
    }

    [Fact]
    public void Attribute_NeuronOfAnotherRank_ThrowsNamingNeuronSelector()
    {
        using var scope = torch.NewDisposeScope();
        var method = new NeuronIntegratedGradients(new SequentialMlp(seed: 3), "net.0", NeuronSelector.At(0, 0, 0));
        var ex = Assert.Throws<ArgumentException>(() => method.Attribute(torch.randn(2, 4)));
        Assert.Equal("neuronSelector", ex.ParamName);
    }
}
