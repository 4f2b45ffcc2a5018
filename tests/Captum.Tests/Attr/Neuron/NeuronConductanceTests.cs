using Captum.Attr;
using FsCheck.Xunit;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Neuron;

public sealed class NeuronConductanceTests
{
    [Fact]
    public void Attribute_LinearNetwork_IsHeadWeightTimesNeuronWeightsTimesInputChange()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearStack(seed: 1);
        var x = torch.randn(3, 4);
        var baseline = torch.randn(3, 4);

        using var result = new NeuronConductance(model, model.Lin1, 2).Attribute(x, new NeuronConductanceOptions
        {
            Baselines = baseline,
            Target = 1,
            Steps = 4,
            Method = IntegrationMethod.GaussLegendre,
        });

        var expected = model.Lin2.weight![1, 2] * model.Lin1.weight![2] * (x - baseline);
        TensorAssert.AllClose(result.Attribution, expected, 1e-5, 1e-4);
    }

    [Fact]
    public void Attribute_AllNeuronsOfALayer_SumToTheOutputDifference()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(2);
        var x = torch.randn(2, 4);
        var baseline = torch.randn(2, 4);
        var options = new NeuronConductanceOptions { Baselines = baseline, Target = 0, Method = IntegrationMethod.GaussLegendre };

        // Every path from the inputs to the output runs through exactly one neuron of lin1.
        var total = torch.zeros(2);
        for (var neuron = 0; neuron < 8; neuron++)
        {
            using var result = new NeuronConductance(model, model.Lin1, neuron).Attribute(x, options);
            total += result.Attribution.sum(1);
        }

        using var noGrad = torch.no_grad();
        TensorAssert.AllClose(total, model.call(x)[TensorIndex.Colon, 0] - model.call(baseline)[TensorIndex.Colon, 0], 1e-4, 1e-3);
    }

    [Fact]
    public void Attribute_SummedOverInputs_ApproachesLayerConductanceOfTheNeuron()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(3);
        var x = torch.randn(2, 4);

        using var neuron = new NeuronConductance(model, model.Lin1, 5).Attribute(x, new NeuronConductanceOptions { Target = 2, Steps = 300 });
        using var layer = new LayerConductance(model, model.Lin1).Attribute(x, new LayerConductanceOptions { Target = 2, Steps = 300, Method = IntegrationMethod.RiemannTrapezoid });

        TensorAssert.AllClose(neuron.Attribution.sum(1), layer.Attribution[TensorIndex.Colon, 5], 1e-3, 1e-2);
    }

    [Fact]
    public void Options_Default_IsCaptumsTrapezoidWithFiftySteps()
    {
        var options = new NeuronConductanceOptions();
        Assert.Equal(IntegrationMethod.RiemannTrapezoid, options.Method);
        Assert.Equal(50, options.Steps);
        Assert.Null(options.InternalBatchSize);
    }

    [Property(MaxTest = 20)]
    public void Attribute_IndexAndSelectorFunctionAndBatching_Agree(int seed, byte neuronChoice, byte batchChoice)
    {
        using var scope = torch.NewDisposeScope();
        var model = new SequentialMlp(seed);
        var x = torch.randn(2, 4);
        var neuron = neuronChoice % 6;
        var options = new NeuronConductanceOptions { Target = 1, Steps = 9 };

        using var byIndex = new NeuronConductance(model, "net.1", neuron).Attribute(x, options);
        using var byFunction = new NeuronConductance(model, "net.1", NeuronSelector.FromFunction(h => h[TensorIndex.Colon, neuron]))
            .Attribute(x, options with { InternalBatchSize = 1 + (batchChoice % 25) });

        TensorAssert.AllClose(byFunction.Attribution, byIndex.Attribution, 1e-6, 1e-5);
    }
}
