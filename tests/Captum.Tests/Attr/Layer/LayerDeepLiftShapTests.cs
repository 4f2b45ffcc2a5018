using Captum.Attr;
using FsCheck.Xunit;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Layer;

public sealed class LayerDeepLiftShapTests
{
    private static readonly (string Layer, bool ToInput)[] Sides = [("lin1", false), ("act1", false), ("act1", true), ("lin2", false), ("act2", true)];

    /// <summary>Captum's definition: Layer DeepLift against every reference, averaged over the references.</summary>
    [Property(MaxTest = 25)]
    public void Attribute_AnyDistribution_EqualsMeanOfLayerDeepLiftPerReference(int seed, byte sideChoice, bool multiplyByInputs)
    {
        using var scope = torch.NewDisposeScope();
        var (layer, toInput) = Sides[sideChoice % Sides.Length];
        var model = GradientTestModels.Mlp(seed, "relu");
        var x = TestModels.Normal(seed, 3, 4);
        var m = 2 + Math.Abs(seed % 4);
        var references = TestModels.Normal(seed + 1, m, 4);
        var target = new[] { 0, 2, 1 };

        using var shap = new LayerDeepLiftShap(model, layer, multiplyByInputs).Attribute(x, new LayerDeepLiftShapOptions
        {
            Baselines = references,
            Target = target,
            AttributeToLayerInput = toInput,
        });

        var layerDeepLift = new LayerDeepLift(model, layer, multiplyByInputs);
        Tensor? sum = null;
        for (var j = 0; j < m; j++)
        {
            using var one = layerDeepLift.Attribute(x, new LayerDeepLiftOptions { Baselines = references[j].unsqueeze(0), Target = target, AttributeToLayerInput = toInput });
            sum = sum is null ? one.Attribution.clone() : sum + one.Attribution;
        }

        TensorAssert.AllClose(shap.Attribution, sum! / m, 1e-6, 1e-5);
    }

    /// <summary>
    /// The delta law, on any model: the mean over the references of an example's deltas is its summed attribution minus
    /// (F(x) - mean F(reference)); with module ReLUs the rescale rule makes every delta float rounding.
    /// </summary>
    [Property(MaxTest = 20)]
    public void Attribute_ReluCnn_DeltasAreRoundingAndSumToOutputMinusMeanReferenceOutput(int seed)
    {
        using var scope = torch.NewDisposeScope();
        var model = new ReluCnn(seed);
        var x = TestModels.Normal(seed, 2, 2, 6, 6);
        var references = TestModels.Normal(seed + 1, 3, 2, 6, 6);

        using var result = new LayerDeepLiftShap(model, "relu1").Attribute(x, new LayerDeepLiftShapOptions
        {
            Baselines = references,
            Target = 1,
            ReturnConvergenceDelta = true,
        });

        using var noGrad = torch.no_grad();
        var summed = result.Attribution.sum([1, 2, 3]);
        var expected = model.call(x)[.., 1] - model.call(references)[.., 1].mean();
        Assert.Equal(new long[] { 2, 3, 6, 6 }, result.Attribution.shape);
        Assert.Equal(new long[] { 6 }, result.Delta!.shape);
        TensorAssert.AllClose(result.Delta!.reshape(2, 3).mean([1]), summed - expected, 1e-5, 1e-4);
        Assert.True(result.Delta!.abs().max().item<float>() < 1e-4, $"|delta| {result.Delta!.abs().max().item<float>()}");
    }

    [Fact]
    public void Attribute_EmbeddingOfTokenIds_SumsToOutputMinusMeanReferenceOutput()
    {
        using var scope = torch.NewDisposeScope();
        var model = new TokenTanhModel(31);
        var tokens = torch.tensor(new long[,] { { 3, 5, 7, 1 }, { 2, 2, 9, 11 } });
        var references = torch.tensor(new long[,] { { 0, 0, 0, 0 }, { 4, 0, 6, 0 }, { 1, 1, 1, 1 } });

        using var result = new LayerDeepLiftShap(model, "embedding").Attribute(tokens, new LayerDeepLiftShapOptions
        {
            Baselines = references,
            Target = 2,
            ReturnConvergenceDelta = true,
        });

        using var noGrad = torch.no_grad();
        var expected = model.call(tokens)[.., 2] - model.call(references)[.., 2].mean();
        Assert.Equal(new long[] { 2, 4, 5 }, result.Attribution.shape);
        TensorAssert.AllClose(result.Attribution.sum([1, 2]), expected, 1e-5, 1e-4);
        TensorAssert.AllClose(result.Delta!, torch.zeros(6), 1e-5, 0);
    }

    [Fact]
    public void Attribute_MultiplyByInputsFalse_ReturnsTheLayerMultipliersWhateverTheReferences()
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(32, "relu");

