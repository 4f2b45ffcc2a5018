using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// Gradients of the explained output for the examples <paramref name="rows"/> (indices into the batch) at
/// <paramref name="steps"/> path points each: <paramref name="scaled"/> holds, per integrated tensor, the points
/// stacked step-major ([steps * rows, ...]), each requiring grad. Returns the gradients (shaped as
/// <paramref name="scaled"/>) and the explained output at each point, summed per row, [steps * rows] (detached).
/// </summary>
internal delegate (IList<Tensor> Gradients, Tensor Outputs) SubsetPathGradient(Tensor[] scaled, int steps, long[] rows);

/// <summary>
/// Adaptive path integration: nested trapezoid refinement with Romberg extrapolation, per example, until the
/// completeness gap (the convergence delta) is within tolerance. See <see cref="AdaptiveIntegration"/>.
/// </summary>
internal static class AdaptivePathIntegral
{
    /// <summary>No example stops before this level (2^level + 1 = 5 points): two or three points can miss a bump in the middle of the path.</summary>
    internal const int MinimumLevel = 2;

    /// <summary>
    /// The path integrals of the gradients (not multiplied by input - baseline), one per integrated tensor, and the
    /// points each example used.
    /// </summary>
    /// <param name="inputs">The integrated tensors at the inputs, [n, ...] each.</param>
    /// <param name="baselines">The same at the baselines.</param>
    /// <param name="outputDifference">F(input) - F(baseline) per example, [n].</param>
    /// <param name="gradient">Gradients for a subset of examples.</param>
    /// <param name="settings">Tolerance and ceiling.</param>
    /// <param name="internalBatchSize">At most this many expanded rows per pass.</param>
    /// <param name="progress">
    /// Receives points done (summed over examples) out of the ceiling's total after every level, and the total once
    /// every example has converged.
    /// </param>
    /// <param name="cancellationToken">Checked between passes.</param>
    public static (Tensor[] Integrals, int[] Steps) Integrate(
        IReadOnlyList<Tensor> inputs,
        IReadOnlyList<Tensor> baselines,
        Tensor outputDifference,
        SubsetPathGradient gradient,
        AdaptiveIntegration settings,
        int? internalBatchSize,
        IProgress<AttributionProgress>? progress,
        CancellationToken cancellationToken)
    {
        if (!Enum.IsDefined(settings.Rule))
        {
            throw new ArgumentOutOfRangeException("Rule", settings.Rule, "Adaptive.Rule must be Romberg or GaussKronrod.");
        }

        if (settings.Rule == AdaptiveRule.GaussKronrod && settings.MaxSteps < GaussKronrodPathIntegral.FirstPoints)
        {
            throw new ArgumentOutOfRangeException("MaxSteps", settings.MaxSteps, $"Adaptive.MaxSteps must be at least {GaussKronrodPathIntegral.FirstPoints} (one Kronrod rule and the path's start) with Rule = GaussKronrod.");
        }

        if (settings.MaxSteps < 2)
        {
            throw new ArgumentOutOfRangeException("MaxSteps", settings.MaxSteps, "Adaptive.MaxSteps must be at least 2 (the path's two ends).");
        }

        if (!(settings.Tolerance >= 0))
        {
            throw new ArgumentOutOfRangeException("Tolerance", settings.Tolerance, "Adaptive.Tolerance must be 0 or more.");
        }

        if (settings.Rule == AdaptiveRule.GaussKronrod)
        {
            return GaussKronrodPathIntegral.Integrate(inputs, baselines, outputDifference, gradient, settings, internalBatchSize, progress, cancellationToken);
        }

        var n = inputs[0].shape[0];
        var maxLevel = System.Numerics.BitOperations.Log2((uint)(settings.MaxSteps - 1));
        var differences = inputs.Select((t, i) => PathIntegral.Difference(t.detach(), baselines[i].detach())).ToArray();
        var starts = inputs.Select((t, i) => baselines[i].detach().to_type(differences[i].dtype)).ToArray();
        var tolerance = settings.Relative ? outputDifference.abs() * settings.Tolerance : torch.full_like(outputDifference, settings.Tolerance);

        // Per integrated tensor: the trapezoid estimate T, the previous Romberg row, and the latest estimate, [n, ...] each.
        var trapezoid = differences.Select(d => torch.zeros_like(d)).ToArray();
        var previousRow = Enumerable.Range(0, maxLevel + 1).Select(_ => differences.Select(d => torch.zeros_like(d)).ToArray()).ToArray();
        var estimates = differences.Select(d => torch.zeros_like(d)).ToArray();
        var steps = new int[n];
        var active = Enumerable.Range(0, (int)n).Select(i => (long)i).ToArray();
        var done = 0;
        var total = (int)n * ((1 << maxLevel) + 1);

        for (var level = 0; level <= maxLevel && active.Length > 0; level++)
        {
            // Everything a level creates is freed with it; the running state above is updated in place.
            using var levelScope = torch.NewDisposeScope();
            // Level 0 samples both ends (weight 1/2 each); level m adds the midpoints (2j - 1) / 2^m with weight 2^-m.
            var alphas = level == 0
                ? new[] { 0.0, 1.0 }
                : Enumerable.Range(1, 1 << (level - 1)).Select(j => ((2.0 * j) - 1) / (1 << level)).ToArray();
            var weight = level == 0 ? 0.5 : 1.0 / (1 << level);
            var rows = torch.tensor(active, ScalarType.Int64, inputs[0].device);
            var sums = Sample(
                differences,
                starts,
                rows,
                active,
                Columns(alphas, active.Length),
                [Columns(alphas.Select(_ => weight).ToArray(), active.Length)],
                gradient,
                internalBatchSize,
                cancellationToken).Sums[0];

            var row = new Tensor[inputs.Count];
            var before = new Tensor[inputs.Count];
            for (var i = 0; i < inputs.Count; i++)
            {
                before[i] = estimates[i].index_select(0, rows);
                var t = level == 0 ? sums[i] : (trapezoid[i].index_select(0, rows) * 0.5) + sums[i];
                trapezoid[i].index_copy_(0, rows, t);

                // Romberg: R(m, 0) = T_m; R(m, k) = R(m, k-1) + (R(m, k-1) - R(m-1, k-1)) / (4^k - 1).
                var current = new Tensor[level + 1];
                current[0] = t;
                for (var k = 1; k <= level; k++)
                {
                    var lower = previousRow[k - 1][i].index_select(0, rows);
                    current[k] = current[k - 1] + ((current[k - 1] - lower) / (Math.Pow(4, k) - 1));
                }

                estimates[i].index_copy_(0, rows, current[level]);
                row[i] = current[level];
                for (var k = 0; k <= level; k++)
                {
                    previousRow[k][i].index_copy_(0, rows, current[k]);
                }
            }

            var points = (1 << level) + 1;
            foreach (var r in active)
            {
                steps[r] = points;
            }

            done += active.Length * alphas.Length;
            progress?.Report(new AttributionProgress(Math.Min(done, total), total));

            // Converged: the completeness gap is below tolerance AND the attributions stopped moving (the summed
            // change of every feature's attribution since the last level is below tolerance too, so errors of
            // opposite sign cannot hide in the sum), from MinimumLevel on.
            Tensor? attributed = null;
            Tensor? change = null;
            for (var i = 0; i < inputs.Count; i++)
            {
                var d = differences[i].index_select(0, rows);
                var rowSum = ArgumentPreparation.SumRows(row[i] * d);
                attributed = attributed is null ? rowSum : attributed + rowSum;
                if (level > 0)
                {
                    var moved = ArgumentPreparation.SumRows(((row[i] - before[i]) * d).abs());
                    change = change is null ? moved : change + moved;
                }
            }

            var limit = tolerance.index_select(0, rows);
            var gap = (attributed! - outputDifference.index_select(0, rows).to_type(attributed!.dtype)).abs();
            var open = level < MinimumLevel
                ? Enumerable.Repeat(true, active.Length).ToArray()
                : (gap >= limit).logical_or(change! >= limit).cpu().data<bool>().ToArray();
            active = active.Where((_, j) => open[j]).ToArray();
        }

        // Examples that converged early never used the rest of the ceiling: the work is done.
        if (done < total)
        {
            progress?.Report(new AttributionProgress(total, total));
        }

        return (estimates, steps);
    }

