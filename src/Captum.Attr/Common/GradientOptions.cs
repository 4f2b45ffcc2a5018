using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>The arguments of <see cref="Saliency.Attribute"/>, with Captum's defaults.</summary>
/// <remarks>Python: the keyword arguments of <c>Saliency.attribute</c>.</remarks>
public sealed record SaliencyOptions : AttributionOptions
{
    /// <summary>Return the absolute value of the gradients (true by default). Python: <c>abs</c>.</summary>
    public bool Abs { get; init; } = true;
}

/// <summary>The arguments of <see cref="InputXGradient.Attribute"/>.</summary>
/// <remarks>Python: the keyword arguments of <c>InputXGradient.attribute</c>.</remarks>
public sealed record InputXGradientOptions : AttributionOptions;

/// <summary>The arguments of <see cref="GuidedBackprop.Attribute"/>.</summary>
/// <remarks>Python: the keyword arguments of <c>GuidedBackprop.attribute</c>.</remarks>
public sealed record GuidedBackpropOptions : AttributionOptions;

/// <summary>The arguments of <see cref="Deconvolution.Attribute"/>.</summary>
/// <remarks>Python: the keyword arguments of <c>Deconvolution.attribute</c>.</remarks>
public sealed record DeconvolutionOptions : AttributionOptions;

/// <summary>
/// Computes final attributions from DeepLift's multipliers, the inputs and the baselines (one tensor of each
/// per input, or per layer tensor for layer methods), returning one attribution per input.
/// </summary>
/// <remarks>Python: <c>custom_attribution_func(multipliers, inputs, baselines)</c>.</remarks>
public delegate IReadOnlyList<Tensor> CustomAttributionFunc(IReadOnlyList<Tensor> multipliers, IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor> baselines);

/// <summary>The arguments of <see cref="DeepLift.Attribute"/>, with Captum's defaults.</summary>
/// <remarks>
/// Python: the keyword arguments of <c>DeepLift.attribute</c>. <c>Baselines</c>: none for zeros, a scalar, a
/// tensor of the input's shape or with one row for the whole batch, or one of those per input.
/// </remarks>
public record DeepLiftOptions : BaselineAttributionOptions
{
    /// <summary>
    /// Also compute the convergence delta per example: the sum of the attributions minus
    /// (F(input) - F(baseline)). Python: <c>return_convergence_delta</c>.
    /// </summary>
    public bool ReturnConvergenceDelta { get; init; }

    /// <summary>
    /// Replaces multipliers * (input - baseline) by a function of the multipliers, inputs and baselines; the
    /// convergence delta then holds only as far as that function preserves it. Python: <c>custom_attribution_func</c>.
    /// </summary>
    public CustomAttributionFunc? CustomAttributionFunc { get; init; }
}

/// <summary>The arguments of <see cref="LayerDeepLift.Attribute"/>.</summary>
/// <remarks>Python: the keyword arguments of <c>LayerDeepLift.attribute</c>. The baselines are in input space.</remarks>
public sealed record LayerDeepLiftOptions : DeepLiftOptions
{
    /// <summary>Attribute to the layer's inputs instead of its outputs. Python: <c>attribute_to_layer_input</c>.</summary>
    public bool AttributeToLayerInput { get; init; }
}

/// <summary>The arguments of <see cref="DeepLiftShap.Attribute"/>.</summary>
/// <remarks>
/// Python: the keyword arguments of <c>DeepLiftShap.attribute</c>. <c>Baselines</c> is a distribution: per input
/// a tensor of more than one reference example, shaped like the input after the first dimension, with the
/// same number of examples for every input.
/// </remarks>
public sealed record DeepLiftShapOptions : BaselineAttributionOptions
{
    /// <summary>
    /// Also compute the convergence delta, one per pair of example and reference (ordered by example, then
    /// reference: [n * references]). Python: <c>return_convergence_delta</c>.
    /// </summary>
    public bool ReturnConvergenceDelta { get; init; }

    /// <summary>As <see cref="DeepLiftOptions.CustomAttributionFunc"/>, applied per pair before averaging. Python: <c>custom_attribution_func</c>.</summary>
    public CustomAttributionFunc? CustomAttributionFunc { get; init; }
}