        using var result = new LayerDeepLiftShap(model, "act2", multiplyByInputs: false).Attribute(torch.randn(2, 4), new LayerDeepLiftShapOptions
        {
            Baselines = torch.randn(4, 4),
            Target = 1,
        });

        // Above act2 the model is linear: every pair's multipliers are lin3's weight row.
        TensorAssert.AllClose(result.Attribution, model.Lin3.weight![1].expand(2, 6), 1e-6, 1e-5);
    }

    [Fact]
    public void Attribute_CustomFunction_IsAppliedPerPairBeforeTheMean()
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(33, "tanh");
        var x = torch.randn(2, 4);
        var references = torch.randn(3, 4);
        var pairs = 0L;
        CustomAttributionFunc squared = (multipliers, inputs, baselines) =>
        {
            pairs = inputs[0].shape[0];
            return [multipliers[0] * (inputs[0] - baselines[0]).square()];
        };

        using var custom = new LayerDeepLiftShap(model, "lin2").Attribute(x, new LayerDeepLiftShapOptions { Baselines = references, Target = 0, CustomAttributionFunc = squared });

        // Per reference: Layer DeepLift's multipliers times the squared difference of lin2's values.
        var layerDeepLift = new LayerDeepLift(model, "lin2", multiplyByInputs: false);
        var sum = torch.zeros(2, 6);
        for (var j = 0; j < 3; j++)
        {
            using var m = layerDeepLift.Attribute(x, new LayerDeepLiftOptions { Baselines = references[j].unsqueeze(0), Target = 0 });
            using var noGrad = torch.no_grad();
            var difference = model.Lin2.call(model.Act1.call(model.Lin1.call(x))) - model.Lin2.call(model.Act1.call(model.Lin1.call(references[j].unsqueeze(0))));
            sum += m.Attribution * difference.square();
        }

        Assert.Equal(6, pairs);
        TensorAssert.AllClose(custom.Attribution, sum / 3, 1e-6, 1e-5);
    }

    [Fact]
    public void NoiseTunnel_WithoutNoise_EqualsLayerDeepLiftShap()
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(37, "relu");
        var x = TestModels.Normal(38, 2, 4);
        var options = new LayerDeepLiftShapOptions { Baselines = TestModels.Normal(39, 4, 4), Target = 1 };
        var method = new LayerDeepLiftShap(model, "act1");

        using var smoothed = NoiseTunnel.Create(method).Attribute(x, new NoiseTunnelOptions<LayerDeepLiftShapOptions> { Samples = 3, Stdevs = 0.0, MethodOptions = options });
        using var plain = method.Attribute(x, options);

        TensorAssert.AllClose(smoothed.Attribution, plain.Attribution, 1e-7, 1e-6);
    }

    [Fact]
    public void Attribute_SingleReference_ThrowsNamingBaselinesAndSuggestsLayerDeepLift()
    {
        using var scope = torch.NewDisposeScope();
        var method = new LayerDeepLiftShap(GradientTestModels.Mlp(34), "lin2");

        var ex = Assert.Throws<ArgumentException>(() => method.Attribute(torch.randn(2, 4), new LayerDeepLiftShapOptions { Baselines = torch.randn(1, 4), Target = 0 }));

        Assert.Equal("baselines", ex.ParamName);
        Assert.Contains("LayerDeepLift)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Attribute_NoBaselines_ThrowsNamingBaselines()
    {
        using var scope = torch.NewDisposeScope();
        var method = new LayerDeepLiftShap(GradientTestModels.Mlp(35), "lin2");
        Assert.Equal("baselines", Assert.Throws<ArgumentException>(() => method.Attribute(torch.randn(2, 4), new LayerDeepLiftShapOptions { Target = 0 })).ParamName);
    }

    [Fact]
    public void Attribute_InvalidTargetOrLayerFailure_LeavesModelAndInputsAsTheyWere()
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(36, "relu", inPlace: true);
        var x = torch.randn(2, 4).requires_grad_(true);
        var copy = x.detach().clone();
        using var noGrad = torch.no_grad();
        var before = model.call(x);

        Assert.Equal("target", Assert.Throws<ArgumentException>(() => new LayerDeepLiftShap(model, "lin2").Attribute(x, new LayerDeepLiftShapOptions { Baselines = torch.randn(3, 4), Target = 9 })).ParamName);
        Assert.Equal("layer", Assert.Throws<ArgumentException>(() => new LayerDeepLiftShap(model, "act1").Attribute(x, new LayerDeepLiftShapOptions { Baselines = torch.randn(3, 4), Target = 0, AttributeToLayerInput = true })).ParamName);

        Assert.Equal(0, GradientTestModels.HookCount(model));
        TensorAssert.AllClose(model.call(x), before, 0, 0);
        TensorAssert.AllClose(x.detach(), copy, 0, 0);
        Assert.True(x.requires_grad);
        Assert.Null(x.grad);
    }
}
