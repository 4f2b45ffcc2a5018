namespace Captum.Plugins.Vqa.Model;

/// <summary>The sizes of the "Show, Ask, Attend, and Answer" VQA net.</summary>
/// <param name="Tokens">Question vocabulary size including the padding token 0.</param>
/// <param name="EmbeddingFeatures">Word embedding size (300 in the tutorial).</param>
/// <param name="LstmFeatures">LSTM state size, the question feature (1024).</param>
/// <param name="VFeatures">Image feature channels (2048 for ResNet-152's layer4).</param>
/// <param name="MidFeatures">Attention and classifier hidden size (512 and 1024 in the original; one value here, as in the checkpoints).</param>
/// <param name="Glimpses">Attention glimpses (2).</param>
/// <param name="Answers">Answer classes (3000).</param>
public sealed record VqaConfig(long Tokens, long EmbeddingFeatures, long LstmFeatures, long VFeatures, long MidFeatures, long Glimpses, long Answers)
{
    /// <summary>The tutorial's full-size net for a vocabulary of <paramref name="tokens"/> tokens.</summary>
    public static VqaConfig Tutorial(long tokens) => new(tokens, 300, 1024, 2048, 512, 2, 3000);

    /// <summary>Reads the sizes from a state dict of the net (keys without a "module." prefix).</summary>
    /// <exception cref="ArgumentException">A parameter the net needs is missing.</exception>
    public static VqaConfig FromStateDict(IReadOnlyDictionary<string, Tensor> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        Tensor Get(string name) => state.TryGetValue(name, out var t)
            ? t
            : throw new ArgumentException($"state dict lacks '{name}', which the VQA net needs (keys: {string.Join(", ", state.Keys.Take(12))}...).", nameof(state));
        var embedding = Get("text.embedding.weight");
        var lstm = Get("text.lstm.weight_hh_l0");
        var vConv = Get("attention.v_conv.weight");
        var xConv = Get("attention.x_conv.weight");
        var lin2 = Get("classifier.lin2.weight");
        return new VqaConfig(embedding.shape[0], embedding.shape[1], lstm.shape[1], vConv.shape[1], vConv.shape[0], xConv.shape[0], lin2.shape[0])
        {
            ClassifierMidFeatures = lin2.shape[1],
        };
    }

    /// <summary>The classifier's hidden size; <see cref="MidFeatures"/> unless given (1024 in the tutorial's net).</summary>
    public long? ClassifierMidFeatures { get; init; }

    /// <summary>The dropout probability of every dropout layer while training (0.5 in the original); no effect in eval mode.</summary>
    public double Dropout { get; init; } = 0.5;
}
