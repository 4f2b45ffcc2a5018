using TorchSharp.Modules;

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

/// <summary>
/// Attention over the image grid: 1x1 conv on v, linear on q tiled over the grid, ReLU of the sum,
/// 1x1 conv to the glimpses; returns [n, glimpses, h, w] attention logits.
/// </summary>
/// <remarks>Python: pytorch-vqa's <c>model.Attention</c>; parameters <c>v_conv.weight</c>, <c>q_lin.*</c>, <c>x_conv.*</c>.</remarks>
public sealed class Attention : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly Conv2d v_conv;
    private readonly Linear q_lin;
    private readonly Conv2d x_conv;
    private readonly Dropout drop;

    /// <summary>Creates the attention.</summary>
    public Attention(long vFeatures, long qFeatures, long midFeatures, long glimpses, double dropout = 0.5)
        : base(nameof(Attention))
    {
        v_conv = nn.Conv2d(vFeatures, midFeatures, 1, bias: false);
        q_lin = nn.Linear(qFeatures, midFeatures);
        x_conv = nn.Conv2d(midFeatures, glimpses, 1);
        drop = nn.Dropout(dropout);
        RegisterComponents();
    }

    /// <summary>Attention logits for image features <paramref name="v"/> [n, c, h, w] and question <paramref name="q"/> [n, f].</summary>
    public override Tensor forward(Tensor v, Tensor q)
    {
        var vMid = v_conv.call(drop.call(v));
        var qMid = q_lin.call(drop.call(q));
        var tiled = qMid.reshape(qMid.shape[0], qMid.shape[1], 1, 1).expand_as(vMid);
        return x_conv.call(drop.call(torch.nn.functional.relu(vMid + tiled)));
    }

    /// <summary>
    /// Softmax of each glimpse over the spatial positions, then per glimpse the weighted sum of the image
    /// features: [n, glimpses * c]. Python: <c>apply_attention</c>.
    /// </summary>
    public static Tensor ApplyAttention(Tensor input, Tensor attention)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(attention);
        var n = input.shape[0];
        var c = input.shape[1];
        var glimpses = attention.shape[1];
        var values = input.reshape(n, 1, c, -1);
        var weights = torch.softmax(attention.reshape(n, glimpses, -1), -1).unsqueeze(2);
        return (weights * values).sum(-1).reshape(n, -1);
    }
}

/// <summary>The answer classifier: dropout, linear, ReLU, dropout, linear.</summary>
/// <remarks>Python: pytorch-vqa's <c>model.Classifier</c> (a Sequential with drop1, lin1, relu, drop2, lin2).</remarks>
public sealed class Classifier : nn.Module<Tensor, Tensor>
{
    private readonly Dropout drop1;
    private readonly Linear lin1;
    private readonly Dropout drop2;
    private readonly Linear lin2;

    /// <summary>Creates the classifier.</summary>
    public Classifier(long inFeatures, long midFeatures, long outFeatures, double dropout = 0.5)
        : base(nameof(Classifier))
    {
        drop1 = nn.Dropout(dropout);
        lin1 = nn.Linear(inFeatures, midFeatures);
        drop2 = nn.Dropout(dropout);
        lin2 = nn.Linear(midFeatures, outFeatures);
        RegisterComponents();
    }

    /// <summary>Answer logits for the combined features.</summary>
    public override Tensor forward(Tensor x) => lin2.call(drop2.call(torch.nn.functional.relu(lin1.call(drop1.call(x)))));
}

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
