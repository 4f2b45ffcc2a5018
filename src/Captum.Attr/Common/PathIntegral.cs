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
    /// <summary>
    /// The weighted gradient sums (not yet multiplied by input - baseline), one per tensor the gradient
    /// function returns: per integrated tensor for the gradient methods, or per layer tensor for methods that
    /// take gradients with respect to a layer on the path (Internal Influence). The gradient function returns
    /// tensors of shape [steps * n, ...] (step-major); each sum has shape [n, ...].
    /// </summary>
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
        cancellationToken.ThrowIfCancellationRequested();
        var (stepSizes, alphas) = Approximation.Parameters(method, steps);
        var stepsPerChunk = StepsPerChunk(steps, internalBatchSize, batchSize);

        // Everything that does not change between chunks is prepared once: per-chunk work is a slice of the
        // alphas, one multiply-add for the points, the passes, and one in-place matrix product per gradient.
        // The gradients may have other shapes than the inputs (InternalInfluence integrates layer gradients).
        Tensor[]? totals = null;
        Tensor[]? weightRows = null;
        var starts = new Tensor[inputs.Count];
        var differences = new Tensor[inputs.Count];
        var alphaColumns = new Tensor[inputs.Count];
        for (var i = 0; i < inputs.Count; i++)
        {
            var input = inputs[i];
            var dtype = FloatType(input);
            var shape = new long[input.dim() + 1];
            Array.Fill(shape, 1L);
            shape[0] = steps;
            starts[i] = baselines[i].detach().to_type(dtype).unsqueeze(0);
            differences[i] = Difference(input.detach(), baselines[i].detach()).unsqueeze(0);
            alphaColumns[i] = torch.tensor(alphas, dtype, input.device).reshape(shape);
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

                totals ??= new Tensor[grads.Count];
                weightRows ??= new Tensor[grads.Count];
                for (var i = 0; i < grads.Count; i++)
                {
                    // totals += w[start:start+count] @ grads, the step-weighted sum over this chunk's steps.
                    var g = grads[i];
                    if (totals[i] is null)
                    {
                        var shape = (long[])g.shape.Clone();
                        shape[0] = batchSize;
                        totals[i] = torch.zeros(shape, g.dtype, g.device).MoveToOuterDisposeScope(); // contiguous, whatever g's layout
                        weightRows[i] = torch.tensor(stepSizes, g.dtype, g.device).reshape(1, steps).MoveToOuterDisposeScope();
                    }

                    var w = weightRows[i].narrow(1, start, count);
                    totals[i].view(1, -1).addmm_(w, g.reshape(count, -1).to_type(totals[i].dtype));
                }
            }

            progress?.Report(new AttributionProgress(start + count, steps));
        }

        return totals!;
    }

    /// <summary>
    /// The points baseline + alpha * (input - baseline) for each of <paramref name="alphas"/>, stacked
    /// step-major ([alphas * n, ...]) per integrated tensor, detached and requiring grad. The differences come
    /// from <see cref="Difference"/>.
    /// </summary>
    public static Tensor[] Points(IReadOnlyList<Tensor> baselines, IReadOnlyList<Tensor> differences, ReadOnlySpan<double> alphas)
    {
        var count = alphas.Length;
        var scaled = new Tensor[differences.Count];
        for (var i = 0; i < differences.Count; i++)
        {
            var difference = differences[i];
            var shape = new long[difference.dim() + 1];
            shape[0] = count;
            Array.Fill(shape, 1L, 1, (int)difference.dim());
            var a = torch.tensor(alphas.ToArray(), difference.dtype, difference.device).reshape(shape);
            var b = baselines[i].detach().to_type(difference.dtype).unsqueeze(0);
            var flatShape = (long[])difference.shape.Clone();
            flatShape[0] = count * difference.shape[0];
            scaled[i] = torch.addcmul(b, a, difference.detach().unsqueeze(0), 1).reshape(flatShape).requires_grad_(true);
        }

        return scaled;
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
