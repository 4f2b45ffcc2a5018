using Captum.Runtime;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// Noise Tunnel: runs an attribution method on noisy copies of every example and combines the samples'
/// attributions as SmoothGrad (their mean, Smilkov et al., 2017), SmoothGrad squared (the mean of their squares)
/// or VarGrad (their variance, Adebayo et al., 2018). Wraps any <see cref="IAttributionMethod{TOptions}"/>:
/// Saliency, InputXGradient, GuidedBackprop, Deconvolution, GuidedGradCam, DeepLift, DeepLiftShap, GradientShap,
/// IntegratedGradients, LRP, FeatureAblation, ShapleyValueSampling, ShapleyValues, Lime, KernelShap.
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
public sealed class NoiseTunnel<TOptions>
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

/// <summary>
/// Noise Tunnel over a layer method: runs it on noisy copies of every example (the noise is added to the model's
/// inputs) and combines the samples' layer attributions as SmoothGrad, SmoothGrad squared or VarGrad. Wraps any
/// <see cref="ILayerAttributionMethod{TOptions}"/>: LayerIntegratedGradients, LayerConductance, InternalInfluence,
/// LayerGradientXActivation, LayerGradCam, LayerDeepLift, LayerDeepLiftShap, LayerGradientShap, LayerFeatureAblation,
/// LayerLRP.
/// </summary>
/// <typeparam name="TOptions">The wrapped method's options.</typeparam>
/// <remarks>
/// Python: <c>captum.attr.NoiseTunnel(attribution_method)</c> with a layer attribution method; create one with
/// <see cref="NoiseTunnel.Create{TOptions}(ILayerAttributionMethod{TOptions})"/>. Everything else is as
/// <see cref="NoiseTunnel{TOptions}"/>: the same options, the same expansion of targets, additional arguments and
/// baselines, the same seeding, progress and deltas. The layers' values must be batch first.
/// </remarks>
public sealed class LayerNoiseTunnel<TOptions>
    where TOptions : AttributionOptions, new()
{
    private readonly ILayerAttributionMethod<TOptions> method;

    /// <summary>Wraps <paramref name="attributionMethod"/>.</summary>
    /// <param name="attributionMethod">The layer method run on the noisy samples. Python: <c>attribution_method</c>.</param>
    public LayerNoiseTunnel(ILayerAttributionMethod<TOptions> attributionMethod)
    {
        ArgumentNullException.ThrowIfNull(attributionMethod);
        TorchRuntime.EnsureAvailable();
        method = attributionMethod;
    }

    /// <summary>The wrapped method. Python: <c>attribution_method</c>.</summary>
    public ILayerAttributionMethod<TOptions> AttributionMethod => method;

    /// <summary>Whether the wrapped method has a convergence delta. Python: <c>has_convergence_delta()</c>.</summary>
    public bool HasConvergenceDelta => method.HasConvergenceDelta;

    /// <summary>Attributes with the wrapped layer method on noisy samples of every example and combines the samples.</summary>
    /// <param name="inputs">The model's inputs, batch first, floating point. They are not modified.</param>
    /// <param name="options">The noise tunnel's arguments and the wrapped method's; Captum's defaults when null.</param>
    /// <param name="cancellationToken">Checked before every batch of samples, and passed to the wrapped method.</param>
    /// <returns>
    /// Per layer, one combined attribution per tensor it produced, of its shape (and the wrapped method's deltas, per
    /// example then sample, when it returned them); the caller disposes it.
    /// </returns>
    /// <exception cref="ArgumentException">An argument does not fit; the message names it.</exception>
    public LayerAttributionResult Attribute(Inputs inputs, NoiseTunnelOptions<TOptions>? options = null, CancellationToken cancellationToken = default)
    {
        using var scope = torch.NewDisposeScope();
        int[]? counts = null;
        var (attributions, delta) = NoiseTunnelEngine.Run(
            inputs,
            options,
            method.GetType().Name,
            (noisy, expanded) =>
            {
                var result = method.Attribute(noisy, expanded, cancellationToken);
                counts ??= result.Layers.Select(l => l.Count).ToArray();
                var rows = noisy.Tensors[0].shape[0];
                for (var l = 0; l < result.Layers.Count; l++)
                {
                    if (result.Layers[l].FirstOrDefault(t => t.dim() == 0 || t.shape[0] != rows) is { } unbatched)
                    {
                        throw new ArgumentException(
                            $"layer {l} of {method.GetType().Name} gives an attribution of shape {Shapes.Format(unbatched.shape)}, whose first dimension is not the batch of noisy samples ({rows}); the noise tunnel needs batch-first layer values.",
                            nameof(AttributionMethod));
                    }
                }

                return (result.Layers.SelectMany(l => l).ToArray(), result.Delta);
            },
            cancellationToken);
        var layers = new IReadOnlyList<Tensor>[counts!.Length];
        var next = 0;
        for (var l = 0; l < layers.Length; l++)
        {
            layers[l] = attributions.Skip(next).Take(counts[l]).Select(a => a.MoveToOuterDisposeScope()).ToArray();
            next += counts[l];
        }

        return new LayerAttributionResult(layers, delta?.MoveToOuterDisposeScope());
    }
}

