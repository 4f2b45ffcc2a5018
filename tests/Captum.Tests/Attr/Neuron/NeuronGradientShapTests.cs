using Captum.Attr;
using FsCheck.Xunit;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Neuron;

public sealed class NeuronGradientShapTests
{
    /// <summary>Captum's definition: GradientShap with the neuron in place of the output, drawing exactly as GradientShap draws.</summary>
    [Property(MaxTest = 25)]
    public void Attribute_SameSeed_EqualsGradientShapOfAFunctionReturningTheNeuron(int seed, byte layerChoice, byte neuronChoice, bool multiplyByInputs)
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(seed, "tanh");
        var x = TestModels.Normal(seed, 3, 4);
        var references = TestModels.Normal(seed + 1, 7, 4);
        var layer = NeuronForwards.MlpLayers[layerChoice % NeuronForwards.MlpLayers.Length];
        var k = neuronChoice % 6;

        using var result = new NeuronGradientShap(model, layer, k, multiplyByInputs).Attribute(x, new NeuronGradientShapOptions
        {
            Baselines = references,
            Samples = 4,
            Stdevs = 0.3,
            Seed = seed,
        });

        using var expected = new GradientShap(NeuronForwards.Mlp(model, layer, k), multiplyByInputs).Attribute(x, new GradientShapOptions
        {
            Baselines = references,
            Samples = 4,
            Stdevs = 0.3,
            Seed = seed,
        });
        TensorAssert.AllClose(result.Attribution, expected.Attribution, 0, 0);
    }

    [Fact]
    public void Attribute_LinearNeuronAndOneReference_IsItsWeightTimesTheDifference()
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(61, "relu");
        var x = TestModels.Normal(62, 3, 4);
        var reference = TestModels.Normal(63, 1, 4);

        // Without noise every sample draws the only reference, and lin1's neuron has the same gradient everywhere.
        using var result = new NeuronGradientShap(model, "lin1", 4).Attribute(x, new NeuronGradientShapOptions { Baselines = reference, Samples = 6 });

        TensorAssert.AllClose(result.Attribution, model.Lin1.weight![4] * (x - reference), 1e-6, 1e-5);
    }

    [Fact]
    public void Attribute_NeuronInTheLayerInput_IsTheNeuronOfThePreviousLayer()
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(64, "sigmoid");
        var x = TestModels.Normal(65, 2, 4);
        var references = TestModels.Normal(66, 5, 4);
        var options = new NeuronGradientShapOptions { Baselines = references, Samples = 3, Stdevs = 0.1, Seed = 9 };

        using var onInput = new NeuronGradientShap(model, "act2", 1).Attribute(x, options with { AttributeToNeuronInput = true });
        using var onOutput = new NeuronGradientShap(model, "lin2", 1).Attribute(x, options);

        TensorAssert.AllClose(onInput.Attribution, onOutput.Attribution, 0, 0);
    }

    [Fact]
    public void Attribute_Progress_ReportsTheSamplesOnce()
    {
        using var scope = torch.NewDisposeScope();
        var reports = new List<AttributionProgress>();

        using var result = new NeuronGradientShap(GradientTestModels.Mlp(67), "lin2", 0).Attribute(torch.randn(2, 4), new NeuronGradientShapOptions
        {
            Baselines = torch.randn(3, 4),
            Samples = 4,
            Seed = 1,
            Progress = new SynchronousProgress<AttributionProgress>(reports.Add),
        });

        Assert.Equal(new AttributionProgress[] { new(4, 4) }, reports);
    }

    [Fact]
    public void Attribute_BadArguments_ThrowNamingThem()
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(68);
        var method = new NeuronGradientShap(model, "lin2", 0);
        var x = torch.randn(2, 4);
        using var generator = new Generator(1, torch.CPU);

        Assert.Equal("baselines", Assert.Throws<ArgumentException>(() => method.Attribute(x)).ParamName);
        Assert.Equal("Samples", Assert.Throws<ArgumentOutOfRangeException>(() => method.Attribute(x, new NeuronGradientShapOptions { Baselines = torch.randn(3, 4), Samples = 0 })).ParamName);
        Assert.Equal("Seed", Assert.Throws<ArgumentException>(() => method.Attribute(x, new NeuronGradientShapOptions { Baselines = torch.randn(3, 4), Seed = 1, Generator = generator })).ParamName);
        Assert.Equal("neuronSelector", Assert.Throws<ArgumentException>(() => new NeuronGradientShap(model, "lin2", 6).Attribute(x, new NeuronGradientShapOptions { Baselines = torch.randn(3, 4) })).ParamName);
        Assert.Contains("NeuronGradientShap", Assert.Throws<ArgumentException>(() => method.Attribute(x, new NeuronGradientShapOptions { Baselines = torch.randn(3, 5) })).Message, StringComparison.Ordinal);
        Assert.Equal(0, GradientTestModels.HookCount(model));
    }
}
