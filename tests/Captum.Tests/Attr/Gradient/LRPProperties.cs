using Captum.Attr;
using Captum.Layers;
using FsCheck.Xunit;
using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Gradient;

/// <summary>The laws of layer-wise relevance propagation, on random ReLU networks.</summary>
public sealed class LRPProperties
{
    /// <summary>
    /// Conservation: without biases every linear layer hands on all the relevance it receives (up to epsilon 1e-9),
    /// and a ReLU passes it through, so the input relevances of every example sum to its explained output.
    /// </summary>
    [Property(MaxTest = 30)]
    public void LRP_ZeroBiasReluNet_RelevanceSumsToTheOutput(int seed, byte shape)
    {
        using var scope = torch.NewDisposeScope();
        var inputs = 2 + (shape % 4);
        var hidden = 2 + (shape / 4 % 6);
        var hiddenLayers = 1 + (shape / 24 % 3);
        var model = LrpTestModels.ReluNet(seed, bias: false, inputs, hidden, outputs: 3, hiddenLayers);
        var x = TestModels.Normal(seed ^ 0x5eed, 4, inputs) * 2;
        var target = Math.Abs(seed % 3);

        using var result = new LRP(model).Attribute(x, new LRPOptions { Target = target, ReturnConvergenceDelta = true });

        using var noGrad = torch.no_grad();
        var output = model.call(x)[TensorIndex.Colon, target];
        TensorAssert.AllClose(result.Attribution.sum(1), output, 1e-5, 1e-4);
        TensorAssert.AllClose(result.Delta!, torch.zeros(4), 1e-5 + (1e-4 * output.abs().max().item<float>()), 0);
    }

    /// <summary>
    /// Conservation layer by layer: the relevance of the output of any hidden layer of a network without biases
    /// also sums to the explained output.
    /// </summary>
    [Property(MaxTest = 20)]
    public void LayerLRP_ZeroBiasReluNet_EveryHiddenLayerHoldsTheOutput(int seed, byte layerChoice)
    {
        using var scope = torch.NewDisposeScope();
        var model = LrpTestModels.ReluNet(seed, bias: false, hiddenLayers: 3);
        var x = TestModels.Normal(seed ^ 0x1a7e, 3, 4);
        var layer = $"{(layerChoice % 2 == 0 ? "lin" : "relu")}{1 + (layerChoice / 2 % 3)}";

        using var result = new LayerLRP(model, layer).Attribute(x, new LayerLRPOptions { Target = 1, ReturnConvergenceDelta = true });

        using var noGrad = torch.no_grad();
        var output = model.call(x)[TensorIndex.Colon, 1];
        TensorAssert.AllClose(result.Attribution.sum(1), output, 1e-5, 1e-4, layer);
    }

    /// <summary>
    /// The gamma rule with gamma 0 leaves the weights as they are: its two-pass propagation (record the activations,
    /// change the weights, propagate) must give what the one-pass epsilon rule gives.
    /// </summary>
    [Property(MaxTest = 20)]
    public void LRP_GammaZero_EqualsEpsilonRule(int seed)
    {
        using var scope = torch.NewDisposeScope();
        var model = LrpTestModels.ReluNet(seed, bias: true, hiddenLayers: 2);
        var x = TestModels.Normal(seed ^ 0x9a77a, 3, 4);
        var rules = new Dictionary<LayerReference, PropagationRule> { ["lin1"] = new GammaRule(0), ["lin2"] = new GammaRule(0), ["lin3"] = new GammaRule(0) };

        using var gamma = new LRP(model, rules).Attribute(x, new LRPOptions { Target = 0, ReturnConvergenceDelta = true });
        using var epsilon = new LRP(model).Attribute(x, new LRPOptions { Target = 0, ReturnConvergenceDelta = true });

        TensorAssert.AllClose(gamma.Attribution, epsilon.Attribution, 0, 0);
        TensorAssert.AllClose(gamma.Delta!, epsilon.Delta!, 0, 0);
    }
}
