using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Captum.Tests;

/// <summary>
/// torchvision's ResNet-18 layout (stem, four stages of two basic blocks with residual connections, average pool, fc)
/// at a small width (4, 8, 16, 32 channels) for [n, 3, 16, 16] images and 5 classes. Paths as torchvision's:
/// "conv1", "layer3", "layer3.0.conv2", "layer4", "fc". Weights (and the batch norms' running statistics) come from a
/// generator of its own, so parallel tests always build the same model; in eval mode.
/// </summary>
internal sealed class TinyResNet : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly Sequential layer1;
    private readonly Sequential layer2;
    private readonly Sequential layer3;
    private readonly Sequential layer4;
    private readonly Linear fc;

    public TinyResNet(int seed)
        : base(nameof(TinyResNet))
    {
        conv1 = nn.Conv2d(3, 4, 3, padding: 1, bias: false);
        bn1 = nn.BatchNorm2d(4);
        layer1 = Stage(4, 4, 1);
        layer2 = Stage(4, 8, 2);
        layer3 = Stage(8, 16, 2);
        layer4 = Stage(16, 32, 2);
        fc = nn.Linear(32, 5);
        RegisterComponents();
        using var generator = new torch.Generator((ulong)(uint)seed);
        using (torch.no_grad())
        {
            foreach (var (name, parameter) in named_parameters())
            {
                var u = (torch.rand(parameter.shape, generator: generator) * 2) - 1;
                parameter.copy_(parameter.dim() > 1
                    ? u * Math.Sqrt(6.0 / (parameter.numel() / parameter.shape[0]))
                    : name.EndsWith("weight", StringComparison.Ordinal) ? 1 + (0.2 * u) : 0.1 * u);
            }

            foreach (var (name, buffer) in named_buffers())
            {
                if (name.EndsWith("running_mean", StringComparison.Ordinal))
                {
                    buffer.copy_(0.1 * ((torch.rand(buffer.shape, generator: generator) * 2) - 1));
                }
                else if (name.EndsWith("running_var", StringComparison.Ordinal))
                {
                    buffer.copy_(0.5 + torch.rand(buffer.shape, generator: generator));
                }
            }
        }

        eval();
    }

    public Conv2d Conv1 => conv1;

    public override Tensor forward(Tensor x)
    {
        var y = torch.nn.functional.relu(bn1.call(conv1.call(x)));
        y = layer4.call(layer3.call(layer2.call(layer1.call(y))));
        return fc.call(torch.nn.functional.adaptive_avg_pool2d(y, 1).flatten(1));
    }

    private static Sequential Stage(long inplanes, long planes, long stride) =>
        nn.Sequential(("0", new BasicBlock(inplanes, planes, stride)), ("1", new BasicBlock(planes, planes, 1)));

    private sealed class BasicBlock : nn.Module<Tensor, Tensor>
    {
        private readonly Conv2d conv1;
        private readonly BatchNorm2d bn1;
        private readonly Conv2d conv2;
        private readonly BatchNorm2d bn2;
        private readonly Sequential? downsample;

        public BasicBlock(long inplanes, long planes, long stride)
            : base(nameof(BasicBlock))
        {
            conv1 = nn.Conv2d(inplanes, planes, 3, stride: stride, padding: 1, bias: false);
            bn1 = nn.BatchNorm2d(planes);
            conv2 = nn.Conv2d(planes, planes, 3, padding: 1, bias: false);
            bn2 = nn.BatchNorm2d(planes);
            if (stride != 1 || inplanes != planes)
            {
                downsample = nn.Sequential(("0", nn.Conv2d(inplanes, planes, 1, stride: stride, bias: false)), ("1", nn.BatchNorm2d(planes)));
            }

            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            var y = torch.nn.functional.relu(bn1.call(conv1.call(x)));
            y = bn2.call(conv2.call(y));
            return torch.nn.functional.relu(y + (downsample is null ? x : downsample.call(x)));
        }
    }
}
