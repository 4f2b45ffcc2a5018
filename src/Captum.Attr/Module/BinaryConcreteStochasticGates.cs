using static TorchSharp.torch;

namespace Captum.Module;

/// <summary>
/// Stochastic gates with a stretched binary concrete distribution (Louizos et al., "Learning Sparse Neural Networks
/// through L0 Regularization"): a gate is s = sigmoid((logit(u) + log α) / temperature) for u uniform in (0, 1),
/// stretched linearly to (<c>lowerBound</c>, <c>upperBound</c>) beyond [0, 1] and clamped back, so that it is exactly 0
/// or 1 with positive probability. Its L0 term is the probability that the gate is non-zero,
/// sigmoid(log α - temperature · ln(-lowerBound / upperBound)).
/// </summary>
/// <remarks>
/// <para>Python: <c>captum.module.BinaryConcreteStochasticGates(n_gates, mask=None, reg_weight=1.0,
/// temperature=2/3, lower_bound=-0.1, upper_bound=1.1, eps=1e-8, reg_reduction='sum')</c>.</para>
/// <para>
/// The learned parameter is <c>log_alpha_param</c> (<c>[n_gates]</c>, Captum's state-dict name), initialised from a
/// normal distribution with mean 0 and standard deviation 0.01, so every gate starts near 0.5. In evaluation mode a
/// gate is the stretched sigmoid(log α), the distribution's mean as Captum takes it. Draws (the initial values and the
/// training-mode noise) come from <c>generator</c>, else from TorchSharp's default generator (Captum draws from
/// PyTorch's global one), so the numbers are not Python's.
/// </para>
/// </remarks>
public sealed class BinaryConcreteStochasticGates : StochasticGatesBase
{
    private readonly Generator? generator;
    private readonly double activeProbOffset;

    /// <summary>Creates <paramref name="nGates"/> gates.</summary>
    /// <param name="nGates">The number of gates. Python: <c>n_gates</c>.</param>
    /// <param name="mask">Gate ids per input element, broadcastable to the input; null gates every element separately. Python: <c>mask</c>.</param>
    /// <param name="regWeight">The weight of the L0 term; 1 by default. Python: <c>reg_weight</c>.</param>
    /// <param name="temperature">The concrete distribution's temperature, strictly between 0 and 1 (0 would be the Bernoulli itself); 2/3 by default. Python: <c>temperature</c>.</param>
    /// <param name="lowerBound">Where the distribution is stretched down to, below 0; -0.1 by default. Python: <c>lower_bound</c>.</param>
    /// <param name="upperBound">Where it is stretched up to, above 1; 1.1 by default. Python: <c>upper_bound</c>.</param>
    /// <param name="eps">Keeps the uniform draws within [eps, 1 - eps] for a finite logit, in [0, 0.5); 1e-8 by default. Python: <c>eps</c>.</param>
    /// <param name="regReduction">How the L0 terms are reduced; <see cref="RegReduction.Sum"/> by default. Python: <c>reg_reduction</c>.</param>
    /// <param name="generator">The source of the initial values and the training-mode draws; TorchSharp's default generator when null. The caller's; it is not disposed.</param>
    /// <exception cref="ArgumentException">An argument is out of its range; the message names it.</exception>
    public BinaryConcreteStochasticGates(
        int nGates,
        Tensor? mask = null,
        double regWeight = 1.0,
        double temperature = 2.0 / 3,
        double lowerBound = -0.1,
        double upperBound = 1.1,
        double eps = 1e-8,
        RegReduction regReduction = RegReduction.Sum,
        Generator? generator = null)
        : base(nameof(BinaryConcreteStochasticGates), nGates, mask, regWeight, regReduction)
    {
        if (!(temperature > 0 && temperature < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "temperature must be strictly between 0 and 1.");
        }

        if (!(lowerBound < 0) || !double.IsFinite(lowerBound))
        {
            throw new ArgumentOutOfRangeException(nameof(lowerBound), lowerBound, "lowerBound (lower_bound) must be a finite number below 0.");
        }

        if (!(upperBound > 1) || !double.IsFinite(upperBound))
        {
            throw new ArgumentOutOfRangeException(nameof(upperBound), upperBound, "upperBound (upper_bound) must be a finite number above 1.");
        }

        if (!(eps >= 0 && eps < 0.5))
        {
            throw new ArgumentOutOfRangeException(nameof(eps), eps, "eps must be at least 0 and below 0.5.");
        }

        Temperature = temperature;
        LowerBound = lowerBound;
        UpperBound = upperBound;
        Eps = eps;
        this.generator = generator;
        activeProbOffset = temperature * Math.Log(-lowerBound / upperBound);
        using (torch.NewDisposeScope())
        {
            register_parameter("log_alpha_param", NewParameter(torch.randn([nGates], generator: generator) * 0.01));
        }
    }

