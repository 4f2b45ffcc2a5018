using static TorchSharp.torch;

namespace Captum.Metrics;

/// <summary>Sample batching and argument checks shared by the metrics.</summary>
internal static class MetricBatches
{
    /// <summary>
    /// The number of perturbed samples per example in each batch: all of them without a limit, else as many as fit
    /// in <paramref name="maxExamplesPerBatch"/> expanded examples (at least one): Captum's
    /// <c>_divide_and_aggregate_metrics</c>.
    /// </summary>
    public static IEnumerable<int> Sizes(long examples, int samples, int? maxExamplesPerBatch)
    {
        var per = maxExamplesPerBatch is { } m ? (int)Math.Min(samples, Math.Max(1, m / examples)) : samples;
        for (var done = 0; done < samples; done += per)
        {
            yield return Math.Min(per, samples - done);
        }
    }

    /// <summary>Checks the sampling arguments.</summary>
    public static void Check(int samples, int? maxExamplesPerBatch)
    {
        if (samples < 1)
        {
            throw new ArgumentOutOfRangeException("PerturbSamples", samples, "PerturbSamples (n_perturb_samples) must be at least 1.");
        }

        if (maxExamplesPerBatch is < 1)
        {
            throw new ArgumentOutOfRangeException("MaxExamplesPerBatch", maxExamplesPerBatch, "MaxExamplesPerBatch (max_examples_per_batch) must be at least 1, or null for one batch.");
        }
    }

    /// <summary>Checks a perturbation function's output against the expanded inputs it was given.</summary>
    public static void CheckPerturbed(IReadOnlyList<Tensor>? perturbed, IReadOnlyList<Tensor> expanded, string what, string argument)
    {
        if (perturbed is null || perturbed.Count != expanded.Count)
        {
            throw new ArgumentException(
                $"{argument} returned {(perturbed is null ? "null" : perturbed.Count + " tensor(s)")} as {what}, but there are {expanded.Count} input(s).",
                argument);
        }

        for (var i = 0; i < expanded.Count; i++)
        {
            if (perturbed[i] is null || !perturbed[i].shape.SequenceEqual(expanded[i].shape))
            {
                throw new ArgumentException(
                    $"{argument} returned {what}[{i}] of shape {(perturbed[i] is null ? "null" : Shapes.Format(perturbed[i].shape))}, but the expanded input {i} it was given has shape {Shapes.Format(expanded[i].shape)}.",
                    argument);
            }
        }
    }
}
