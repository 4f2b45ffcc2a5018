using Captum.Attr;
using Captum.Layers;
using TorchSharp;
using Xunit;
using static Captum.Tests.LrpTestModels;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Layer;

public sealed class LayerLRPTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Attribute_InputOfFirstLayer_EqualsLRP(bool changeWeights)
    {
        using var scope = torch.NewDisposeScope();
        var model = ReluNet(201, bias: true, hiddenLayers: 2);
        var x = TestModels.Normal(202, 4, 4);
        var rules = changeWeights ? new Dictionary<LayerReference, PropagationRule> { ["lin1"] = new GammaRule(), ["lin3"] = new Alpha1Beta0Rule() } : null;

        using var layer = new LayerLRP(model, "lin1", rules).Attribute(x, new LayerLRPOptions { Target = 1, AttributeToLayerInput = true, ReturnConvergenceDelta = true });
        using var plain = new LRP(model, rules).Attribute(x, new LRPOptions { Target = 1, ReturnConvergenceDelta = true });

        TensorAssert.AllClose(layer.Attribution, plain.Attribution, 0, 0);
        TensorAssert.AllClose(layer.Delta!, plain.Delta!, 0, 0);
    }

    /// <summary>
    /// The relevance of lin1's output is what the ReLU receives and passes on, which is what lin2's rule hands to its
    /// input: four names for one hand-computed quantity. lin2's output holds the explained output at the target.
    /// </summary>
    [Theory]
    [InlineData("lin1", false)]
    [InlineData("relu1", false)]
    [InlineData("relu1", true)]
    [InlineData("lin2", true)]
    [InlineData("lin2", false)]
    public void Attribute_AnyLayer_EqualsEpsilonRuleByHand(string layer, bool toInput)
    {
        using var scope = torch.NewDisposeScope();
        var model = ReluNet(211, bias: true);
        var x = TestModels.Normal(212, 3, 4);
        var lin2 = LayerPath.Resolve(model, "lin2");

        using var result = new LayerLRP(model, layer).Attribute(x, new LayerLRPOptions { Target = 2, AttributeToLayerInput = toInput, ReturnConvergenceDelta = true });

        var (a, y) = ReluForward(model, x);
        var expected = layer == "lin2" && !toInput ? OutputRelevance(y, 2) : LinearRule(a[1], W(lin2), B(lin2), OutputRelevance(y, 2));
        TensorAssert.AllClose(result.Attribution, expected, 1e-6, 1e-4);
        TensorAssert.AllClose(result.Delta!, y[TensorIndex.Colon, 2] - expected.sum(1), 1e-5, 1e-4);
    }

    [Fact]
    public void Attribute_ZeroBiasNet_EveryLayerHoldsTheWholeOutput()
    {
        using var scope = torch.NewDisposeScope();
        var model = ReluNet(221, bias: false, hiddenLayers: 3);
        var x = TestModels.Normal(222, 5, 4);
        using var noGrad = torch.no_grad();
        var output = model.call(x)[TensorIndex.Colon, 0];

        foreach (var (name, _) in model.named_children())
        {
            foreach (var toInput in new[] { false, true })
            {
                using var result = new LayerLRP(model, name).Attribute(x, new LayerLRPOptions { Target = 0, AttributeToLayerInput = toInput, ReturnConvergenceDelta = true });
                TensorAssert.AllClose(result.Attribution.sum(1), output, 1e-5, 1e-4, $"{name}, input: {toInput}");
                TensorAssert.AllClose(result.Delta!, torch.zeros(5), 1e-5, 0, $"{name}, input: {toInput}");
            }
        }
    }

    [Fact]
    public void NoiseTunnel_WrappingLayerLrpWithoutNoise_EqualsLayerLrp()
    {
        using var scope = torch.NewDisposeScope();
        var model = ReluNet(225, bias: true);
        var x = TestModels.Normal(226, 3, 4);
        var layerLrp = new LayerLRP(model, "relu1", new Dictionary<LayerReference, PropagationRule> { ["lin2"] = new Alpha1Beta0Rule() });
        var options = new LayerLRPOptions { Target = 2, ReturnConvergenceDelta = true };

        using var direct = layerLrp.Attribute(x, options);
        using var smooth = NoiseTunnel.Create(layerLrp).Attribute(x, new NoiseTunnelOptions<LayerLRPOptions> { Samples = 2, Stdevs = 0.0, MethodOptions = options });

        TensorAssert.AllClose(smooth.Attribution, direct.Attribution, 1e-6, 1e-5);
        TensorAssert.AllClose(smooth.Delta!, direct.Delta!.repeat_interleave(2), 1e-5, 1e-5);
    }

    [Fact]
    public void Attribute_EmbeddingWithRuleFedTokenIds_ConservesRelevance()
    {
        using var scope = torch.NewDisposeScope();
        var model = Seeded(nn.Sequential(("embedding", nn.Embedding(12, 5)), ("flatten", nn.Flatten()), ("fc", nn.Linear(20, 3, hasBias: false))), 231);
        var tokens = torch.tensor(new long[,] { { 3, 5, 7, 1 }, { 2, 2, 9, 11 } });

        // Captum has no default rule for Embedding; one is given, and the token ids are not attributed to.
        var layerLrp = new LayerLRP(model, "embedding", new Dictionary<LayerReference, PropagationRule> { ["embedding"] = new EpsilonRule() });
        using var result = layerLrp.Attribute(tokens, new LayerLRPOptions { Target = 1, ReturnConvergenceDelta = true });

        Assert.Equal(new long[] { 2, 4, 5 }, result.Attribution.shape);
        TensorAssert.AllClose(result.Delta!, torch.zeros(2), 1e-5, 0);
        var toIds = Assert.Throws<ArgumentException>(() => layerLrp.Attribute(tokens, new LayerLRPOptions { Target = 1, AttributeToLayerInput = true }));
        Assert.Contains("floating-point", toIds.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_LayerNotALeafOfTheModel_Throws()
    {
        using var scope = torch.NewDisposeScope();
        var model = Seeded(nn.Sequential(("block", nn.Sequential(("lin", nn.Linear(4, 4)), ("relu", nn.ReLU()))), ("out", nn.Linear(4, 2))), 241);

        Assert.Contains("'block' (Sequential) contains other modules", Assert.Throws<ArgumentException>(() => new LayerLRP(model, "block")).Message, StringComparison.Ordinal);
        Assert.Contains("not part of the model", Assert.Throws<ArgumentException>(() => new LayerLRP(model, nn.ReLU())).Message, StringComparison.Ordinal);
        Assert.Equal("layer", Assert.Throws<ArgumentException>(() => new LayerLRP(model, "nope")).ParamName);
        Assert.Same(LayerPath.Resolve(model, "block.relu"), new LayerLRP(model, "block.relu").Layer);
    }

    [Fact]
    public void Attribute_LayerNeverCalled_ThrowsAndRestoresTheModel()
    {
        using var scope = torch.NewDisposeScope();
        var model = new UnusedLayerModel(251);
        var before = GradientTestModels.Snapshot(model);
        var layerLrp = new LayerLRP(model, "unused", new Dictionary<LayerReference, PropagationRule> { ["lin1"] = new GammaRule(setBiasToZero: true) });

        var ex = Assert.Throws<ArgumentException>(() => layerLrp.Attribute(TestModels.Normal(252, 2, 4), new LayerLRPOptions { Target = 0 }));

        Assert.Contains("'unused' (Linear) was never called", ex.Message, StringComparison.Ordinal);
        foreach (var (name, value) in model.state_dict())
        {
            TensorAssert.AllClose(value, before[name], 0, 0, name);
        }

        Assert.Equal(0, GradientTestModels.HookCount(model));
    }

    [Fact]
    public void Attribute_LayerCalledTwice_Throws()
    {
        using var scope = torch.NewDisposeScope();
        var model = new ReusedReluModel(261);

        var ex = Assert.Throws<ArgumentException>(() => new LayerLRP(model, "relu").Attribute(TestModels.Normal(262, 2, 4), new LayerLRPOptions { Target = 0 }));

        Assert.Contains("'relu' (ReLU) is called more than once", ex.Message, StringComparison.Ordinal);
        Assert.Equal(0, GradientTestModels.HookCount(model));
    }
}
