using TorchSharp.Modules;

namespace Captum.Plugins.Vqa.Scenes;

/// <summary>
/// The small convolutional image network of the scenes model, in the place of the tutorial's ResNet layer4:
/// a 64 x 64 image becomes an 8 x 8 grid of features. conv1, conv2 and conv3 (stride 2; 3 x 3 by default, 4 x 4 in
/// the shipped model) and conv4 (3 x 3 by default, 1 x 1 in the shipped model), each followed by batch norm and a ReLU; conv3 and conv4 also see two coordinate channels (x and y in
/// [-1, 1], as in CoordConv), and the features end with them too, so that a position can be read off them.
/// </summary>
public sealed class SceneBackbone : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv1;
    private readonly Conv2d conv2;
    private readonly Conv2d conv3;
    private readonly Conv2d conv4;
    private readonly BatchNorm2d bn1;
    private readonly BatchNorm2d bn2;
    private readonly BatchNorm2d bn3;
    private readonly BatchNorm2d bn4;

    /// <summary>Creates the backbone (initialised as TorchSharp initialises convolutions).</summary>
    public SceneBackbone(SceneBackboneConfig config)
        : base(nameof(SceneBackbone))
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.Channels is not { Length: 4 } c || c.Any(w => w < 1) || config.LastKernel < 1 || config.LastKernel % 2 == 0 || config.DownKernel is not (3 or 4))
        {
            throw new ArgumentException("config needs four positive channel counts, an odd last kernel and a down kernel of 3 or 4.", nameof(config));
        }

        var k = config.DownKernel;

        Config = config;
        conv1 = nn.Conv2d(3, c[0], k, stride: 2, padding: 1, bias: false);
        bn1 = nn.BatchNorm2d(c[0]);
        conv2 = nn.Conv2d(c[0], c[1], k, stride: 2, padding: 1, bias: false);
        bn2 = nn.BatchNorm2d(c[1]);
        conv3 = nn.Conv2d(c[1] + 2, c[2], k, stride: 2, padding: 1, bias: false);
        bn3 = nn.BatchNorm2d(c[2]);
        conv4 = nn.Conv2d(c[2] + 2, c[3], config.LastKernel, padding: config.LastKernel / 2, bias: false);
        bn4 = nn.BatchNorm2d(c[3]);
        RegisterComponents();
    }

    /// <summary>The widths.</summary>
    public SceneBackboneConfig Config { get; }

    /// <summary>Image features [n, Channels[3], H / 8, W / 8] of normalised images [n, 3, H, W].</summary>
    public override Tensor forward(Tensor input)
    {
        var x = torch.nn.functional.relu(bn1.call(conv1.call(input)));
        x = torch.nn.functional.relu(bn2.call(conv2.call(x)));
        x = torch.nn.functional.relu(bn3.call(conv3.call(torch.cat([x, Coordinates(x)], 1))));
        x = torch.nn.functional.relu(bn4.call(conv4.call(torch.cat([x, Coordinates(x)], 1))));
        return torch.cat([x, Coordinates(x)], 1);
    }

    /// <summary>Two channels holding each position's x and y in [-1, 1], expanded over the batch.</summary>
    private static Tensor Coordinates(Tensor features)
    {
        var (n, h, w) = (features.shape[0], features.shape[2], features.shape[3]);
        var ys = torch.linspace(-1, 1, h, features.dtype, features.device).reshape(1, 1, h, 1).expand(n, 1, h, w);
        var xs = torch.linspace(-1, 1, w, features.dtype, features.device).reshape(1, 1, 1, w).expand(n, 1, h, w);
        return torch.cat([xs, ys], 1);
    }
}
