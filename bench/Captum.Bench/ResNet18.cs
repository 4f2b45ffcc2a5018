using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Captum.Bench;

/// <summary>
/// torchvision's ResNet-18 (basic blocks [2, 2, 2, 2]) with seeded random weights, for benchmarks. Like torchvision's
/// (and TorchSharp's TorchVision) it applies ReLU and the residual sum in place: the Python twin in
/// ../shared/bench/captum holds one tensor fewer per normalisation, and so must this one for the two to compare.
/// </summary>
internal sealed class ResNet18 : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly MaxPool2d maxpool;
    private readonly Sequential layer1;
    private readonly Sequential layer2;
    private readonly Sequential layer3;
    private readonly Sequential layer4;
    private readonly Linear fc;

    public ResNet18(int classes = 1000)
        : base(nameof(ResNet18))
    {
        conv1 = nn.Conv2d(3, 64, 7, stride: 2, padding: 3, bias: false);
        bn1 = nn.BatchNorm2d(64);
        maxpool = nn.MaxPool2d(3, stride: 2, padding: 1);
        layer1 = Stage(64, 64, 1);
        layer2 = Stage(64, 128, 2);
        layer3 = Stage(128, 256, 2);
        layer4 = Stage(256, 512, 2);
        fc = nn.Linear(512, classes);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var y = maxpool.call(bn1.call(conv1.call(x)).relu_());
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
            var y = bn1.call(conv1.call(x)).relu_();
            y = bn2.call(conv2.call(y));
            return y.add_(downsample is null ? x : downsample.call(x)).relu_();
        }
    }
}
