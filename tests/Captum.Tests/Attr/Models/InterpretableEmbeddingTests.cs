using Captum.Attr;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Models;

public sealed class InterpretableEmbeddingTests
{
    private static readonly long[,] Tokens = { { 3, 5, 7, 1 }, { 2, 2, 9, 11 } };

    [Fact]
    public void Configure_ThenEmbeddingsIn_GivesTheSameOutputAsTokenIds()
    {
        using var scope = torch.NewDisposeScope();
        var model = new BagOfWords(seed: 1);
        var tokens = torch.tensor(Tokens);
        using var noGrad = torch.no_grad();
        var before = model.call(tokens);

        var interpretable = InterpretableEmbeddings.ConfigureInterpretableEmbeddingLayer(model, "embedding");
        try
        {
            var embeddings = interpretable.IndicesToEmbeddings(tokens);
            Assert.Equal(new long[] { 2, 4, 5 }, embeddings.shape);
            TensorAssert.AllClose(model.call(embeddings), before, 0, 0);
            TensorAssert.AllClose(model.call(tokens), before, 0, 0);
        }
        finally
        {
            InterpretableEmbeddings.RemoveInterpretableEmbeddingLayer(model, interpretable);
        }

        TensorAssert.AllClose(model.call(tokens), before, 0, 0);
        Assert.False(interpretable.IsConfigured);
    }

    [Fact]
    public void Configure_Twice_ThrowsNamingTheLayer()
    {
        using var scope = torch.NewDisposeScope();
        var model = new BagOfWords(seed: 1);
        var interpretable = InterpretableEmbeddings.ConfigureInterpretableEmbeddingLayer(model, "embedding");
        try
        {
            var ex = Assert.Throws<ArgumentException>(() => InterpretableEmbeddings.ConfigureInterpretableEmbeddingLayer(model, "embedding"));
            Assert.Equal("embeddingLayerName", ex.ParamName);
            Assert.Contains("already configured", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            InterpretableEmbeddings.RemoveInterpretableEmbeddingLayer(model, interpretable);
        }
    }

    [Fact]
    public void Remove_Twice_Throws()
    {
        using var scope = torch.NewDisposeScope();
        var model = new BagOfWords(seed: 1);
        var interpretable = InterpretableEmbeddings.ConfigureInterpretableEmbeddingLayer(model, "embedding");
        InterpretableEmbeddings.RemoveInterpretableEmbeddingLayer(model, interpretable);

        var ex = Assert.Throws<ArgumentException>(() => InterpretableEmbeddings.RemoveInterpretableEmbeddingLayer(model, interpretable));
        Assert.Equal("interpretableEmb", ex.ParamName);
    }

    [Fact]
    public void Configure_AfterRemove_Works()
    {
        using var scope = torch.NewDisposeScope();
        var model = new BagOfWords(seed: 1);
        var first = InterpretableEmbeddings.ConfigureInterpretableEmbeddingLayer(model, "embedding");
        InterpretableEmbeddings.RemoveInterpretableEmbeddingLayer(model, first);
        var second = InterpretableEmbeddings.ConfigureInterpretableEmbeddingLayer(model, "embedding");
        InterpretableEmbeddings.RemoveInterpretableEmbeddingLayer(model, second);
    }

    [Fact]
    public void Configure_UnknownPath_ThrowsNamingTheArgument()
    {
        using var scope = torch.NewDisposeScope();
        var ex = Assert.Throws<ArgumentException>(() => InterpretableEmbeddings.ConfigureInterpretableEmbeddingLayer(new BagOfWords(seed: 1), "text.embedding"));
        Assert.Equal("embeddingLayerName", ex.ParamName);
    }

    [Fact]
    public void IntegratedGradientsOnEmbeddings_EqualsLayerIntegratedGradientsOnTheLayer()
    {
        using var scope = torch.NewDisposeScope();
        var model = new BagOfWords(seed: 3);
        var tokens = torch.tensor(Tokens);
        var reference = new TokenReferenceBase(0).GenerateReference(4).unsqueeze(0).expand(2, 4);

        using var viaLayer = new LayerIntegratedGradients(model, "embedding").Attribute(tokens, new LayerIntegratedGradientsOptions { Baselines = reference, Target = 1, Steps = 16 });

        var interpretable = InterpretableEmbeddings.ConfigureInterpretableEmbeddingLayer(model, "embedding");
        try
        {
            var embeddings = interpretable.IndicesToEmbeddings(tokens);
            var baseline = interpretable.IndicesToEmbeddings(reference);
            using var viaEmbeddings = new IntegratedGradients(model).Attribute(embeddings, new IntegratedGradientsOptions { Baselines = baseline, Target = 1, Steps = 16 });
            TensorAssert.AllClose(viaEmbeddings.Attribution, viaLayer.Attribution, 1e-6, 1e-5);
        }
        finally
        {
            InterpretableEmbeddings.RemoveInterpretableEmbeddingLayer(model, interpretable);
        }
    }
}