    /// <summary>
    /// Weighted sums of the gradients at per-example path points, for the active examples: <paramref name="alphas"/>
    /// is [points, examples] (column j holds example <c>active[j]</c>'s points), and each entry of
    /// <paramref name="weights"/> is a [points, examples] weight matrix giving one sum. Returns, per weight set and
    /// per tensor, [examples, ...], and the explained output at every point, [points, examples].
    /// </summary>
    internal static (Tensor[][] Sums, Tensor Outputs) Sample(
        Tensor[] differences,
        Tensor[] starts,
        Tensor rows,
        long[] active,
        double[,] alphas,
        double[][,] weights,
        SubsetPathGradient gradient,
        int? internalBatchSize,
        CancellationToken cancellationToken)
    {
        var count = active.Length;
        var points = alphas.GetLength(0);
        var perPass = PathIntegral.StepsPerChunk(points, internalBatchSize, count);
        var subsetStarts = starts.Select(s => s.index_select(0, rows).unsqueeze(0)).ToArray();
        var subsetDifferences = differences.Select(d => d.index_select(0, rows).unsqueeze(0)).ToArray();
        var sums = weights.Select(_ => subsetDifferences.Select(d => torch.zeros_like(d.squeeze(0))).ToArray()).ToArray();
        var outputs = new List<Tensor>();
        for (var start = 0; start < points; start += perPass)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var k = Math.Min(perPass, points - start);
            using var chunk = torch.NewDisposeScope();
            var scaled = new Tensor[differences.Length];
            for (var i = 0; i < differences.Length; i++)
            {
                var a = Column(alphas, start, k, subsetDifferences[i]);
                long[] flat = [k * count, .. subsetDifferences[i].shape[2..]];
                scaled[i] = torch.addcmul(subsetStarts[i], a, subsetDifferences[i], 1).reshape(flat).requires_grad_(true);
            }

            IList<Tensor> grads;
            using (torch.enable_grad())
            {
                (grads, var output) = gradient(scaled, k, active);
                outputs.Add(output.reshape(k, count).MoveToOuterDisposeScope());
            }

            for (var i = 0; i < differences.Length; i++)
            {
                var g = grads[i].to_type(sums[0][i].dtype).reshape([k, count, .. sums[0][i].shape[1..]]);
                for (var w = 0; w < weights.Length; w++)
                {
                    sums[w][i].add_((g * Column(weights[w], start, k, g)).sum(dim: 0));
                }
            }
        }

        return (sums, torch.cat(outputs, 0));
    }

    /// <summary>Rows [start, start + k) of a [points, examples] matrix as a tensor [k, examples, 1, ...] that broadcasts against <paramref name="like"/> [k or 1, examples, ...].</summary>
    private static Tensor Column(double[,] matrix, int start, int k, Tensor like)
    {
        var count = matrix.GetLength(1);
        var values = new double[k * count];
        Buffer.BlockCopy(matrix, start * count * sizeof(double), values, 0, values.Length * sizeof(double));
        var shape = new long[like.dim()];
        Array.Fill(shape, 1L);
        shape[0] = k;
        shape[1] = count;
        return torch.tensor(values, like.dtype, like.device).reshape(shape);
    }

    /// <summary>A [points, examples] matrix whose every column is <paramref name="values"/>.</summary>
    internal static double[,] Columns(IReadOnlyList<double> values, int examples)
    {
        var matrix = new double[values.Count, examples];
        for (var p = 0; p < values.Count; p++)
        {
            for (var j = 0; j < examples; j++)
            {
                matrix[p, j] = values[p];
            }
        }

        return matrix;
    }
}
