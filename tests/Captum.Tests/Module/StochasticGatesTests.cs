using Captum.Module;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Module;

public sealed class StochasticGatesTests
{
    /// <summary>erf by its Taylor series, exact to double precision for |x| below 3.</summary>
    private static double Erf(double x)
    {
        double sum = 0, term = x;
        for (var n = 0; n < 200; n++)
        {
            sum += term / ((2 * n) + 1);
            term *= -x * x / (n + 1);
        }

        return 2 / Math.Sqrt(Math.PI) * sum;
    }

    private static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    public static TheoryData<string> Kinds => ["binary", "gaussian"];

    private static StochasticGatesBase Gates(string kind, int n, Tensor? mask = null, RegReduction reduction = RegReduction.Sum, ulong seed = 1, double regWeight = 1.0) =>
        kind == "binary"
            ? new BinaryConcreteStochasticGates(n, mask, regWeight, regReduction: reduction, generator: new Generator(seed))
            : new GaussianStochasticGates(n, mask, regWeight, regReduction: reduction, generator: new Generator(seed));

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Forward_MaskedAndUnmasked_GivesTheInputsShapeAndTheRegShapeOfTheReduction(string kind)
    {
        using var scope = torch.NewDisposeScope();
        using var plain = Gates(kind, 5);
        using var grouped = Gates(kind, 3, torch.tensor(new long[,] { { 0, 0, 1 }, { 1, 2, 2 } }), RegReduction.None);

        var (gated, reg) = plain.forward(torch.randn(4, 5));
        var (gatedGroups, regGroups) = grouped.forward(torch.randn(6, 2, 3));

        Assert.Equal(new long[] { 4, 5 }, gated.shape);
        Assert.Empty(reg.shape);
        Assert.Equal(new long[] { 6, 2, 3 }, gatedGroups.shape);
        Assert.Equal(new long[] { 3 }, regGroups.shape);
        Assert.Equal(new long[] { 3 }, grouped.GetGateValues().shape);
        Assert.Equal(new long[] { 3 }, grouped.GetGateActiveProbs().shape);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Forward_EvalMode_IsDeterministicAndEqualsTheInputTimesTheClampedMeansOfItsGroups(string kind)
    {
        using var scope = torch.NewDisposeScope();
        var mask = torch.tensor(new long[] { 0, 1, 1, 2 });
        using var gates = Gates(kind, 3, mask);
        gates.eval();
        var x = torch.randn([5, 4], generator: new Generator(2));

        var (first, _) = gates.forward(x);
        var (second, _) = gates.forward(x);

        TensorAssert.AllClose(first, second, 0, 0);
        var values = gates.GetGateValues();
        TensorAssert.AllClose(first, x * values.index_select(0, mask), 1e-7, 1e-6);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Forward_TrainMode_DrawsPerExampleAndSeededGatesRepeat(string kind)
    {
        using var scope = torch.NewDisposeScope();
        using var a = Gates(kind, 4, seed: 3);
        using var b = Gates(kind, 4, seed: 3);
        var x = torch.ones(64, 4);

        var (ga, _) = a.forward(x);
        var (gb, _) = b.forward(x);

        TensorAssert.AllClose(ga, gb, 0, 0);
        Assert.True(ga.std(0).min().item<float>() > 0.01f, "examples draw different gate values in training mode");
        Assert.True((ga >= 0).all().item<bool>() && (ga <= 1).all().item<bool>());
    }

    // The parameters are float32, as Captum's; hand-computed in double, so compared to float32 precision.
    [Fact]
    public void BinaryConcrete_Regularization_EqualsTheFormulaOnHandComputedValues()
    {
        using var scope = torch.NewDisposeScope();
        double[] logAlpha = [-1.5, 0.0, 2.0];
        const double temperature = 0.5, lower = -0.2, upper = 1.25, weight = 0.3;
        var probs = logAlpha.Select(la => Sigmoid(la - (temperature * Math.Log(-lower / upper)))).ToArray();
        Tensor Reg(RegReduction r)
        {
            using var gates = BinaryConcreteStochasticGates.FromPretrained(torch.tensor(logAlpha, ScalarType.Float64), null, weight, temperature, lower, upper, regReduction: r);
            return gates.forward(torch.ones(2, 3)).L0Reg;
        }

        Assert.Equal(weight * probs.Sum(), Reg(RegReduction.Sum).item<float>(), 6);
        Assert.Equal(weight * probs.Average(), Reg(RegReduction.Mean).item<float>(), 6);
        TensorAssert.AllClose(Reg(RegReduction.None), torch.tensor(probs.Select(p => (float)(weight * p)).ToArray()), 1e-6, 1e-6);

        using var same = BinaryConcreteStochasticGates.FromPretrained(torch.tensor(logAlpha, ScalarType.Float64), null, weight, temperature, lower, upper);
        TensorAssert.AllClose(same.GetGateActiveProbs(), torch.tensor(probs.Select(p => (float)p).ToArray()), 1e-6, 1e-6);
        var raw = logAlpha.Select(la => (Sigmoid(la) * (upper - lower)) + lower).ToArray();
        TensorAssert.AllClose(same.GetGateValues(clamp: false), torch.tensor(raw.Select(v => (float)v).ToArray()), 1e-6, 1e-6);
        TensorAssert.AllClose(same.GetGateValues(), torch.tensor(raw.Select(v => (float)Math.Clamp(v, 0, 1)).ToArray()), 1e-6, 1e-6);
    }

    [Fact]
    public void Gaussian_Regularization_EqualsTheFormulaOnHandComputedValues()
    {
        using var scope = torch.NewDisposeScope();
        double[] mu = [-0.4, 0.1, 1.3];
        const double std = 0.7, weight = 2.0;
        var probs = mu.Select(m => 0.5 * (1 + Erf(m / std / Math.Sqrt(2)))).ToArray();
        Tensor Reg(RegReduction r)
        {
            using var gates = GaussianStochasticGates.FromPretrained(torch.tensor(mu, ScalarType.Float64), null, weight, std, r);
            return gates.forward(torch.ones(2, 3)).L0Reg;
        }

        Assert.Equal(weight * probs.Sum(), Reg(RegReduction.Sum).item<float>(), 6);
        Assert.Equal(weight * probs.Average(), Reg(RegReduction.Mean).item<float>(), 6);
        TensorAssert.AllClose(Reg(RegReduction.None), torch.tensor(probs.Select(p => (float)(weight * p)).ToArray()), 1e-6, 1e-6);

        using var same = GaussianStochasticGates.FromPretrained(torch.tensor(mu, ScalarType.Float64), std: std);
        TensorAssert.AllClose(same.GetGateValues(clamp: false), torch.tensor(mu.Select(m => (float)m).ToArray()), 0, 0);
        TensorAssert.AllClose(same.GetGateValues(), torch.tensor(new[] { 0.0f, 0.1f, 1.0f }), 0, 0);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Backward_GatedOutputAndReg_GradientsReachTheGateParametersOnly(string kind)
    {
        using var scope = torch.NewDisposeScope();
        using var gates = Gates(kind, 4, torch.tensor(new long[] { 0, 1, 2, 3, 3 }));
        var x = torch.randn([8, 5], generator: new Generator(4));

        var (gated, reg) = gates.forward(x);
        (gated.pow(2).sum() + reg).backward();

        var parameter = gates.parameters().Single();
        Assert.NotNull(parameter.grad);
        Assert.True((parameter.grad!.abs() > 0).all().item<bool>(), $"gradient {parameter.grad.str()}");
        Assert.False(x.requires_grad);
        Assert.Null(x.grad);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Training_OnlyTwoOfFourGroupsMatter_IrrelevantGatesCloseAndRelevantOnesStayOpen(string kind)
    {
        using var scope = torch.NewDisposeScope();
        var g = new Generator(5);
        var x = torch.randn([256, 8], generator: g);
        // Four groups of two features; the target reads groups 0 and 2 only.
        var y = (2 * x[.., 0]) - x[.., 1] + (1.5 * x[.., 4]) + x[.., 5];
        var mask = torch.tensor(new long[] { 0, 0, 1, 1, 2, 2, 3, 3 });
        using var gates = Gates(kind, 4, mask, RegReduction.Sum, seed: 6, regWeight: 0.05);
        using var head = nn.Linear(8, 1);
        var parameters = gates.parameters().Concat(head.parameters()).ToList();
        var optimizer = torch.optim.Adam(parameters, lr: 0.05);

        for (var step = 0; step < 600; step++)
        {
            using var stepScope = torch.NewDisposeScope();
            optimizer.zero_grad();
            var (gated, reg) = gates.forward(x);
            var loss = torch.nn.functional.mse_loss(head.forward(gated).squeeze(1), y) + reg;
            loss.backward();
            optimizer.step();
        }

        gates.eval();
        var values = gates.GetGateValues().data<float>().ToArray();
        Assert.True(values[1] < 0.05 && values[3] < 0.05, $"irrelevant gates {string.Join(", ", values)}");
        Assert.True(values[0] > 0.9 && values[2] > 0.9, $"relevant gates {string.Join(", ", values)}");
    }

    [Fact]
    public void Constructors_BadArguments_ThrowNamingThem()
    {
        using var scope = torch.NewDisposeScope();
        void Throws(string name, Action create) => Assert.Equal(name, Assert.ThrowsAny<ArgumentException>(create).ParamName);

        Throws("nGates", () => new GaussianStochasticGates(0));
        Throws("mask", () => new GaussianStochasticGates(3, torch.tensor(new long[] { 0, 1, 1 })));
        Throws("mask", () => new BinaryConcreteStochasticGates(2, torch.tensor(new[] { 0.0f, 1.0f })));
        Throws("mask", () => new BinaryConcreteStochasticGates(2, torch.tensor(new long[] { -1, 1 })));
        Throws("temperature", () => new BinaryConcreteStochasticGates(2, temperature: 1.0));
        Throws("lowerBound", () => new BinaryConcreteStochasticGates(2, lowerBound: 0.1));
        Throws("upperBound", () => new BinaryConcreteStochasticGates(2, upperBound: 0.9));
        Throws("eps", () => new BinaryConcreteStochasticGates(2, eps: 0.5));
        Throws("std", () => new GaussianStochasticGates(2, std: 0));
        Throws("regReduction", () => new GaussianStochasticGates(2, regReduction: (RegReduction)5));
        Throws("logAlphaParam", () => BinaryConcreteStochasticGates.FromPretrained(torch.zeros(2, 2)));
        using var gates = new GaussianStochasticGates(3);
        Throws("input", () => gates.forward(torch.ones(2, 4)));
        Throws("input", () => gates.forward(torch.ones(3)));
        using var grouped = new GaussianStochasticGates(2, torch.tensor(new long[] { 0, 1, 1 }));
        Throws("input", () => grouped.forward(torch.ones(2, 4)));
    }

    [Fact]
    public void StateDict_HoldsCaptumsNames()
    {
        using var scope = torch.NewDisposeScope();
        using var binary = new BinaryConcreteStochasticGates(2, torch.tensor(new long[] { 0, 1 }));
        using var gaussian = new GaussianStochasticGates(2);

        Assert.Equal(["log_alpha_param", "mask"], binary.state_dict().Keys.Order());
        Assert.Equal(["mu"], gaussian.state_dict().Keys);
        Assert.True(binary.LogAlphaParam.abs().max().item<float>() < 0.1f, "log alpha starts near 0");
        Assert.True((gaussian.Mu - 0.5).abs().max().item<float>() < 0.1f, "mu starts near 0.5");
    }
}
