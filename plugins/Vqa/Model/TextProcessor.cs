using TorchSharp.Modules;

namespace Captum.Plugins.Vqa.Model;

/// <summary>
/// The question encoder: embedding (padding index 0), tanh, dropout, an LSTM over the packed question;
/// returns the LSTM's final cell state, [n, LstmFeatures].
/// </summary>
/// <remarks>Python: pytorch-vqa's <c>model.TextProcessor</c>; parameters <c>embedding.weight</c>, <c>lstm.*_l0</c>.</remarks>
public sealed class TextProcessor : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly Embedding embedding;
    private readonly Dropout drop;
    private readonly LSTM lstm;

    /// <summary>Creates the encoder.</summary>
    public TextProcessor(long embeddingTokens, long embeddingFeatures, long lstmFeatures, double dropout = 0.5)
        : base(nameof(TextProcessor))
    {
        embedding = nn.Embedding(embeddingTokens, embeddingFeatures, padding_idx: 0);
        drop = nn.Dropout(dropout);
        lstm = nn.LSTM(embeddingFeatures, lstmFeatures, numLayers: 1);
        RegisterComponents();
    }

    /// <summary>The word embedding, the layer the tutorial attributes the question to.</summary>
    public Embedding EmbeddingLayer => embedding;

    /// <summary>Encodes questions.</summary>
    /// <param name="q">Token ids, int64 [n, length], padded with 0.</param>
    /// <param name="q_len">The questions' lengths, [n] (any order; any device).</param>
    public override Tensor forward(Tensor q, Tensor q_len)
    {
        var tanhed = torch.tanh(drop.call(embedding.call(q)));

        // libtorch wants the lengths as a 1-D int64 tensor on the CPU, wherever the data lives.
        using var lengths = q_len.to(ScalarType.Int64, torch.CPU).reshape(-1);
        using var packed = torch.nn.utils.rnn.pack_padded_sequence(tanhed, lengths, batch_first: true, enforce_sorted: false);
        var (output, _, c) = lstm.call(packed);
        output.Dispose();
        return c.squeeze(0);
    }
}