    /// <summary>The concrete distribution's temperature. Python: <c>temperature</c>.</summary>
    public double Temperature { get; }

    /// <summary>The stretch's lower bound. Python: <c>lower_bound</c>.</summary>
    public double LowerBound { get; }

    /// <summary>The stretch's upper bound. Python: <c>upper_bound</c>.</summary>
    public double UpperBound { get; }

    /// <summary>The margin of the uniform draws. Python: <c>eps</c>.</summary>
    public double Eps { get; }

    /// <summary>The learned log α of every gate, <c>[NGates]</c>; the module's parameter (do not dispose it). Python: <c>log_alpha_param</c>.</summary>
    public Tensor LogAlphaParam => get_parameter("log_alpha_param")!;

    /// <summary>
    /// Gates whose log α are <paramref name="logAlphaParam"/> (trained elsewhere): one gate per element of the
    /// one-dimensional tensor, which is copied. The other arguments as the constructor's.
    /// </summary>
    /// <remarks>Python: the private <c>BinaryConcreteStochasticGates._from_pretrained(log_alpha_param, ...)</c>.</remarks>
    /// <exception cref="ArgumentException"><paramref name="logAlphaParam"/> is not one-dimensional, or another argument does not fit.</exception>
    public static BinaryConcreteStochasticGates FromPretrained(
        Tensor logAlphaParam,
        Tensor? mask = null,
        double regWeight = 1.0,
        double temperature = 2.0 / 3,
        double lowerBound = -0.1,
        double upperBound = 1.1,
        double eps = 1e-8,
        RegReduction regReduction = RegReduction.Sum,
        Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(logAlphaParam);
        if (logAlphaParam.dim() != 1 || logAlphaParam.numel() == 0)
        {
            throw new ArgumentException($"logAlphaParam has shape {Shapes.Format(logAlphaParam.shape)}; it must be one-dimensional, one value per gate.", nameof(logAlphaParam));
        }

        var gates = new BinaryConcreteStochasticGates((int)logAlphaParam.numel(), mask, regWeight, temperature, lowerBound, upperBound, eps, regReduction, generator);
        using (torch.no_grad())
        {
            gates.LogAlphaParam.copy_(logAlphaParam);
        }

        return gates;
    }

    /// <inheritdoc />
    protected override Tensor SampleGateValues(long batchSize)
    {
        var logAlpha = LogAlphaParam;
        Tensor s;
        if (training)
        {
            var u = torch.empty([batchSize, NGates], logAlpha.dtype, logAlpha.device).uniform_(Eps, 1 - Eps, generator);
            s = torch.sigmoid((torch.logit(u) + logAlpha) / Temperature);
        }
        else
        {
            s = torch.sigmoid(logAlpha).expand(batchSize, NGates);
        }

        return (s * (UpperBound - LowerBound)) + LowerBound;
    }

    /// <inheritdoc />
    protected override Tensor RawGateValues() => (torch.sigmoid(LogAlphaParam) * (UpperBound - LowerBound)) + LowerBound;

    /// <inheritdoc />
    protected override Tensor ActiveProbs() => torch.sigmoid(LogAlphaParam - activeProbOffset);
}
