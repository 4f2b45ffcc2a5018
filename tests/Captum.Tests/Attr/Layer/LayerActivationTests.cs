using Captum.Attr;
using Captum.Layers;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Layer;

public sealed class LayerActivationTests
{
    [Fact]
    public void Attribute_HiddenLayer_EqualsLayerOutput()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(1);
        var x = torch.randn(3, 4);

        using var result = new LayerActivation(model, model.Lin1).Attribute(x);

        using var noGrad = torch.no_grad();
        TensorAssert.AllClose(result.Attribution, model.Lin1.call(x), 0, 0);
        Assert.False(result.Attribution.requires_grad);
        Assert.Null(result.Delta);
    }

    [Fact]
    public void Attribute_SeveralLayersOfSequential_EachEqualsItsOutput()
    {
        using var scope = torch.NewDisposeScope();
        var model = new SequentialMlp(seed: 2);
        var x = torch.randn(2, 4);

        using var result = new LayerActivation(model, new LayerReference[] { "net.0", "net.1" }).Attribute(x);

        using var noGrad = torch.no_grad();
        var hidden = ((nn.Module<Tensor, Tensor>)LayerPath.Resolve(model, "net.0")).call(x);
        Assert.Equal(2, result.Layers.Count);
        TensorAssert.AllClose(result[0], hidden, 0, 0);
        TensorAssert.AllClose(result[1], torch.tanh(hidden), 1e-7, 0);
    }

    [Fact]
    public void Attribute_ToLayerInput_IsACopyOfTheInput()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(3);
        var x = torch.randn(2, 4);
        var original = x.clone();

        using var result = new LayerActivation(model, model.Lin1).Attribute(x, new LayerActivationOptions { AttributeToLayerInput = true });
        result.Attribution.add_(1);

        TensorAssert.AllClose(x, original, 0, 0);
        TensorAssert.AllClose(result.Attribution, original + 1, 0, 0);
    }

    [Fact]
    public void Attribute_TokenIdsToEmbedding_ReturnsEmbeddings()
    {
        using var scope = torch.NewDisposeScope();
        var model = new BagOfWords(seed: 4);
        var tokens = torch.tensor(new long[,] { { 1, 2, 3 }, { 4, 0, 5 } });

        using var result = new LayerActivation(model, "embedding").Attribute(tokens);

        using var noGrad = torch.no_grad();
        TensorAssert.AllClose(result.Attribution, model.EmbeddingLayer.call(tokens), 0, 0);
    }

    [Fact]
    public void Constructor_UnknownPath_ThrowsNamingLayer()
    {
        using var scope = torch.NewDisposeScope();
        var ex = Assert.Throws<ArgumentException>(() => new LayerActivation(new SequentialMlp(1), "net.7"));
        Assert.Equal("layer", ex.ParamName);
        Assert.Contains("'net.7'", ex.Message, StringComparison.Ordinal);
    }
}
