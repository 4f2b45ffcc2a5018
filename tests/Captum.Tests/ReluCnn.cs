using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Captum.Tests;

/// <summary>
/// conv1 (2 to 3 channels, 3x3, padding 1), relu1, conv2 (3 to 4 channels, 3x3, stride 2, padding 1), relu2, the mean
/// over positions, fc (4 to 3 classes): a [n, 2, 6, 6] image, conv2's output [n, 4, 3, 3]. Every module is called
/// through <c>call</c>, so the gradient overrides and layer hooks see them. The weights come from a generator of its
/// own (uniform in +-1/sqrt(fan_in), like TorchSharp's default), so parallel tests always build the same model.
/// </summary>
internal sealed class ReluCnn : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv1;
    private readonly ReLU relu1;
    private readonly Conv2d conv2;
    private readonly ReLU relu2;
    private readonly Linear fc;

    public ReluCnn(int seed)
        : base(nameof(ReluCnn))
    {
        conv1 = nn.Conv2d(2, 3, 3, padding: 1);
        relu1 = nn.ReLU();
        conv2 = nn.Conv2d(3, 4, 3, stride: 2, padding: 1);
        relu2 = nn.ReLU();
        fc = nn.Linear(4, 3);
        RegisterComponents();
        using var generator = new torch.Generator((ulong)(uint)seed);
        using (torch.no_grad())
        {
            foreach (var (name, parameter) in named_parameters())
            {
                var fanIn = name.StartsWith("conv1", StringComparison.Ordinal) ? 2 * 9 : name.StartsWith("conv2", StringComparison.Ordinal) ? 3 * 9 : 4;
                parameter.copy_((torch.rand(parameter.shape, generator: generator) * 2 - 1) / Math.Sqrt(fanIn));
            }
        }

        eval();
    }

    public Conv2d Conv1 => conv1;

    public ReLU Relu1 => relu1;

    public Conv2d Conv2 => conv2;

    public ReLU Relu2 => relu2;

    public Linear Fc => fc;

    /// <summary>conv2's output, [n, 4, 3, 3].</summary>
    public Tensor Features(Tensor x) => conv2.call(relu1.call(conv1.call(x)));

    public override Tensor forward(Tensor x) => fc.call(relu2.call(Features(x)).mean([2, 3]));
}
