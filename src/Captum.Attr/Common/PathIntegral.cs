using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// Computes the gradients of the explained output at a batch of points on the straight paths from the
/// baselines to the inputs. <paramref name="scaled"/> holds, per integrated tensor, the points of
/// <paramref name="steps"/> consecutive steps stacked step-major ([steps * n, ...]), each requiring grad.
/// </summary>
internal delegate IList<Tensor> PathGradient(Tensor[] scaled, int steps);

/// <summary>
/// The path-integral engine shared by Integrated Gradients and Layer Integrated Gradients:
/// sum over steps k of w_k * dF/dx at baseline + alpha_k * (input - baseline), in chunks of steps,
/// freeing each chunk's intermediates before the next.
/// </summary>
internal static class PathIntegral
{
    /// <summary>The weighted gradient sums (not yet multiplied by input - baseline), one per integrated tensor.</summary>
    public static Tensor[] Integrate(
        IReadOnlyList<Tensor> inputs,
        IReadOnlyList<Tensor> baselines,
        long batchSize,
        PathGradient gradient,
        int steps,
        IntegrationMethod method,
        int? internalBatchSize,
        IProgress<AttributionProgress>? progress,
        CancellationToken cancellationToken)
    {
        var (stepSizes, alphas) = Approximation.Parameters(method, steps);
        var stepsPerChunk = StepsPerChunk(steps, internalBatchSize, batchSize);

        // Everything that does not change between chunks is prepared once: per-chunk work is a slice of the
        // alphas, one multiply-add for the points, the passes, and one in-place matrix product per input.
        var totals = new Tensor[inputs.Count];
        var starts = new Tensor[inputs.Count];
        var differences = new Tensor[inputs.Count];
        var alphaColumns = new Tensor[inputs.Count];
        var weightRows = new Tensor[inputs.Count];
        for (var i = 0; i < inputs.Count; i++)
        {
            var input = inputs[i];
            var dtype = FloatType(input);
            var shape = new long[input.dim() + 1];
            Array.Fill(shape, 1L);
            shape[0] = steps;
            totals[i] = torch.zeros(input.shape, dtype, input.device); // contiguous, whatever the input's layout
            starts[i] = baselines[i].detach().to_type(dtype).unsqueeze(0);
            differences[i] = Difference(input.detach(), baselines[i].detach()).unsqueeze(0);
            alphaColumns[i] = torch.tensor(alphas, dtype, input.device).reshape(shape);
            weightRows[i] = torch.tensor(stepSizes, dtype, input.device).reshape(1, steps);
        }

        for (var start = 0; start < steps; start += stepsPerChunk)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var count = Math.Min(stepsPerChunk, steps - start);
            using (var chunk = torch.NewDisposeScope())
            {
                var scaled = new Tensor[inputs.Count];
                for (var i = 0; i < inputs.Count; i++)
                {
                    var input = inputs[i];
                    var flatShape = (long[])input.shape.Clone();
                    flatShape[0] = count * input.shape[0];
                    var a = alphaColumns[i].narrow(0, start, count);
                    scaled[i] = torch.addcmul(starts[i], a, differences[i], 1).reshape(flatShape).requires_grad_(true);
                }

                IList<Tensor> grads;
                using (torch.enable_grad())
                {
                    grads = gradient(scaled, count);
                }

                for (var i = 0; i < inputs.Count; i++)
                {
                    // totals += w[start:start+count] @ grads, the step-weighted sum over this chunk's steps.
                    var w = weightRows[i].narrow(1, start, count);
                    totals[i].view(1, -1).addmm_(w, grads[i].reshape(count, -1).to_type(totals[i].dtype));
                }
            }

            progress?.Report(new AttributionProgress(start + count, steps));
        }

        return totals;
    }

    /// <summary>
    /// Steps per forward and backward pass: all of them without an internal batch size, else as many whole
    /// batches as fit (at least one).
    /// </summary>
    public static int StepsPerChunk(int steps, int? internalBatchSize, long batchSize) =>
        internalBatchSize is { } ibs ? (int)Math.Clamp(ibs / batchSize, 1, steps) : steps;

    /// <summary>The distinct chunk sizes a call uses (the full chunk and the remainder).</summary>
    public static IEnumerable<int> ChunkSizes(int steps, int? internalBatchSize, long batchSize)
    {
        var per = StepsPerChunk(steps, internalBatchSize, batchSize);
        yield return per;
        if (steps % per != 0)
        {
            yield return steps % per;
        }
    }

    /// <summary>(input - baseline) in the floating type the integral uses.</summary>
    public static Tensor Difference(Tensor input, Tensor baseline) =>
        input.to_type(FloatType(input)) - baseline.to_type(FloatType(input));

    private static ScalarType FloatType(Tensor t) => t.is_floating_point() ? t.dtype : ScalarType.Float32;
}
