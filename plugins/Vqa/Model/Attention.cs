using TorchSharp.Modules;

namespace Captum.Plugins.Vqa.Model;

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
