using Captum.Attr;
using Captum.Forward;
using Captum.Layers;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Layer;

public sealed class LayerIntegratedGradientsTests
{
    private static readonly long[,] Tokens = { { 3, 5, 7, 1 }, { 2, 2, 9, 11 } };

    [Fact]
    public void Attribute_EmbeddingFedTokenIds_SumsToOutputDifference()
    {
        using var scope = torch.NewDisposeScope();
        var model = new BagOfWords(seed: 1);
        var tokens = torch.tensor(Tokens);
        var reference = new TokenReferenceBase(0).GenerateReference(4).unsqueeze(0);

        using var result = new LayerIntegratedGradients(model, "embedding").Attribute(tokens, new LayerIntegratedGradientsOptions
        {
            Baselines = reference,
            Target = new[] { 0, 2 },
            Steps = 40,
            ReturnConvergenceDelta = true,
        });

        Assert.Equal(new long[] { 2, 4, 5 }, result.Attribution.shape);
        Assert.True(result.Delta!.abs().max().item<float>() < 1e-4);
    }

    [Fact]
    public void Attribute_LayerByInstance_EqualsLayerByPath()
    {
        using var scope = torch.NewDisposeScope();
        var model = new BagOfWords(seed: 2);
        var tokens = torch.tensor(Tokens);
        var options = new LayerIntegratedGradientsOptions { Target = 1, Steps = 12 };

        using var byPath = new LayerIntegratedGradients(model, "embedding").Attribute(tokens, options);
        using var byInstance = new LayerIntegratedGradients(model, model.EmbeddingLayer).Attribute(tokens, options);

        TensorAssert.AllClose(byInstance.Attribution, byPath.Attribution, 0, 0);
    }

    [Fact]
    public void Attribute_ToLayerInputOfFirstLayer_EqualsIntegratedGradients()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(3);
        var x = torch.randn(3, 4);
        var baseline = torch.randn(1, 4);

        using var layer = new LayerIntegratedGradients(model, model.Lin1).Attribute(x, new LayerIntegratedGradientsOptions
        {
            Baselines = baseline,
            Target = 2,
            AttributeToLayerInput = true,
            ReturnConvergenceDelta = true,
        });
        using var plain = new IntegratedGradients(model).Attribute(x, new IntegratedGradientsOptions { Baselines = baseline, Target = 2, ReturnConvergenceDelta = true });

