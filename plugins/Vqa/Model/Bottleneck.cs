using TorchSharp.Modules;

namespace Captum.Plugins.Vqa.Model;

/// <summary>A bottleneck block: 1x1, 3x3, 1x1 convolutions with batch norm, and a shortcut.</summary>
/// <remarks>Python: torchvision's <c>Bottleneck</c>; parameter names conv1..3, bn1..3, downsample.0/1.</remarks>
public sealed class Bottleneck : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly Conv2d conv2;
    private readonly BatchNorm2d bn2;
    private readonly Conv2d conv3;
    private readonly BatchNorm2d bn3;
    private readonly Sequential? downsample;

    /// <summary>Creates the block.</summary>
    public Bottleneck(long inplanes, long planes, long stride, ResNetVariant variant)
        : base(nameof(Bottleneck))
    {
        var (stride1, stride3) = variant == ResNetVariant.Caffe ? (stride, 1L) : (1L, stride);
        conv1 = nn.Conv2d(inplanes, planes, 1, stride: stride1, bias: false);
        bn1 = nn.BatchNorm2d(planes);
        conv2 = nn.Conv2d(planes, planes, 3, stride: stride3, padding: 1, bias: false);
        bn2 = nn.BatchNorm2d(planes);
        conv3 = nn.Conv2d(planes, planes * 4, 1, bias: false);
        bn3 = nn.BatchNorm2d(planes * 4);
        if (stride != 1 || inplanes != planes * 4)
        {
            downsample = nn.Sequential(
                ("0", nn.Conv2d(inplanes, planes * 4, 1, stride: stride, bias: false)),
                ("1", nn.BatchNorm2d(planes * 4)));
        }

        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        var relu = torch.nn.functional.relu;
        var y = relu(bn1.call(conv1.call(x)));
        y = relu(bn2.call(conv2.call(y)));
        y = bn3.call(conv3.call(y));
        var shortcut = downsample is null ? x : downsample.call(x);
        return relu(y + shortcut);
    }
}
