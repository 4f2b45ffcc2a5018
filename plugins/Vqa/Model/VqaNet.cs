namespace Captum.Plugins.Vqa.Model;

/// <summary>
/// The "Show, Ask, Attend, and Answer" VQA net (Kazemi and Elqursh, 2017) as Captum's multimodal tutorial
/// uses it: forward(v, q, q_len) returns answer logits [n, Answers]. With an image network, v is an image
/// batch that the network turns into features first (the tutorial's <c>VQA_Resnet_Model</c>, whose image
/// network is registered as <c>resnet_layer4</c>); without one, v holds the features [n, VFeatures, h, w].
/// </summary>
/// <remarks>
/// Python: pytorch-vqa's <c>model.Net</c>. Parameter names match PyTorch's, so a state dict loads by name.
/// Children are called through <c>call</c>, so layer methods can hook <c>text.embedding</c> and the rest.
/// </remarks>
public sealed class VqaNet : nn.Module<Tensor, Tensor, Tensor, Tensor>
{
    private readonly TextProcessor text;
    private readonly Attention attention;
    private readonly Classifier classifier;
    private readonly nn.Module<Tensor, Tensor>? resnet_layer4;

    /// <summary>Creates the net with the given sizes and, optionally, an image network in front.</summary>
    public VqaNet(VqaConfig config, nn.Module<Tensor, Tensor>? imageNetwork = null)
        : base(nameof(VqaNet))
    {
        ArgumentNullException.ThrowIfNull(config);
        Config = config;
        text = new TextProcessor(config.Tokens, config.EmbeddingFeatures, config.LstmFeatures, config.Dropout);
        attention = new Attention(config.VFeatures, config.LstmFeatures, config.MidFeatures, config.Glimpses, config.Dropout);
        classifier = new Classifier((config.Glimpses * config.VFeatures) + config.LstmFeatures, config.ClassifierMidFeatures ?? config.MidFeatures, config.Answers, config.Dropout);
        resnet_layer4 = imageNetwork;
        RegisterComponents();
    }

    /// <summary>The sizes.</summary>
    public VqaConfig Config { get; }

    /// <summary>The question encoder.</summary>
    public TextProcessor Text => text;

    /// <summary>The image network, when there is one.</summary>
    public nn.Module<Tensor, Tensor>? ImageNetwork => resnet_layer4;

    /// <summary>Answer logits.</summary>
    /// <param name="v">Images [n, 3, H, W] (with an image network) or features [n, VFeatures, h, w].</param>
    /// <param name="q">Token ids, int64 [n, length], padded with 0.</param>
    /// <param name="q_len">The questions' lengths, [n].</param>
    public override Tensor forward(Tensor v, Tensor q, Tensor q_len)
    {
        var question = text.call(q, q_len);
        var features = resnet_layer4 is null ? v : resnet_layer4.call(v);
        features = features / (torch.linalg.vector_norm(features, 2, [1L], keepdim: true) + 1e-8);
        var a = attention.call(features, question);
        var attended = Attention.ApplyAttention(features, a);
        return classifier.call(torch.cat([attended, question], 1));
    }
}
