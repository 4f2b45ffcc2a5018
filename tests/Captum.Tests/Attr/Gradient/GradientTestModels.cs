using System.Reflection;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Captum.Tests;

/// <summary>
/// Models whose nonlinearities are modules called through <c>call</c>, so that DeepLift, GuidedBackprop and
/// Deconvolution can hook them; all in eval mode, seeded.
/// </summary>
internal static class GradientTestModels
{
    /// <summary>The activation modules DeepLift's rescale rule covers, by name.</summary>
    public static readonly string[] Activations = ["relu", "tanh", "sigmoid", "elu", "leaky_relu", "softplus"];

    public static nn.Module<Tensor, Tensor> Activation(string name, bool inPlace = false) => name switch
    {
        "relu" => nn.ReLU(inPlace),
        "tanh" => nn.Tanh(),
        "sigmoid" => nn.Sigmoid(),
        "elu" => nn.ELU(inplace: inPlace),
        "leaky_relu" => nn.LeakyReLU(0.1, inPlace),
        "softplus" => nn.Softplus(),
        "gelu" => nn.GELU(),
        _ => throw new ArgumentException(name),
    };

    /// <summary>A Linear-activation-Linear-activation-Linear MLP with module activations.</summary>
    public static ModuleMlp Mlp(int seed, string activation = "relu", int inputs = 4, int hidden = 6, int outputs = 3, bool inPlace = false)
    {
        torch.manual_seed(seed);
        var m = new ModuleMlp(inputs, hidden, outputs, () => Activation(activation, inPlace));
        m.eval();
        return m;
    }

    /// <summary>
    /// The number of forward hooks registered on <paramref name="root"/> and all its submodules (read from
    /// TorchSharp's hook dictionaries), to check a method left none behind.
    /// </summary>
    public static int HookCount(nn.Module root)
    {
        var total = 0;
        foreach (var (_, module) in root.named_modules())
        {
            for (var t = module.GetType(); t is not null; t = t.BaseType)
            {
                foreach (var name in new[] { "pre_hooks", "post_hooks", "module_pre_hooks", "module_post_hooks" })
                {
                    if (t.GetField(name, BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.DeclaredOnly)?.GetValue(module) is System.Collections.ICollection c)
                    {
                        total += c.Count;
                    }
                }
            }
        }

        return total;
    }

    /// <summary>Copies of every parameter and buffer, by name.</summary>
    public static Dictionary<string, Tensor> Snapshot(nn.Module module) =>
        module.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
}

/// <summary>lin1, act1, lin2, act2, lin3, the activations modules built by a factory.</summary>
internal sealed class ModuleMlp : nn.Module<Tensor, Tensor>
{
    private readonly Linear lin1;
    private readonly nn.Module<Tensor, Tensor> act1;
    private readonly Linear lin2;
    private readonly nn.Module<Tensor, Tensor> act2;
    private readonly Linear lin3;

    public ModuleMlp(int inputs, int hidden, int outputs, Func<nn.Module<Tensor, Tensor>> activation)
        : base(nameof(ModuleMlp))
    {
        lin1 = nn.Linear(inputs, hidden);
        act1 = activation();
        lin2 = nn.Linear(hidden, hidden);
        act2 = activation();
        lin3 = nn.Linear(hidden, outputs);
        RegisterComponents();
    }

    public Linear Lin1 => lin1;

    public Linear Lin2 => lin2;

    public Linear Lin3 => lin3;

    public nn.Module<Tensor, Tensor> Act1 => act1;

    public nn.Module<Tensor, Tensor> Act2 => act2;

    public override Tensor forward(Tensor x) => lin3.call(act2.call(lin2.call(act1.call(lin1.call(x)))));
}

/// <summary>One ReLU module called twice: lin2(relu(lin1(relu(x)))) with the same ReLU instance.</summary>
internal sealed class ReusedReluModel : nn.Module<Tensor, Tensor>
{
    private readonly Linear lin1;
    private readonly Linear lin2;
    private readonly ReLU relu;

