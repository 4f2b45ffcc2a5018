using TorchSharp.Modules;

namespace Captum.Plugins.Vqa.Model;

/// <summary>
/// A bottleneck ResNet up to layer4 (no pooling or classifier): images [n, 3, H, W] to features
/// [n, 32 * BaseWidth, H/32, W/32] (2048 channels for ResNet-152). The network the tutorial reads its image
/// features from.
/// </summary>
/// <remarks>Parameter and buffer names are torchvision's (<c>conv1</c>, <c>bn1</c>, <c>layer1.0.conv1</c>, ...).</remarks>
public sealed class ResNetLayer4 : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly MaxPool2d maxpool;
    private readonly Sequential layer1;
    private readonly Sequential layer2;
    private readonly Sequential layer3;
    private readonly Sequential layer4;

    /// <summary>Creates the network.</summary>
    public ResNetLayer4(ResNetConfig config)
        : base(nameof(ResNetLayer4))
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.Blocks.Length != 4 || config.Blocks.Any(b => b < 1))
        {
            throw new ArgumentException("config.Blocks must give at least one block for each of the four stages.", nameof(config));
        }

        Config = config;
        var width = config.BaseWidth;
        conv1 = nn.Conv2d(3, width, 7, stride: 2, padding: 3, bias: false);
        bn1 = nn.BatchNorm2d(width);
        maxpool = config.Variant == ResNetVariant.Caffe
            ? nn.MaxPool2d(3, stride: 2, padding: 0, ceil_mode: true)
            : nn.MaxPool2d(3, stride: 2, padding: 1);
        var inplanes = width;
        Sequential Stage(int index, long planes, long stride)
        {
            var blocks = new List<(string, nn.Module<Tensor, Tensor>)>();
            for (var b = 0; b < config.Blocks[index]; b++)
            {
                blocks.Add((b.ToString(System.Globalization.CultureInfo.InvariantCulture), new Bottleneck(inplanes, planes, b == 0 ? stride : 1, config.Variant)));
                inplanes = planes * 4;
            }

            return nn.Sequential(blocks);
        }

        layer1 = Stage(0, width, 1);
        layer2 = Stage(1, width * 2, 2);
        layer3 = Stage(2, width * 4, 2);
        layer4 = Stage(3, width * 8, 2);
        RegisterComponents();
    }

    /// <summary>The shape of the network.</summary>
    public ResNetConfig Config { get; }

    /// <summary>The number of output channels (32 times the base width).</summary>
    public long OutputChannels => Config.BaseWidth * 32;

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        var y = maxpool.call(torch.nn.functional.relu(bn1.call(conv1.call(x))));
        return layer4.call(layer3.call(layer2.call(layer1.call(y))));
    }
}