/// <summary>The arguments of <see cref="GradientShap.Attribute"/>, with Captum's defaults.</summary>
/// <remarks>
/// Python: the keyword arguments of <c>GradientShap.attribute</c>. <c>Baselines</c> is required and is a
/// distribution: per input a tensor of reference examples shaped like the input after the first dimension
/// (any number of them), or a scalar.
/// </remarks>
public record GradientShapOptions : BaselineAttributionOptions
{
    /// <summary>Random samples per example (5 by default). Python: <c>n_samples</c>.</summary>
    public int Samples { get; init; } = 5;

    /// <summary>
    /// Standard deviation of the Gaussian noise added to the inputs of every sample, one for all inputs or one
    /// per input (0 by default: no noise). Python: <c>stdevs</c>.
    /// </summary>
    public NoiseStdevs Stdevs { get; init; } = 0.0;

    /// <summary>
    /// Also compute the convergence delta of every sample, [n * Samples] ordered by example then sample.
    /// Python: <c>return_convergence_delta</c>.
    /// </summary>
    public bool ReturnConvergenceDelta { get; init; }

    /// <summary>
    /// Seeds a private CPU generator for every random draw of the call (the noise, the references and the
    /// interpolation points): the same seed gives the same result on every call and device. With neither this nor
    /// <see cref="Generator"/>, draws come from TorchSharp's default generator (repeatable after
    /// <c>torch.manual_seed</c>, as Captum's are after PyTorch's and NumPy's seeds). Giving both throws an
    /// <see cref="ArgumentException"/>.
    /// </summary>
    public long? Seed { get; init; }

    /// <summary>
    /// The caller's generator, to draw every random number of the call from instead; each call advances it, so
    /// successive calls differ (a CPU generator seeded with s gives on its first call what <see cref="Seed"/> = s
    /// gives). Not together with <see cref="Seed"/>.
    /// </summary>
    public Generator? Generator { get; init; }
}

/// <summary>The arguments of <see cref="LayerGradientShap.Attribute"/>.</summary>
/// <remarks>Python: the keyword arguments of <c>LayerGradientShap.attribute</c>. The baselines are in input space.</remarks>
public sealed record LayerGradientShapOptions : GradientShapOptions
{
    /// <summary>Attribute to the layer's inputs instead of its outputs. Python: <c>attribute_to_layer_input</c>.</summary>
    public bool AttributeToLayerInput { get; init; }
}

/// <summary>How <see cref="NoiseTunnel{TOptions}"/> combines the attributions of the noisy samples.</summary>
/// <remarks>Python: <c>nt_type</c>: "smoothgrad", "smoothgrad_sq", "vargrad".</remarks>
public enum NoiseTunnelType
{
    /// <summary>The mean of the samples' attributions (Captum's default).</summary>
    SmoothGrad,

    /// <summary>The mean of the squared attributions.</summary>
    SmoothGradSq,

    /// <summary>The variance of the attributions: mean of squares minus square of the mean.</summary>
    VarGrad,
}

