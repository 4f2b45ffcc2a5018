using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// The body both noise tunnels share: checks the arguments, expands the wrapped method's options for every batch
/// of noisy samples through the options' capability interfaces (<see cref="ITargetOptions"/>,
/// <see cref="IBaselineOptions"/>, <see cref="IFeatureMaskOptions"/>), runs the method and combines its results
/// with <see cref="NoiseSampling"/>.
/// </summary>
internal static class NoiseTunnelEngine
{
    /// <summary>
    /// Runs <paramref name="attribute"/> on every batch of noisy samples and combines its flat list of attribution
    /// tensors; the results are in the current dispose scope.
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
        InputChecks.RequireFloatingPoint(tensors, "NoiseTunnel");
        (methodOptions as ITargetOptions)?.Target.ValidateCount(n);
        NoiseSampling.CheckSamples(options.Samples, options.SamplesBatchSize);
        var stdevs = options.Stdevs.For(tensors.Count);
        if (!Enum.IsDefined(options.NoiseType))
        {
            throw new ArgumentOutOfRangeException("NoiseType", options.NoiseType, "Unknown noise tunnel type.");
        }

        var baselineOptions = methodOptions as IBaselineOptions;
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
            var expanded = ((AttributionOptions)methodOptions) with
            {
                AdditionalForwardArgs = methodOptions.AdditionalForwardArgs is { } args ? SampleExpansion.Interleave(args, samples) : null,
                Progress = methodProgress,
            };
            if (expanded is ITargetOptions targeted)
            {
                expanded = targeted.WithTarget(targeted.Target.RepeatInterleave(samples));
            }

            if (expanded is IBaselineOptions withBaselines && !withBaselines.Baselines.IsNone)
            {
                expanded = withBaselines.WithBaselines(distribution is not null
                    ? SampleExpansion.DrawReferences(noisy, distribution, withBaselines.Baselines, random)
                    : ExpandBaselines(withBaselines.Baselines, tensors, n, samples));
            }

            if (expanded is IFeatureMaskOptions masked)
            {
                expanded = masked.WithFeatureMask(ExpandFeatureMask(masked.FeatureMask, samples));
            }

            var result = attribute(new Inputs(noisy) { IsTuple = inputs.IsTuple }, (TOptions)expanded);
            methodProgress?.EndCall();
            return result;
        }

        return NoiseSampling.Run(
            tensors, n, options.NoiseType, options.Samples, options.SamplesBatchSize, stdevs, random, Samples, options.Progress, cancellationToken);
    }

    /// <summary>
    /// <see cref="Run{TOptions}"/> over a layer method: its per-layer attributions are flattened for combining and
    /// regrouped per layer afterwards; every layer value must be batch first (one row per noisy sample).
    /// </summary>
    public static (IReadOnlyList<Tensor>[] Layers, Tensor? Delta) RunLayers<TOptions>(
        Inputs inputs,
        NoiseTunnelOptions<TOptions>? options,
        string methodName,
        Func<Inputs, TOptions, LayerAttributionResult> attribute,
        CancellationToken cancellationToken)
        where TOptions : AttributionOptions, new()
    {
        int[]? counts = null;
        var (attributions, delta) = Run(
            inputs,
            options,
            methodName,
            (noisy, expanded) =>
            {
                var result = attribute(noisy, expanded);
                counts ??= result.Layers.Select(l => l.Count).ToArray();
                var rows = noisy.Tensors[0].shape[0];
                for (var l = 0; l < result.Layers.Count; l++)
                {
                    if (result.Layers[l].FirstOrDefault(t => t.dim() == 0 || t.shape[0] != rows) is { } unbatched)
                    {
                        throw new ArgumentException(
                            $"layer {l} of {methodName} gives an attribution of shape {Shapes.Format(unbatched.shape)}, whose first dimension is not the batch of noisy samples ({rows}); the noise tunnel needs batch-first layer values.",
                            "AttributionMethod");
                    }
                }

                return (result.Layers.SelectMany(l => l).ToArray(), result.Delta);
            },
            cancellationToken);
        var layers = new IReadOnlyList<Tensor>[counts!.Length];
        var next = 0;
        for (var l = 0; l < layers.Length; l++)
        {
            layers[l] = attributions.Skip(next).Take(counts[l]).ToArray();
            next += counts[l];
        }

        return (layers, delta);
    }

    /// <summary>
    /// A feature mask with one row per example (first dimension above 1) repeated in place for every sample, as
    /// Captum's noise tunnel does; masks shared by all examples pass unchanged.
    /// </summary>
    private static FeatureMask ExpandFeatureMask(FeatureMask mask, int samples) =>
        mask.IsNone || mask.Masks!.All(m => m.dim() == 0 || m.shape[0] == 1)
            ? mask
            : mask.Masks!.Select(m => m.dim() > 0 && m.shape[0] > 1 ? SampleExpansion.RepeatInterleave(m, samples) : m).ToArray();

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
