using static TorchSharp.torch;

namespace Captum.Module;

/// <summary>
/// Stochastic gates with a Gaussian distribution (Yamada et al., "Feature Selection using Stochastic Gates"): a gate
/// is μ + ε with ε ~ N(0, std²), clamped to [0, 1]. Its L0 term is the probability that the gate is positive,
/// Φ(μ / std) = (1 + erf(μ / (std √2))) / 2.
/// </summary>
/// <remarks>
/// <para>Python: <c>captum.module.GaussianStochasticGates(n_gates, mask=None, reg_weight=1.0, std=0.5,
/// reg_reduction='sum')</c>.</para>
/// <para>
/// The learned parameter is <c>mu</c> (<c>[n_gates]</c>, Captum's state-dict name), initialised from a normal
/// distribution with mean 0.5 and standard deviation 0.01; std is fixed. In evaluation mode a gate is μ. Draws come
/// from <c>generator</c>, else from TorchSharp's default generator, so the numbers are not Python's.
/// </para>
/// </remarks>
public sealed class GaussianStochasticGates : StochasticGatesBase
{
    private readonly Generator? generator;

    /// <summary>Creates <paramref name="nGates"/> gates.</summary>
    /// <param name="nGates">The number of gates. Python: <c>n_gates</c>.</param>
    /// <param name="mask">Gate ids per input element, broadcastable to the input; null gates every element separately. Python: <c>mask</c>.</param>
    /// <param name="regWeight">The weight of the L0 term; 1 by default. Python: <c>reg_weight</c>.</param>
    /// <param name="std">The noise's standard deviation, positive and fixed; 0.5 by default. Python: <c>std</c>.</param>
    /// <param name="regReduction">How the L0 terms are reduced; <see cref="RegReduction.Sum"/> by default. Python: <c>reg_reduction</c>.</param>
    /// <param name="generator">The source of the initial values and the training-mode noise; TorchSharp's default generator when null. The caller's; it is not disposed.</param>
    /// <exception cref="ArgumentException">An argument is out of its range; the message names it.</exception>
    public GaussianStochasticGates(
        int nGates,
        Tensor? mask = null,
        double regWeight = 1.0,
        double std = 0.5,
        RegReduction regReduction = RegReduction.Sum,
        Generator? generator = null)
        : base(nameof(GaussianStochasticGates), nGates, mask, regWeight, regReduction)
    {
        if (!(std > 0) || !double.IsFinite(std))
        {
            throw new ArgumentOutOfRangeException(nameof(std), std, "std must be a finite number above 0.");
        }

        Std = std;
        this.generator = generator;
        using (torch.NewDisposeScope())
        {
            register_parameter("mu", NewParameter((torch.randn([nGates], generator: generator) * 0.01) + 0.5));
        }
    }

    /// <summary>The noise's standard deviation. Python: <c>std</c>.</summary>
    public double Std { get; }

    /// <summary>The learned mean of every gate, <c>[NGates]</c>; the module's parameter (do not dispose it). Python: <c>mu</c>.</summary>
    public Tensor Mu => get_parameter("mu")!;

    /// <summary>
    /// Gates whose means are <paramref name="mu"/> (trained elsewhere): one gate per element, copied. The other
    /// arguments as the constructor's.
    /// </summary>
    /// <remarks>Python: the private <c>GaussianStochasticGates._from_pretrained(mu, ...)</c>.</remarks>
    /// <exception cref="ArgumentException"><paramref name="mu"/> is empty, or another argument does not fit.</exception>
    public static GaussianStochasticGates FromPretrained(
        Tensor mu,
        Tensor? mask = null,
        double regWeight = 1.0,
        double std = 0.5,
        RegReduction regReduction = RegReduction.Sum,
        Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(mu);
        if (mu.numel() == 0)
        {
            throw new ArgumentException("mu is empty; give one mean per gate.", nameof(mu));
        }

        var gates = new GaussianStochasticGates((int)mu.numel(), mask, regWeight, std, regReduction, generator);
        using (torch.no_grad())
        {
            gates.Mu.copy_(mu.reshape(-1));
        }

        return gates;
    }

    /// <inheritdoc />
    protected override Tensor SampleGateValues(long batchSize)
    {
        var mu = Mu;
        if (training)
        {
            var noise = torch.empty([batchSize, NGates], mu.dtype, mu.device).normal_(0, Std, generator);
            return mu + noise;
        }

        return mu.expand(batchSize, NGates);
    }

    /// <inheritdoc />
    protected override Tensor RawGateValues() => Mu;

    /// <inheritdoc />
    protected override Tensor ActiveProbs() => 0.5 * (1 + torch.erf(Mu / Std / Math.Sqrt(2)));
}
