using TorchSharp.Modules;

namespace Captum.Plugins.Vqa.Model;

/// <summary>Where a bottleneck ResNet puts its strides.</summary>
public enum ResNetVariant
{
    /// <summary>
    /// The original Caffe ResNet, which the tutorial's image features come from: a block's stride sits on its
    /// first 1x1 convolution, and the stem's max pool has padding 0 with ceil mode.
    /// </summary>
    Caffe,

    /// <summary>torchvision's ResNet: the stride sits on the 3x3 convolution; max pool padding 1.</summary>
    Torchvision,
}

/// <summary>The shape of a bottleneck ResNet: blocks per stage, stem width, and variant.</summary>
/// <param name="Blocks">Bottleneck blocks in layer1..layer4 ([3, 8, 36, 3] for ResNet-152).</param>
/// <param name="BaseWidth">The stem's output channels (64 for the ImageNet nets).</param>
/// <param name="Variant">Where the strides sit.</param>
public sealed record ResNetConfig(int[] Blocks, long BaseWidth, ResNetVariant Variant)
{
    /// <summary>ResNet-152 of the given variant.</summary>
    public static ResNetConfig ResNet152(ResNetVariant variant) => new([3, 8, 36, 3], 64, variant);

    /// <summary>Reads depth and width from a torchvision-named state dict (keys like <c>layer3.17.conv2.weight</c>).</summary>
    /// <exception cref="ArgumentException">The state dict is not a bottleneck ResNet's.</exception>
    public static ResNetConfig FromStateDict(IReadOnlyDictionary<string, Tensor> state, ResNetVariant variant)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (!state.TryGetValue("conv1.weight", out var stem))
        {
            throw new ArgumentException("state dict lacks 'conv1.weight': it is not a torchvision-named ResNet.", nameof(state));
        }

        var blocks = new int[4];
        for (var stage = 0; stage < 4; stage++)
        {
            var prefix = $"layer{stage + 1}.";
            var indices = state.Keys
                .Where(k => k.StartsWith(prefix, StringComparison.Ordinal) && k.EndsWith(".conv3.weight", StringComparison.Ordinal))
                .Select(k => int.Parse(k.AsSpan(prefix.Length, k.IndexOf('.', prefix.Length) - prefix.Length), System.Globalization.CultureInfo.InvariantCulture))
                .ToList();
            if (indices.Count == 0)
            {
                throw new ArgumentException($"state dict has no bottleneck blocks in layer{stage + 1} (no '{prefix}N.conv3.weight').", nameof(state));
            }

            blocks[stage] = indices.Max() + 1;
        }

        return new ResNetConfig(blocks, stem.shape[0], variant);
    }
}

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
