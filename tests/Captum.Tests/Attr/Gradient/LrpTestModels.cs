using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Captum.Tests;

/// <summary>
/// Models for the LRP tests (built from generators of their own, so that parallel tests always build the same
/// weights), and LRP's rules written out in plain float64 tensor algebra to check the methods against.
/// </summary>
internal static class LrpTestModels
{
    /// <summary>
    /// lin1, relu1, lin2, relu2, ..., lin{k+1}: a ReLU network of <paramref name="hiddenLayers"/> hidden layers,
    /// in eval mode, with or without biases.
    /// </summary>
    public static Sequential ReluNet(int seed, bool bias, int inputs = 4, int hidden = 6, int outputs = 3, int hiddenLayers = 1, bool inPlace = false)
    {
        var layers = new List<(string, nn.Module<Tensor, Tensor>)>();
        var width = inputs;
        for (var i = 1; i <= hiddenLayers; i++)
        {
            layers.Add(($"lin{i}", nn.Linear(width, hidden, hasBias: bias)));
            layers.Add(($"relu{i}", nn.ReLU(inPlace)));
            width = hidden;
        }

        layers.Add(($"lin{hiddenLayers + 1}", nn.Linear(width, outputs, hasBias: bias)));
        return Seeded(nn.Sequential(layers.ToArray()), seed);
    }

    /// <summary>
    /// A <see cref="ReluNet"/>'s forward pass in float64: the input of every Linear (x first) and the output.
    /// </summary>
    public static (Tensor[] Inputs, Tensor Output) ReluForward(Sequential model, Tensor x)
    {
        var inputs = new List<Tensor>();
        var a = x.to_type(ScalarType.Float64);
        foreach (var (name, module) in model.named_children())
        {
            if (name.StartsWith("lin", StringComparison.Ordinal))
            {
                inputs.Add(a);
                a = Z(a, W(module), B(module));
            }
            else
            {
                a = torch.nn.functional.relu(a);
            }
        }

        return (inputs.ToArray(), a);
    }

    /// <summary>Overwrites every parameter with uniform values in +-1 from a generator of its own; eval mode.</summary>
    public static T Seeded<T>(T model, int seed)
        where T : nn.Module
    {
        var generator = new torch.Generator((ulong)(uint)seed);
        using (torch.no_grad())
        {
            foreach (var (_, parameter) in model.named_parameters())
            {
                parameter.copy_((torch.rand(parameter.shape, generator: generator) * 2) - 1);
            }
        }

        model.eval();
        return model;
    }

    /// <summary>The weight of a Linear (or convolution), as float64.</summary>
    public static Tensor W(nn.Module module) => ((Parameter)module.named_parameters().First(p => p.name == "weight").parameter).detach().to_type(ScalarType.Float64);

    /// <summary>The bias of a Linear, as float64, or null.</summary>
    public static Tensor? B(nn.Module module) =>
        module.named_parameters().Where(p => p.name == "bias").Select(p => p.parameter.detach().to_type(ScalarType.Float64)).FirstOrDefault();

    /// <summary>z = a W^T + b.</summary>
    public static Tensor Z(Tensor a, Tensor w, Tensor? b) => b is null ? a.matmul(w.T) : a.matmul(w.T) + b;

    /// <summary>z + epsilon * sign(z), sign(0) taken as 1.</summary>
    public static Tensor Stabilized(Tensor z, double epsilon) => z + (torch.where(z >= 0, 1.0, -1.0).to_type(z.dtype) * epsilon);

    /// <summary>
    /// The z-rule of a linear layer with weights <paramref name="w"/> and bias <paramref name="b"/>:
    /// R_i = a_i * sum_j W_ji R_j / (z_j + epsilon * sign(z_j)), z = W a + b.
    /// </summary>
    public static Tensor LinearRule(Tensor a, Tensor w, Tensor? b, Tensor relevance, double epsilon = 1e-9) =>
        a * (relevance / Stabilized(Z(a, w, b), epsilon)).matmul(w);

    /// <summary>The relevance of the output: the explained output at the target, zero elsewhere.</summary>
    public static Tensor OutputRelevance(Tensor output, int target)
    {
        var relevance = torch.zeros_like(output);
        relevance[TensorIndex.Colon, target] = output[TensorIndex.Colon, target];
        return relevance;
    }
}

/// <summary>lin(lin(x)): one Linear (4 to 4) called twice in a forward pass.</summary>
internal sealed class ReusedLinearModel : nn.Module<Tensor, Tensor>
{
    private readonly Linear lin;

    public ReusedLinearModel(int seed)
        : base(nameof(ReusedLinearModel))
    {
        lin = nn.Linear(4, 4);
        RegisterComponents();
        LrpTestModels.Seeded(this, seed);
    }

    public override Tensor forward(Tensor x) => lin.call(lin.call(x));
}

/// <summary>
/// forward(a, b, mask) = lin2(relu(lin1(cat(a, b) * mask))), without biases: two attributed inputs and an additional
/// argument (a 0/1 mask, which keeps relevance conserved).
/// </summary>
internal sealed class TwoInputReluModel : nn.Module<Tensor, Tensor, Tensor, Tensor>
{
    private readonly Linear lin1;
    private readonly ReLU relu;
    private readonly Linear lin2;

    public TwoInputReluModel(int seed)
        : base(nameof(TwoInputReluModel))
    {
        lin1 = nn.Linear(5, 6, hasBias: false);
        relu = nn.ReLU();
        lin2 = nn.Linear(6, 3, hasBias: false);
        RegisterComponents();
        LrpTestModels.Seeded(this, seed);
    }

    public override Tensor forward(Tensor a, Tensor b, Tensor mask) => lin2.call(relu.call(lin1.call(torch.cat([a, b], 1) * mask)));
}

/// <summary>lin2(relu(lin1(x))) (4 to 6 to 3), with a Linear 'unused' (6 to 6) that the forward pass never calls.</summary>
internal sealed class UnusedLayerModel : nn.Module<Tensor, Tensor>
{
    private readonly Linear lin1;
    private readonly ReLU relu;
    private readonly Linear lin2;
    private readonly Linear unused;

    public UnusedLayerModel(int seed)
        : base(nameof(UnusedLayerModel))
    {
        lin1 = nn.Linear(4, 6);
        relu = nn.ReLU();
        lin2 = nn.Linear(6, 3);
        unused = nn.Linear(6, 6);
        RegisterComponents();
        LrpTestModels.Seeded(this, seed);
    }

    public Linear Unused => unused;

    public override Tensor forward(Tensor x) => lin2.call(relu.call(lin1.call(x)));
}
