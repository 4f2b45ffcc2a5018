using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Captum.Tests;

/// <summary>Small models for the tests, seeded so every run builds the same weights.</summary>
internal static class TestModels
{
    /// <summary>A tanh MLP (smooth, so IG's integral converges quickly), in eval mode.</summary>
    public static Mlp SmoothMlp(int seed, int inputs = 4, int hidden = 8, int outputs = 3)
    {
        var m = new Mlp(inputs, hidden, outputs);

        // Weights from a generator of the test's own, uniform in +-1/sqrt(fan_in) like nn.Linear's default, so
        // tests running in parallel (which share TorchSharp's global generator) always build the same model.
        var generator = new torch.Generator((ulong)(uint)seed);
        using (torch.no_grad())
        {
            foreach (var (name, parameter) in m.named_parameters())
            {
                var fanIn = name.StartsWith("lin1", StringComparison.Ordinal) ? inputs : hidden;
                var bound = 1.0 / Math.Sqrt(fanIn);
                parameter.copy_((torch.rand(parameter.shape, generator: generator) * 2 - 1) * bound);
            }
        }

        m.eval();
        return m;
    }

    /// <summary>Standard normal values from a generator of the test's own (see <see cref="SmoothMlp"/>).</summary>
    public static Tensor Normal(int seed, params long[] shape) =>
        torch.randn(shape, generator: new torch.Generator((ulong)(uint)seed));
}

/// <summary>Linear, tanh, linear: forward(x).</summary>
internal sealed class Mlp : nn.Module<Tensor, Tensor>
{
    private readonly Linear lin1;
    private readonly Linear lin2;

    public Mlp(int inputs, int hidden, int outputs)
        : base(nameof(Mlp))
    {
        lin1 = nn.Linear(inputs, hidden);
        lin2 = nn.Linear(hidden, outputs);
        RegisterComponents();
    }

    public Linear Lin1 => lin1;

    public override Tensor forward(Tensor x) => lin2.call(torch.tanh(lin1.call(x)));
}

/// <summary>One linear layer: forward(x) = W x + b.</summary>
internal sealed class LinearModel : nn.Module<Tensor, Tensor>
{
    private readonly Linear lin;

    public LinearModel(int inputs, int outputs, int seed)
        : base(nameof(LinearModel))
    {
        torch.manual_seed(seed);
        lin = nn.Linear(inputs, outputs);
        RegisterComponents();
        eval();
    }

    public Linear Lin => lin;

    public override Tensor forward(Tensor x) => lin.call(x);
}

/// <summary>forward(a, b, scale) = lin(cat(tanh(a), sigmoid(b))) * scale.</summary>
internal sealed class TwoInputModel : nn.Module<Tensor, Tensor, Tensor, Tensor>
{
    private readonly Linear lin;

    public TwoInputModel(int seed)
        : base(nameof(TwoInputModel))
    {
        torch.manual_seed(seed);
        lin = nn.Linear(5, 3);
        RegisterComponents();
        eval();
    }

    public override Tensor forward(Tensor a, Tensor b, Tensor scale) =>
        lin.call(torch.cat([torch.tanh(a), torch.sigmoid(b)], 1)) * scale;
}

/// <summary>Token ids to embedding to mean over the sequence to linear: forward(tokens).</summary>
internal sealed class BagOfWords : nn.Module<Tensor, Tensor>
{
    private readonly Embedding embedding;
    private readonly Linear fc;

    public BagOfWords(int seed, int vocab = 12, int dim = 5, int classes = 3)
        : base(nameof(BagOfWords))
    {
        torch.manual_seed(seed);
        embedding = nn.Embedding(vocab, dim, padding_idx: 0);
        fc = nn.Linear(dim, classes);
        RegisterComponents();
        eval();
    }

    public Embedding EmbeddingLayer => embedding;

    public override Tensor forward(Tensor tokens) => fc.call(torch.tanh(embedding.call(tokens)).mean([1]));
}

/// <summary>Calls its hidden layer through forward, so hooks on it never fire.</summary>
internal sealed class HiddenCallModel : nn.Module<Tensor, Tensor>
{
    private readonly Linear lin;

    public HiddenCallModel()
        : base(nameof(HiddenCallModel))
    {
        lin = nn.Linear(3, 2);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => lin.forward(x);
}

/// <summary>Calls the same layer twice.</summary>
internal sealed class TwiceCalledModel : nn.Module<Tensor, Tensor>
{
    private readonly Linear lin;

    public TwiceCalledModel()
        : base(nameof(TwiceCalledModel))
    {
        lin = nn.Linear(3, 3);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => lin.call(torch.tanh(lin.call(x)));
}

/// <summary>lin1 (3 to 4), then a ReLU (by default in place, overwriting lin1's output), then lin2 (4 to 2).</summary>
internal sealed class InPlaceAfterLayerModel : nn.Module<Tensor, Tensor>
{
    private readonly Linear lin1;
    private readonly ReLU relu;
    private readonly Linear lin2;

    public InPlaceAfterLayerModel(int seed, bool inplace = true)
        : base(nameof(InPlaceAfterLayerModel))
    {
        torch.manual_seed(seed);
        lin1 = nn.Linear(3, 4);
        relu = nn.ReLU(inplace: inplace);
        lin2 = nn.Linear(4, 2);
        RegisterComponents();
    }

    public Linear Lin1 => lin1;

    public override Tensor forward(Tensor x) => lin2.call(relu.call(lin1.call(x)));
}

/// <summary>Calls one Tanh twice, on tensors of different shapes ([n, 3], then [n, 5]), and reads its second output.</summary>
internal sealed class SharedActivationModel : nn.Module<Tensor, Tensor>
{
    private readonly Linear lin1;
    private readonly Linear lin2;
    private readonly Linear lin3;
    private readonly Tanh act;

    public SharedActivationModel()
        : base(nameof(SharedActivationModel))
    {
        lin1 = nn.Linear(3, 3);
        lin2 = nn.Linear(3, 5);
        lin3 = nn.Linear(5, 2);
        act = nn.Tanh();
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => lin3.call(act.call(lin2.call(act.call(lin1.call(x)))));
}

/// <summary>
/// net = Sequential(Linear, Tanh, Linear) inside a module: TorchSharp's Sequential disposes each child's input once
/// the child has run, which layer methods must survive.
/// </summary>
internal sealed class SequentialMlp : nn.Module<Tensor, Tensor>
{
    private readonly Sequential net;

    public SequentialMlp(int seed, int inputs = 4, int hidden = 6, int outputs = 3)
        : base(nameof(SequentialMlp))
    {
        torch.manual_seed(seed);
        net = nn.Sequential(nn.Linear(inputs, hidden), nn.Tanh(), nn.Linear(hidden, outputs));
        RegisterComponents();
        eval();
    }

    public override Tensor forward(Tensor x) => net.call(x);
}

/// <summary>Two linear layers without an activation: forward(x) = lin2(lin1(x)).</summary>
internal sealed class LinearStack : nn.Module<Tensor, Tensor>
{
    private readonly Linear lin1;
    private readonly Linear lin2;

    public LinearStack(int seed, int inputs = 4, int hidden = 5, int outputs = 3)
        : base(nameof(LinearStack))
    {
        torch.manual_seed(seed);
        lin1 = nn.Linear(inputs, hidden);
        lin2 = nn.Linear(hidden, outputs);
        RegisterComponents();
        eval();
    }

    public Linear Lin1 => lin1;

    public Linear Lin2 => lin2;

    public override Tensor forward(Tensor x) => lin2.call(lin1.call(x));
}