/// <summary>The arguments of <see cref="NoiseTunnel{TOptions}.Attribute"/>, with Captum's defaults.</summary>
/// <typeparam name="TOptions">The wrapped method's options.</typeparam>
/// <remarks>Python: the keyword arguments of <c>NoiseTunnel.attribute</c>; the wrapped method's own are <see cref="MethodOptions"/>.</remarks>
public sealed record NoiseTunnelOptions<TOptions>
    where TOptions : AttributionOptions
{
    /// <summary>How the samples are combined (SmoothGrad by default). Python: <c>nt_type</c>.</summary>
    public NoiseTunnelType NoiseType { get; init; } = NoiseTunnelType.SmoothGrad;

    /// <summary>Noisy samples per example (5 by default). Python: <c>nt_samples</c>.</summary>
    public int Samples { get; init; } = 5;

    /// <summary>
    /// At most this many samples per example go to the wrapped method in one call; null sends them all at
    /// once. It changes only memory use and the order of the random draws. Python: <c>nt_samples_batch_size</c>.
    /// </summary>
    public int? SamplesBatchSize { get; init; }

    /// <summary>
    /// Standard deviation of the Gaussian noise, one for all inputs or one per input (1.0 by default).
    /// Python: <c>stdevs</c>.
    /// </summary>
    public NoiseStdevs Stdevs { get; init; } = 1.0;

    /// <summary>
    /// Treat the wrapped method's baselines as a distribution and draw one reference example at random for every
    /// sample (independently per input, as Captum does). Python: <c>draw_baseline_from_distrib</c>.
    /// </summary>
    public bool DrawBaselineFromDistribution { get; init; }

    /// <summary>
    /// Seeds a private CPU generator for every random draw of the noise tunnel (the noise and the baseline draws):
    /// the same seed gives the same result on every call and device. With neither this nor <see cref="Generator"/>,
    /// draws come from TorchSharp's default generator (repeatable after <c>torch.manual_seed</c>). Giving both
    /// throws an <see cref="ArgumentException"/>. A random wrapped method (GradientShap) draws from its own
    /// options' seed or generator.
    /// </summary>
    public long? Seed { get; init; }

    /// <summary>
    /// The caller's generator, to draw every random number of the noise tunnel from instead; each call advances it,
    /// so successive calls differ (a CPU generator seeded with s gives on its first call what <see cref="Seed"/> = s
    /// gives). Not together with <see cref="Seed"/>.
    /// </summary>
    public Generator? Generator { get; init; }

    /// <summary>
    /// Receives the samples done per example, as (done, <see cref="Samples"/>), after every batch of
    /// <see cref="SamplesBatchSize"/> samples (once, at the end, when they go in one batch). The cancellation token
    /// is checked before every batch and passed to the wrapped method.
    /// </summary>
    /// <remarks>
    /// The wrapped method's own <c>Progress</c> (in <see cref="MethodOptions"/>) is passed through, summed over the
    /// method's calls (one per batch): the report (c, t) of call k of B (counting from 0) becomes
    /// (s + c, s + t (B - k)), s being the totals of the calls before. So it never decreases and ends at B t, the
    /// work of every call (for example B * Steps integration steps for IntegratedGradients). Beyond Captum.
    /// </remarks>
    public IProgress<AttributionProgress>? Progress { get; init; }

    /// <summary>
    /// The wrapped method's own arguments (target, baselines, additional forward arguments and the rest); its
    /// defaults when null. Python: the remaining keyword arguments (<c>**kwargs</c>).
    /// </summary>
    public TOptions? MethodOptions { get; init; }
}

/// <summary>
/// Standard deviations of the noise added to the inputs: one value for all inputs, or one per input.
/// Converts implicitly from a <c>double</c> or a <c>double[]</c>.
/// </summary>
/// <remarks>Python: <c>stdevs</c> (a float or a tuple of floats).</remarks>
public readonly struct NoiseStdevs
{
    private readonly double value;
    private readonly double[]? perInput;

    private NoiseStdevs(double value, double[]? perInput)
    {
        this.value = value;
        this.perInput = perInput;
    }

    /// <summary>The per-input values, when given per input.</summary>
    public IReadOnlyList<double>? PerInput => perInput;

    /// <summary>The value for all inputs, when given as one.</summary>
    public double? Value => perInput is null ? value : null;

    /// <summary>One standard deviation for every input.</summary>
    public static implicit operator NoiseStdevs(double value) => new(value, null);

    /// <summary>One standard deviation per input.</summary>
    public static implicit operator NoiseStdevs(double[] perInput) =>
        new(0, (perInput ?? throw new ArgumentNullException(nameof(perInput))).ToArray());

    /// <summary>One standard deviation per input.</summary>
    public static NoiseStdevs Of(params double[] perInput) => perInput;

    /// <summary>The standard deviation of each of <paramref name="count"/> inputs.</summary>
    /// <exception cref="ArgumentException">The count differs from the inputs', or a value is negative or not finite.</exception>
    internal double[] For(int count)
    {
        if (perInput is not null && perInput.Length != count)
        {
            throw new ArgumentException(
                $"Stdevs has {perInput.Length} values but there are {count} inputs: give one for all, or exactly one per input.",
                "Stdevs");
        }

        var result = perInput ?? Enumerable.Repeat(value, count).ToArray();
        foreach (var s in result)
        {
            if (!double.IsFinite(s) || s < 0)
            {
                throw new ArgumentException($"Stdevs must be finite and non-negative, got {s}.", "Stdevs");
            }
        }

        return result;
    }

    /// <inheritdoc />
    public override string ToString() => perInput is null
        ? value.ToString(System.Globalization.CultureInfo.InvariantCulture)
        : "(" + string.Join(", ", perInput.Select(v => v.ToString(System.Globalization.CultureInfo.InvariantCulture))) + ")";
}