    public ReusedReluModel(int seed)
        : base(nameof(ReusedReluModel))
    {
        torch.manual_seed(seed);
        lin1 = nn.Linear(4, 5);
        lin2 = nn.Linear(5, 2);
        relu = nn.ReLU();
        RegisterComponents();
        eval();
    }

    public override Tensor forward(Tensor x) => lin2.call(relu.call(lin1.call(relu.call(x))));
}

/// <summary>conv (1 to 3 channels, 3x3, padding 1), ReLU, MaxPool2d(2), flatten, linear to 2 classes; input [n, 1, 4, 4].</summary>
internal sealed class ConvPoolModel : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv;
    private readonly ReLU relu;
    private readonly MaxPool2d pool;
    private readonly Linear fc;

    public ConvPoolModel(int seed)
        : base(nameof(ConvPoolModel))
    {
        torch.manual_seed(seed);
        conv = nn.Conv2d(1, 3, 3, padding: 1);
        relu = nn.ReLU();
        pool = nn.MaxPool2d(2);
        fc = nn.Linear(12, 2);
        RegisterComponents();
        eval();
    }

    public Linear Fc => fc;

    public override Tensor forward(Tensor x) => fc.call(pool.call(relu.call(conv.call(x))).flatten(1));
}

/// <summary>lin2(softmax(lin1(x), dim 1)).</summary>
internal sealed class SoftmaxModel : nn.Module<Tensor, Tensor>
{
    private readonly Linear lin1;
    private readonly Softmax softmax;
    private readonly Linear lin2;

    public SoftmaxModel(int seed)
        : base(nameof(SoftmaxModel))
    {
        torch.manual_seed(seed);
        lin1 = nn.Linear(3, 4);
        softmax = nn.Softmax(1);
        lin2 = nn.Linear(4, 2);
        RegisterComponents();
        eval();
    }

    public Linear Lin1 => lin1;

    public Linear Lin2 => lin2;

    public override Tensor forward(Tensor x) => lin2.call(softmax.call(lin1.call(x)));
}

/// <summary>Token ids to embedding, a Tanh module, the mean over the sequence, linear.</summary>
internal sealed class TokenTanhModel : nn.Module<Tensor, Tensor>
{
    private readonly Embedding embedding;
    private readonly Tanh tanh;
    private readonly Linear fc;

    public TokenTanhModel(int seed)
        : base(nameof(TokenTanhModel))
    {
        torch.manual_seed(seed);
        embedding = nn.Embedding(12, 5, padding_idx: 0);
        tanh = nn.Tanh();
        fc = nn.Linear(5, 3);
        RegisterComponents();
        eval();
    }

    public override Tensor forward(Tensor tokens) => fc.call(tanh.call(embedding.call(tokens)).mean([1]));
}

/// <summary>forward(a, b, scale) = lin(cat(relu(la(a)), tanh(lb(b)))) * scale, with module activations.</summary>
internal sealed class TwoInputModuleModel : nn.Module<Tensor, Tensor, Tensor, Tensor>
{
    private readonly Linear la;
    private readonly Linear lb;
    private readonly ReLU relu;
    private readonly Tanh tanh;
    private readonly Linear lin;

    public TwoInputModuleModel(int seed)
        : base(nameof(TwoInputModuleModel))
    {
        torch.manual_seed(seed);
        la = nn.Linear(2, 3);
        lb = nn.Linear(3, 3);
        relu = nn.ReLU();
        tanh = nn.Tanh();
        lin = nn.Linear(6, 3);
        RegisterComponents();
        eval();
    }

    public Linear Lin => lin;

    /// <summary>lin's input: cat(relu(la(a)), tanh(lb(b))).</summary>
    public Tensor Hidden(Tensor a, Tensor b) => torch.cat([relu.call(la.call(a)), tanh.call(lb.call(b))], 1);

    public override Tensor forward(Tensor a, Tensor b, Tensor scale) => lin.call(Hidden(a, b)) * scale;
}
