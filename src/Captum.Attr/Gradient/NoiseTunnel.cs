using Captum.Runtime;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// Noise Tunnel: runs an attribution method on noisy copies of every example and combines the samples'
/// attributions as SmoothGrad (their mean, Smilkov et al., 2017), SmoothGrad squared (the mean of their squares)
/// or VarGrad (their variance, Adebayo et al., 2018). Wraps any <see cref="IAttributionMethod{TOptions}"/>:
/// Saliency, InputXGradient, GuidedBackprop, Deconvolution, GuidedGradCam, DeepLift, DeepLiftShap, GradientShap,
/// IntegratedGradients, LRP, FeatureAblation, FeaturePermutation, Occlusion, ShapleyValueSampling, ShapleyValues, Lime,
/// KernelShap, the nine neuron methods, and a method of your own.
/// </summary>
/// <typeparam name="TOptions">The wrapped method's options.</typeparam>
/// <remarks>
/// <para>Python: <c>captum.attr.NoiseTunnel(attribution_method)</c>; create one with <see cref="NoiseTunnel.Create{TOptions}(IAttributionMethod{TOptions})"/>.</para>
/// <para>
/// Every example is repeated <c>Samples</c> times in a row (example-major) and Gaussian noise of the input's
/// <c>Stdevs</c> is added. The wrapped method's target and tensor additional arguments are expanded the same way;
/// its baselines too when they have one row per example (n &gt; 1), and so are a perturbation method's feature masks
/// with one row per example; scalars and other baselines pass unchanged; with
/// <c>DrawBaselineFromDistribution</c>, one reference per sample is drawn at random from each input's baselines. The
/// samples go to the wrapped method <c>SamplesBatchSize</c> at a time; the delta, when the method returns one, is
/// gathered per example, ordered by example then sample. Draws come from <c>Seed</c> or <c>Generator</c> when given,
/// so that runs repeat exactly. <c>Progress</c> counts the samples done per example after every batch; the wrapped
/// method's own progress is passed through, summed over its calls.
/// </para>
/// </remarks>
public sealed class NoiseTunnel<TOptions> : IAttribution
    where TOptions : AttributionOptions, new()
{
    private readonly IAttributionMethod<TOptions> method;

    /// <summary>Wraps <paramref name="attributionMethod"/>.</summary>
    /// <param name="attributionMethod">The method run on the noisy samples. Python: <c>attribution_method</c>.</param>
    public NoiseTunnel(IAttributionMethod<TOptions> attributionMethod)
    {
        ArgumentNullException.ThrowIfNull(attributionMethod);
        TorchRuntime.EnsureAvailable();
        method = attributionMethod;
    }

    /// <summary>The wrapped method. Python: <c>attribution_method</c>.</summary>
    public IAttributionMethod<TOptions> AttributionMethod => method;

    /// <summary>Whether the wrapped method has a convergence delta. Python: <c>has_convergence_delta()</c>.</summary>
    public bool HasConvergenceDelta => method.HasConvergenceDelta;

    /// <summary>Attributes with the wrapped method on noisy samples of every example and combines the samples.</summary>
    /// <param name="inputs">One tensor or several, batch first, floating point. They are not modified.</param>
    /// <param name="options">The noise tunnel's arguments and the wrapped method's; Captum's defaults when null.</param>
    /// <param name="cancellationToken">Checked before every batch of samples, and passed to the wrapped method.</param>
    /// <returns>
    /// One combined attribution per input, of its shape (and the wrapped method's deltas, per example then sample,
    /// when it returned them); the caller disposes it.
    /// </returns>
    /// <exception cref="ArgumentException">An argument does not fit; the message names it.</exception>
    public AttributionResult Attribute(Inputs inputs, NoiseTunnelOptions<TOptions>? options = null, CancellationToken cancellationToken = default)
    {
        using var scope = torch.NewDisposeScope();
        var (attributions, delta) = NoiseTunnelEngine.Run(
            inputs,
            options,
            method.GetType().Name,
            (noisy, expanded) =>
            {
                // The result's tensors live in the sampling engine's batch scope, which frees them after combining.
                var result = method.Attribute(noisy, expanded, cancellationToken);
                return (result.Attributions, result.Delta);
            },
            cancellationToken);
        return new AttributionResult(attributions.Select(a => a.MoveToOuterDisposeScope()).ToArray(), delta?.MoveToOuterDisposeScope());
    }
}

/// <summary>Creates noise tunnels with the wrapped method's options type inferred.</summary>
public static class NoiseTunnel
{
    /// <summary>Wraps <paramref name="attributionMethod"/> in a <see cref="NoiseTunnel{TOptions}"/>.</summary>
    /// <typeparam name="TOptions">The wrapped method's options.</typeparam>
    /// <param name="attributionMethod">The method run on the noisy samples.</param>
    /// <returns>The noise tunnel.</returns>
    public static NoiseTunnel<TOptions> Create<TOptions>(IAttributionMethod<TOptions> attributionMethod)
        where TOptions : AttributionOptions, new() =>
        new(attributionMethod);

    /// <summary>Wraps the layer method <paramref name="attributionMethod"/> in a <see cref="LayerNoiseTunnel{TOptions}"/>.</summary>
    /// <typeparam name="TOptions">The wrapped method's options.</typeparam>
    /// <param name="attributionMethod">The layer method run on the noisy samples.</param>
    /// <returns>The noise tunnel.</returns>
    public static LayerNoiseTunnel<TOptions> Create<TOptions>(ILayerAttributionMethod<TOptions> attributionMethod)
        where TOptions : AttributionOptions, new() =>
        new(attributionMethod);
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
    /// options' seed or generator. Beyond Captum.
    /// </summary>
    public long? Seed { get; init; }

    /// <summary>
    /// The caller's generator, to draw every random number of the noise tunnel from instead; each call advances it,
    /// so successive calls differ (a CPU generator seeded with s gives on its first call what <see cref="Seed"/> = s
    /// gives). Not together with <see cref="Seed"/>. Beyond Captum.
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
