using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// Attributes one batch of noisy samples: <paramref name="noisyInputs"/> hold <paramref name="samples"/>
/// samples of every example, example-major ([n * samples, ...]). Returns attribution tensors of that batch
/// size (per input, or per layer tensor) and optionally a delta with n * samples * (any count) entries, also
/// example-major; all in the current dispose scope.
/// </summary>
internal delegate (IReadOnlyList<Tensor> Attributions, Tensor? Delta) SampleAttribution(Tensor[] noisyInputs, int samples);

/// <summary>
/// The engine of NoiseTunnel, GradientShap and LayerGradientShap: adds Gaussian noise to every input for every
/// sample, attributes the samples in batches, and combines them per example as the mean (SmoothGrad), the mean
/// of squares (SmoothGrad squared) or the variance (VarGrad), freeing each batch's intermediates before the
/// next, checking for cancellation before every batch and reporting the samples done after every batch.
/// </summary>
internal static class NoiseSampling
{
    /// <summary>Checks the sample count and batch size (Python: <c>nt_samples</c>, <c>nt_samples_batch_size</c>, or <c>n_samples</c>).</summary>
    public static void CheckSamples(int samples, int? samplesBatchSize)
    {
        if (samples < 1)
        {
            throw new ArgumentOutOfRangeException("Samples", samples, "Samples must be at least 1.");
        }

        if (samplesBatchSize is < 1)
        {
            throw new ArgumentOutOfRangeException("SamplesBatchSize", samplesBatchSize, "SamplesBatchSize must be at least 1, or null for one batch.");
        }
    }

    /// <summary>
    /// The number of batches <paramref name="samples"/> samples take, <paramref name="samplesBatchSize"/> at a time
    /// (all in one when null).
    /// </summary>
    public static int Batches(int samples, int? samplesBatchSize)
    {
        var perBatch = Math.Min(samples, samplesBatchSize ?? samples);
        return (samples + perBatch - 1) / perBatch;
    }

    /// <summary>
    /// Runs the samples and combines them; the results are in the current dispose scope. <paramref name="progress"/>
    /// receives (samples done per example, samples) after every batch.
    /// </summary>
    public static (Tensor[] Attributions, Tensor? Delta) Run(
        IReadOnlyList<Tensor> inputs,
        long batchSize,
        NoiseTunnelType type,
        int samples,
        int? samplesBatchSize,
        double[] stdevs,
        RandomDraws random,
        SampleAttribution attribute,
        IProgress<AttributionProgress>? progress,
        CancellationToken cancellationToken)
    {
        CheckSamples(samples, samplesBatchSize);
        var perBatch = Math.Min(samples, samplesBatchSize ?? samples);
        Tensor[]? sums = null;
        Tensor[]? squares = null;
        var deltas = new List<Tensor>();
        for (var done = 0; done < samples;)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var count = Math.Min(perBatch, samples - done);
            using (var batch = torch.NewDisposeScope())
            {
                var noisy = inputs.Select((x, i) => AddNoise(x, stdevs[i], count, random)).ToArray();
                var (attributions, delta) = attribute(noisy, count);
                if (sums is null)
                {
                    sums = attributions.Select(a => torch.zeros([batchSize, .. a.shape.Skip(1)], a.dtype, a.device).MoveToOuterDisposeScope()).ToArray();
                    squares = sums.Select(s => torch.zeros_like(s).MoveToOuterDisposeScope()).ToArray();
                }

                if (attributions.Count != sums.Length)
                {
                    throw new InvalidOperationException($"The wrapped method returned {attributions.Count} attribution tensors, then {sums.Length}.");
                }

                for (var j = 0; j < sums.Length; j++)
                {
                    var a = attributions[j];
                    if (a.dim() == 0 || a.shape[0] != batchSize * count)
                    {
                        throw new InvalidOperationException(
                            $"Attribution {j} of the noisy batch has shape {Shapes.Format(a.shape)}; its first dimension should be {batchSize * count} (examples x samples).");
                    }

                    var grouped = a.reshape([batchSize, count, .. a.shape.Skip(1)]);
                    sums[j].add_(grouped.sum(1));
                    squares![j].add_(grouped.square().sum(1));
                }

                if (delta is not null)
                {
                    deltas.Add(delta.reshape(batchSize, -1).MoveToOuterDisposeScope());
                }
            }

            done += count;
            progress?.Report(new AttributionProgress(done, samples));
        }

        var mean = sums!.Select(s => s / samples).ToArray();
        var meanSquares = squares!.Select(s => s / samples).ToArray();
        var result = type switch
        {
            NoiseTunnelType.SmoothGrad => mean,
            NoiseTunnelType.SmoothGradSq => meanSquares,
            NoiseTunnelType.VarGrad => meanSquares.Select((sq, j) => sq - (mean[j] * mean[j])).ToArray(),
            _ => throw new ArgumentOutOfRangeException("NoiseType", type, "Unknown noise tunnel type."),
        };

        // Example-major: every example's deltas in a row, whatever the batching.
        var combinedDelta = deltas.Count == 0 ? null : torch.cat(deltas, 1).reshape(-1);
        return (result, combinedDelta);
    }

    /// <summary>Every example repeated <paramref name="samples"/> times in a row, plus noise (none for a zero deviation).</summary>
    private static Tensor AddNoise(Tensor input, double stdev, int samples, RandomDraws random)
    {
        var repeated = SampleExpansion.RepeatInterleave(input.detach(), samples);
        return stdev == 0 ? repeated : repeated + random.Normal(repeated.shape, stdev, repeated.dtype, repeated.device);
    }
}