        TensorAssert.AllClose(layer.Attribution, plain.Attribution, 1e-6, 1e-5);
        TensorAssert.AllClose(layer.Delta!, plain.Delta!, 1e-6, 1e-5);
    }

    [Fact]
    public void Attribute_InternalBatchSize_DoesNotChangeTheResult()
    {
        using var scope = torch.NewDisposeScope();
        var model = new BagOfWords(seed: 4);
        var tokens = torch.tensor(Tokens);
        var lig = new LayerIntegratedGradients(model, "embedding");

        using var whole = lig.Attribute(tokens, new LayerIntegratedGradientsOptions { Target = 0, Steps = 11 });
        using var chunked = lig.Attribute(tokens, new LayerIntegratedGradientsOptions { Target = 0, Steps = 11, InternalBatchSize = 5 });

        TensorAssert.AllClose(chunked.Attribution, whole.Attribution, 1e-6, 1e-5);
    }

    [Fact]
    public void Constructor_UnknownPath_ThrowsListingAvailablePaths()
    {
        using var scope = torch.NewDisposeScope();
        var ex = Assert.Throws<ArgumentException>(() => new LayerIntegratedGradients(new BagOfWords(seed: 1), "text.embedding"));
        Assert.Equal("layer", ex.ParamName);
        Assert.Contains("'text.embedding'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("embedding, fc", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_SameLayerTwice_ThrowsNamingLayers()
    {
        using var scope = torch.NewDisposeScope();
        var model = new BagOfWords(seed: 1);
        var ex = Assert.Throws<ArgumentException>(() => new LayerIntegratedGradients(model, new LayerReference[] { "embedding", model.EmbeddingLayer }));
        Assert.Equal("layers", ex.ParamName);
    }

    [Fact]
    public void Attribute_LayerCalledThroughForward_ThrowsNeverCalled()
    {
        using var scope = torch.NewDisposeScope();
        var lig = new LayerIntegratedGradients(new HiddenCallModel(), "lin");
        var ex = Assert.Throws<ArgumentException>(() => lig.Attribute(torch.randn(2, 3), new LayerIntegratedGradientsOptions { Target = 0 }));
        Assert.Equal("layer", ex.ParamName);
        Assert.Contains("never called", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Attribute_LayerCalledTwice_Throws()
    {
        using var scope = torch.NewDisposeScope();
        var lig = new LayerIntegratedGradients(new TwiceCalledModel(), "lin");
        var ex = Assert.Throws<ArgumentException>(() => lig.Attribute(torch.randn(2, 3), new LayerIntegratedGradientsOptions { Target = 0 }));
        Assert.Contains("called 2 times", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false, 4)]
    [InlineData(true, 6)]
    public void Attribute_EndPointPasses_RunTheRestOfTheModelOnlyForTheDelta(bool delta, int expectedLastLayerCalls)
    {
        using var scope = torch.NewDisposeScope();
        var model = new SequentialMlp(seed: 8);
        var last = model.named_modules().Single(m => m.name == "net.2").module;
        var calls = 0;
        var counter = ((nn.Module<Tensor, Tensor>)last).register_forward_hook((_, _, output) =>
        {
            calls++;
            return output;
        });
        var x = torch.randn(2, 4);

        // 6 steps of 2 examples in chunks of 6 rows: 2 full passes, 2 for the prefix path's check on two steps, plus
        // the 2 end-point passes when they must give outputs for the delta; without it they stop at the layer.
        using var result = new LayerIntegratedGradients(model, "net.0").Attribute(x, new LayerIntegratedGradientsOptions
        {
            Target = 1,
            Steps = 6,
            InternalBatchSize = 6,
            ReturnConvergenceDelta = delta,
        });

        counter.remove();
        Assert.Equal(expectedLastLayerCalls, calls);
        using var reference = new LayerIntegratedGradients(model, "net.0").Attribute(x, new LayerIntegratedGradientsOptions
        {
            Target = 1,
            Steps = 6,
            InternalBatchSize = 6,
            ReturnConvergenceDelta = !delta,
        });
        TensorAssert.AllClose(result.Attribution, reference.Attribution, 0, 0);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Attribute_LayerCalledTwiceOnOtherShapes_ThrowsCalledTwice(bool delta)
    {
        using var scope = torch.NewDisposeScope();
        var lig = new LayerIntegratedGradients(new SharedActivationModel(), "act");
        var ex = Assert.Throws<ArgumentException>(() => lig.Attribute(torch.randn(2, 3), new LayerIntegratedGradientsOptions { Target = 0, ReturnConvergenceDelta = delta }));
        Assert.Contains("called 2 times", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Attribute_ForwardFunctionWrapsExceptions_StillStopsEndPointPassesEarly()
    {
        using var scope = torch.NewDisposeScope();
        var model = new SequentialMlp(seed: 9);
        var forward = ForwardFunction.FromDelegate((Tensor[] args) =>
        {
            try
            {
                return model.call(args[0]);
            }
            catch (Exception ex)
            {
                throw new InvalidOperationException("the model failed", new AggregateException(ex));
            }
        }, model);
        var x = torch.randn(2, 4);

        using var wrapped = new LayerIntegratedGradients(forward, "net.0").Attribute(x, new LayerIntegratedGradientsOptions { Target = 1 });
        using var direct = new LayerIntegratedGradients(model, "net.0").Attribute(x, new LayerIntegratedGradientsOptions { Target = 1 });

        TensorAssert.AllClose(wrapped.Attribution, direct.Attribution, 0, 0);
    }

    [Fact]
    public void Attribute_ThrowsMidway_LeavesNoHooksBehind()
    {
        using var scope = torch.NewDisposeScope();
        var model = new BagOfWords(seed: 5);
        var tokens = torch.tensor(Tokens);
        Tensor before;
        using (torch.no_grad())
        {
            before = model.call(tokens);
        }

        var lig = new LayerIntegratedGradients(model, "embedding");
        Assert.Throws<ArgumentException>(() => lig.Attribute(tokens, new LayerIntegratedGradientsOptions { Target = 7 }));

        var observed = 0;
        using var probe = LayerHooks.Register(model.EmbeddingLayer, onInput: false, values =>
        {
            observed++;
            return null;
        });
        using (torch.no_grad())
        {
            TensorAssert.AllClose(model.call(tokens), before, 0, 0);
        }

        Assert.Equal(1, observed);
    }

    [Fact]
    public void Attribute_WrapperInputAndInnerLayer_ReturnsOneResultPerLayer()
    {
        using var scope = torch.NewDisposeScope();
        var model = new TwoInputModel(seed: 6);
        var wrapper = new ModelInputWrapper(model);
        var a = torch.randn(2, 2);
        var b = torch.randn(2, 3);
        var scale = torch.ones(2, 1);

        using var result = new LayerIntegratedGradients(wrapper, new LayerReference[] { "input_maps.a", "input_maps.b" }).Attribute(
            Inputs.Of(a, b),
            new LayerIntegratedGradientsOptions { Target = 1, AdditionalForwardArgs = [scale], ReturnConvergenceDelta = true });
        using var plain = new IntegratedGradients(model).Attribute(Inputs.Of(a, b), new IntegratedGradientsOptions { Target = 1, AdditionalForwardArgs = [scale] });

        Assert.Equal(2, result.Layers.Count);
        TensorAssert.AllClose(result[0], plain[0], 1e-6, 1e-5);
        TensorAssert.AllClose(result[1], plain[1], 1e-6, 1e-5);
        Assert.True(result.Delta!.abs().max().item<float>() < 1e-3);
    }

    [Fact]
    public void Attribute_BaselineTokensOfOtherLength_ThrowsNamingBaselines()
    {
        using var scope = torch.NewDisposeScope();
        var lig = new LayerIntegratedGradients(new BagOfWords(seed: 1), "embedding");
        var ex = Assert.Throws<ArgumentException>(() => lig.Attribute(torch.tensor(Tokens), new LayerIntegratedGradientsOptions { Target = 0, Baselines = torch.zeros(1, 3, ScalarType.Int64) }));
        Assert.Equal("baselines", ex.ParamName);
    }
}
