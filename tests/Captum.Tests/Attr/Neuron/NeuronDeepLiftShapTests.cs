using Captum.Attr;
using FsCheck.Xunit;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Neuron;

public sealed class NeuronDeepLiftShapTests
{
    /// <summary>Captum's definition: Neuron DeepLift against every reference, averaged over the references.</summary>
    [Property(MaxTest = 25)]
    public void Attribute_AnyDistribution_EqualsMeanOfNeuronDeepLiftPerReference(int seed, byte layerChoice, byte neuronChoice, bool multiplyByInputs)
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(seed, "relu");
        var x = TestModels.Normal(seed, 3, 4);
        var m = 2 + Math.Abs(seed % 4);
        var references = TestModels.Normal(seed + 1, m, 4);
        var layer = NeuronForwards.MlpLayers[layerChoice % NeuronForwards.MlpLayers.Length];
        var k = neuronChoice % 6;

        using var shap = new NeuronDeepLiftShap(model, layer, k, multiplyByInputs).Attribute(x, new NeuronDeepLiftShapOptions { Baselines = references });

        var deepLift = new NeuronDeepLift(model, layer, k, multiplyByInputs);
        var sum = torch.zeros_like(x);
        for (var j = 0; j < m; j++)
        {
            using var one = deepLift.Attribute(x, new NeuronDeepLiftOptions { Baselines = references[j].unsqueeze(0) });
            sum += one.Attribution;
        }

        TensorAssert.AllClose(shap.Attribution, sum / m, 1e-6, 1e-5);
    }

    [Fact]
    public void Attribute_ReluCnn_SumsToNeuronMinusItsMeanOverTheReferences()
    {
        using var scope = torch.NewDisposeScope();
        var model = new ReluCnn(91);
        var x = TestModels.Normal(92, 2, 2, 6, 6);
        var references = TestModels.Normal(93, 4, 2, 6, 6);

        using var result = new NeuronDeepLiftShap(model, "relu1", (0, 3, 2)).Attribute(x, new NeuronDeepLiftShapOptions { Baselines = references });

        using var noGrad = torch.no_grad();
        var neuron = NeuronForwards.Cnn(model, "relu1", (0, 3, 2));
        TensorAssert.AllClose(result.Attribution.sum([1, 2, 3]), neuron.Invoke([x]) - neuron.Invoke([references]).mean(), 1e-5, 1e-4);
    }

    [Fact]
    public void Attribute_SeveralInputs_PairsEveryInputWithTheSameReference()
    {
        using var scope = torch.NewDisposeScope();
        var model = new TwoInputModuleModel(94);
        var a = torch.randn(2, 2);
        var b = torch.randn(2, 3);
        var scale = torch.tensor(new float[,] { { 1 }, { 3 } });
        var referencesA = torch.randn(3, 2);
        var referencesB = torch.randn(3, 3);

        // lin's neuron 0 reads relu(la(a)) and tanh(lb(b)); the rules telescope per pair of example and reference.
        using var result = new NeuronDeepLiftShap(model, "lin", 0).Attribute(Inputs.Of(a, b), new NeuronDeepLiftShapOptions
        {
            Baselines = new BaselineValue[] { referencesA, referencesB },
            AdditionalForwardArgs = [scale],
        });

        using var noGrad = torch.no_grad();
        var neuron = (Tensor p, Tensor q) => model.Lin.call(model.Hidden(p, q))[.., 0];
        var expected = neuron(a, b) - neuron(referencesA, referencesB).mean();
        TensorAssert.AllClose(result[0].sum(1) + result[1].sum(1), expected, 1e-5, 1e-4);
    }

    [Fact]
    public void Attribute_SingleReference_ThrowsNamingBaselinesAndSuggestsNeuronDeepLift()
    {
        using var scope = torch.NewDisposeScope();
        var method = new NeuronDeepLiftShap(GradientTestModels.Mlp(95), "lin2", 0);

        var ex = Assert.Throws<ArgumentException>(() => method.Attribute(torch.randn(2, 4), new NeuronDeepLiftShapOptions { Baselines = torch.randn(1, 4) }));

        Assert.Equal("baselines", ex.ParamName);
        Assert.Contains("NeuronDeepLift)", ex.Message, StringComparison.Ordinal);
    }
}
