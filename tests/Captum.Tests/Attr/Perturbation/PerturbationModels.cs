using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Perturbation;

/// <summary>
/// An additive model over the features: F(x) = Σ_j c_j tanh(a_j x_j) + d, one output per example. Each
/// feature's contribution F(x) - F(x with feature j at b_j) is c_j (tanh(a_j x_j) - tanh(a_j b_j)),
/// whatever the other features are.
/// </summary>
internal sealed class AdditiveModel : nn.Module<Tensor, Tensor>
{
    private readonly Tensor a;
    private readonly Tensor c;

    public AdditiveModel(int features, int seed)
        : base(nameof(AdditiveModel))
    {
        var generator = new torch.Generator((ulong)seed);
        a = torch.randn([features], generator: generator) * 2;
        c = torch.randn([features], generator: generator);
        RegisterComponents();
        eval();
    }

    /// <summary>Each feature's contribution relative to <paramref name="baseline"/>: [n, features].</summary>
    public Tensor Contributions(Tensor x, Tensor baseline) => c * (torch.tanh(a * x) - torch.tanh(a * baseline));

    public override Tensor forward(Tensor x) => (c * torch.tanh(a * x)).sum(dim: 1) + 0.5;
}

/// <summary>Flattens an image batch [n, c, h, w] and applies one linear layer: forward(x) = W flat(x) + b.</summary>
internal sealed class LinearImageModel : nn.Module<Tensor, Tensor>
{
    private readonly Linear lin;

    public LinearImageModel(int channels, int height, int width, int outputs, int seed)
        : base(nameof(LinearImageModel))
    {
        torch.manual_seed(seed);
        lin = nn.Linear(channels * height * width, outputs);
        RegisterComponents();
        eval();
    }

    /// <summary>The weights of output <paramref name="output"/> in the image's shape [c, h, w].</summary>
    public Tensor WeightImage(int output, long channels, long height, long width) => lin.weight![output].reshape(channels, height, width);

    public override Tensor forward(Tensor x) => lin.call(x.flatten(1));
}

/// <summary>Calls counted: how many forward passes a method made and the batch sizes it used.</summary>
internal sealed class CountingForward
{
    private readonly Func<Tensor, Tensor> inner;

    public CountingForward(Func<Tensor, Tensor> inner)
    {
        this.inner = inner;
    }

    public List<long> BatchSizes { get; } = [];

    public Tensor Invoke(Tensor x)
    {
        BatchSizes.Add(x.shape[0]);
        return inner(x);
    }
}