/// <summary>The sampling and combination both noise tunnels share.</summary>
internal static class NoiseTunnelEngine
{
    /// <summary>
    /// Checks the arguments, expands the wrapped method's options per batch of noisy samples, calls
    /// <paramref name="attribute"/> on each and combines its flat list of attribution tensors; the results are in
    /// the current dispose scope.
    /// </summary>
    public static (Tensor[] Attributions, Tensor? Delta) Run<TOptions>(
        Inputs inputs,
        NoiseTunnelOptions<TOptions>? options,
        string methodName,
        Func<Inputs, TOptions, (IReadOnlyList<Tensor> Attributions, Tensor? Delta)> attribute,
        CancellationToken cancellationToken)
        where TOptions : AttributionOptions, new()
    {
        options ??= new NoiseTunnelOptions<TOptions>();
        var methodOptions = options.MethodOptions ?? new TOptions();
        var tensors = inputs.Tensors;
        var n = ArgumentPreparation.BatchSize(tensors);
        GradientInputs.RequireFloatingPoint(tensors, "NoiseTunnel");
        methodOptions.Target.ValidateCount(n);
        NoiseSampling.CheckSamples(options.Samples, options.SamplesBatchSize);
        var stdevs = options.Stdevs.For(tensors.Count);
        if (!Enum.IsDefined(options.NoiseType))
        {
            throw new ArgumentOutOfRangeException("NoiseType", options.NoiseType, "Unknown noise tunnel type.");
        }

        var baselineOptions = methodOptions as BaselineAttributionOptions;
        if (options.DrawBaselineFromDistribution && (baselineOptions is null || baselineOptions.Baselines.IsNone))
        {
            throw new ArgumentException(
                baselineOptions is null
                    ? $"DrawBaselineFromDistribution is set, but {methodName} takes no baselines."
                    : "DrawBaselineFromDistribution is set, but MethodOptions has no baselines to draw from.",
                "DrawBaselineFromDistribution");
        }

        var distribution = options.DrawBaselineFromDistribution
            ? SampleExpansion.Distribution(tensors, baselineOptions!.Baselines, allowScalars: true, "NoiseTunnel (DrawBaselineFromDistribution)")
            : null;
        using var random = RandomDraws.Create(options.Seed, options.Generator);

        // The wrapped method runs once per batch of samples: its own progress is summed over those calls.
        var methodProgress = methodOptions.Progress is { } p
            ? new SummedProgress(p, NoiseSampling.Batches(options.Samples, options.SamplesBatchSize))
            : null;

        (IReadOnlyList<Tensor>, Tensor?) Samples(Tensor[] noisy, int samples)
        {
            AttributionOptions expanded = (AttributionOptions)methodOptions with
            {
                Target = methodOptions.Target.RepeatInterleave(samples),
                AdditionalForwardArgs = methodOptions.AdditionalForwardArgs is { } args ? SampleExpansion.Interleave(args, samples) : null,
                Progress = methodProgress,
            };
            if (baselineOptions is not null && !baselineOptions.Baselines.IsNone)
            {
                expanded = (BaselineAttributionOptions)expanded with
                {
                    Baselines = distribution is not null
                        ? GradientShap.DrawReferences(noisy, distribution, baselineOptions.Baselines, random)
                        : ExpandBaselines(baselineOptions.Baselines, tensors, n, samples),
                };
            }

            expanded = ExpandFeatureMask(expanded, samples);
            var result = attribute(new Inputs(noisy) { IsTuple = inputs.IsTuple }, (TOptions)expanded);
            methodProgress?.EndCall();
            return result;
        }

        return NoiseSampling.Run(
            tensors, n, options.NoiseType, options.Samples, options.SamplesBatchSize, stdevs, random, Samples, options.Progress, cancellationToken);
    }

    /// <summary>
    /// A perturbation method's feature mask with one row per example (first dimension above 1) repeated in place for
    /// every sample, as Captum's noise tunnel does; masks shared by all examples pass unchanged.
    /// </summary>
    private static AttributionOptions ExpandFeatureMask(AttributionOptions options, int samples)
    {
        FeatureMask Expand(FeatureMask mask) => mask.IsNone || mask.Masks!.All(m => m.dim() == 0 || m.shape[0] == 1)
            ? mask
            : mask.Masks!.Select(m => m.dim() > 0 && m.shape[0] > 1 ? SampleExpansion.RepeatInterleave(m, samples) : m).ToArray();

        return options switch
        {
            FeatureAblationOptions o => o with { FeatureMask = Expand(o.FeatureMask) },
            ShapleyValueSamplingOptions o => o with { FeatureMask = Expand(o.FeatureMask) },
            ShapleyValuesOptions o => o with { FeatureMask = Expand(o.FeatureMask) },
            LimeOptions o => o with { FeatureMask = Expand(o.FeatureMask) },
            _ => options,
        };
    }


    /// <summary>Baselines with one row per example (n &gt; 1) repeated in place for every sample; anything else unchanged.</summary>
    private static Baselines ExpandBaselines(Baselines baselines, IReadOnlyList<Tensor> inputs, long n, int samples)
    {
        var result = new BaselineValue[inputs.Count];
        for (var i = 0; i < inputs.Count; i++)
        {
            var value = baselines.For(i, inputs.Count);
            result[i] = value.Tensor is { IsInvalid: false, } t && t.dim() > 0 && t.shape[0] == n && n > 1
                ? SampleExpansion.RepeatInterleave(t.detach(), samples)
                : value;
        }

        return result;
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
