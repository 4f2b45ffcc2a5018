using Captum.Attr;
using Captum.Plugins.TextGeneration.Model;
using TorchSharp;
using Xunit;

namespace Captum.Tests.Plugins.TextGeneration;

/// <summary>What GPT-2's forward accepts: token ids, or token embeddings while an interpretable embedding layer takes them.</summary>
public sealed class Gpt2LMHeadModelTests
{
    private static Gpt2LMHeadModel RandomModel()
    {
        torch.manual_seed(5);
        var model = new Gpt2LMHeadModel(new Gpt2Config(20, 16, 8, 1, 2));
        model.eval();
        return model;
    }

    [Fact]
    public void Forward_EmbeddingsWithoutInterpretableLayer_ThrowsNamingInputIdsAndTheFix()
    {
        using var scope = torch.NewDisposeScope();
        var model = RandomModel();
        var embeddings = torch.randn(1, 4, 8);

        var ex = Assert.Throws<ArgumentException>(() => model.call(embeddings));

        Assert.Equal("inputIds", ex.ParamName);
        Assert.Contains("ConfigureInterpretableEmbeddingLayer", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Forward_EmbeddingsThroughInterpretableLayer_EqualTheLogitsOfTheirIds()
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var model = RandomModel();
        var ids = torch.tensor(new long[,] { { 3, 7, 1, 12 } });
        var expected = model.call(ids);

        var interpretable = InterpretableEmbeddings.ConfigureInterpretableEmbeddingLayer(model, "transformer.wte");
        try
        {
            Assert.True(InterpretableEmbeddings.IsConfigured(model.TokenEmbedding));
            TensorAssert.AllClose(model.call(interpretable.IndicesToEmbeddings(ids)), expected, 1e-6, 1e-6);
        }
        finally
        {
            InterpretableEmbeddings.RemoveInterpretableEmbeddingLayer(model, interpretable);
        }

        Assert.False(InterpretableEmbeddings.IsConfigured(model.TokenEmbedding));
    }
}
