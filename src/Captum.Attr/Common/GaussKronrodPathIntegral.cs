using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// Globally adaptive Gauss-Kronrod subdivision of each example's path interval [0, 1] (the idea of QUADPACK's QAG,
/// written here for batched tensor integrands; no served .NET library integrates per-example tensor-valued
/// functions in batched passes). See <see cref="AdaptiveRule.GaussKronrod"/>.
/// </summary>
internal static class GaussKronrodPathIntegral
{
    /// <summary>Gradient points of the first round: the 15 Kronrod nodes on [0, 1] and the path's start (for its output).</summary>
    internal const int FirstPoints = 16;

    /// <summary>Gradient points of one bisection: 15 Kronrod nodes on each half (none coincide with the parent's) and the midpoint.</summary>
    internal const int BisectionPoints = 31;

    /// <summary>The 15 Kronrod nodes on [-1, 1], ascending (QUADPACK's qk15 abscissae, mirrored).</summary>
    internal static readonly double[] Nodes = Mirror(
    [
        0.991455371120812639206854697526329,
        0.949107912342758524526189684047851,
        0.864864423359769072789712788640926,
        0.741531185599394439863864773280788,
        0.586087235467691130294144845693013,
        0.405845151377397166906606412076961,
        0.207784955007898467600689403773245,
        0.000000000000000000000000000000000,
    ],
        negate: true);

    /// <summary>The 15-point Kronrod weights on [-1, 1], in the order of <see cref="Nodes"/>.</summary>
    internal static readonly double[] KronrodWeights = Mirror(
    [
        0.022935322010529224963732008058970,
        0.063092092629978553290700663189204,
        0.104790010322250183839876322541518,
        0.140653259715525918745189590510238,
        0.169004726639267902826583426598550,
        0.190350578064785409913256402421014,
        0.204432940075298892414161999234649,
        0.209482141084727828012999174891714,
    ]);

    /// <summary>The embedded 7-point Gauss weights on [-1, 1], in the order of <see cref="Nodes"/> (0 at the Kronrod-only nodes).</summary>
    internal static readonly double[] GaussWeights = Mirror(
    [
        0,
        0.129484966168869693270611432679082,
        0,
        0.279705391489276667901467771423780,
        0,
        0.381830050505118944950369775488975,
        0,
        0.417959183673469387755102040816327,
    ]);

    /// <summary>
    /// The path integrals of the gradients (not multiplied by input - baseline), one per integrated tensor, and the
    /// points each example used. Arguments as <see cref="AdaptivePathIntegral.Integrate"/>; the settings are checked there.
    /// </summary>
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
        var size = Nodes.Length;
        var n = (int)inputs[0].shape[0];
        var ceiling = FirstPoints + (BisectionPoints * ((settings.MaxSteps - FirstPoints) / BisectionPoints));
        var differences = inputs.Select((t, i) => PathIntegral.Difference(t.detach(), baselines[i].detach())).ToArray();
        var starts = inputs.Select((t, i) => baselines[i].detach().to_type(differences[i].dtype)).ToArray();
        var limits = ToDoubles(settings.Relative ? outputDifference.abs() * settings.Tolerance : torch.full_like(outputDifference, settings.Tolerance));
        var outputChanges = ToDoubles(outputDifference);
        var estimates = differences.Select(d => torch.zeros_like(d)).ToArray();
        var intervals = Enumerable.Range(0, n).Select(_ => new List<Interval>()).ToArray();
        var steps = new int[n];
        var active = Enumerable.Range(0, n).Select(i => (long)i).ToArray();
        var done = 0;
        var total = n * ceiling;

        for (var first = true; active.Length > 0; first = false)
        {
            using var roundScope = torch.NewDisposeScope();
            var count = active.Length;

            // The first round evaluates [0, 1], later rounds the two halves of each example's worst interval. One more
            // point per example gives the output where the new intervals meet (the path's start in the first round,
            // the midpoint later): with it, each interval's share of the completeness gap is known.
            var parents = first ? null : active.Select(e => intervals[e].MaxBy(v => v.Error)!).ToArray();
            var pieces = parents is null
                ? Enumerable.Repeat(new[] { (0.0, 1.0) }, count).ToArray()
                : parents.Select(p => new[] { (p.Lower, (p.Lower + p.Upper) / 2), ((p.Lower + p.Upper) / 2, p.Upper) }).ToArray();
            var perExample = pieces[0].Length;
            var points = (size * perExample) + 1;
            var alphas = new double[points, count];
            var weights = Enumerable.Range(0, 2 * perExample).Select(_ => new double[points, count]).ToArray();
            for (var j = 0; j < count; j++)
            {
                for (var p = 0; p < perExample; p++)
                {
                    var (lower, upper) = pieces[j][p];
                    var half = (upper - lower) / 2;
                    for (var q = 0; q < size; q++)
                    {
                        alphas[(p * size) + q, j] = lower + half + (half * Nodes[q]);
                        weights[2 * p][(p * size) + q, j] = half * KronrodWeights[q];
                        weights[(2 * p) + 1][(p * size) + q, j] = half * GaussWeights[q];
                    }
                }

                alphas[points - 1, j] = parents is null ? 0 : pieces[j][0].Item2;
            }

            var rows = torch.tensor(active, ScalarType.Int64, inputs[0].device);
            var (sums, outputs) = AdaptivePathIntegral.Sample(differences, starts, rows, active, alphas, weights, gradient, internalBatchSize, cancellationToken);
            var joint = ToDoubles(outputs[points - 1]);
            var subsetDifferences = differences.Select(d => d.index_select(0, rows)).ToArray();

            for (var i = 0; i < inputs.Count; i++)
            {
                var updated = Enumerable.Range(0, perExample).Select(p => sums[2 * p][i]).Aggregate((a, b) => a + b);
                if (parents is not null)
                {
                    updated = estimates[i].index_select(0, rows) - torch.stack(parents.Select(v => v.Kronrod[i]).ToArray()) + updated;
                }

                estimates[i].index_copy_(0, rows, updated);
            }

            for (var p = 0; p < perExample; p++)
            {
                // The attribution error of the piece, the L1 norm over the example's features of (Kronrod - Gauss) *
                // (input - baseline), plus |its share of the completeness gap|, which sees what falls between the nodes.
                var attributionErrors = ToDoubles(SumOver(inputs.Count, i => ArgumentPreparation.SumRows(((sums[2 * p][i] - sums[(2 * p) + 1][i]) * subsetDifferences[i]).abs())));
                var attributed = ToDoubles(SumOver(inputs.Count, i => ArgumentPreparation.SumRows(sums[2 * p][i] * subsetDifferences[i])));
                for (var j = 0; j < count; j++)
                {
                    var e = active[j];
                    var (lower, upper) = pieces[j][p];
                    var (outputLower, outputUpper) = parents is null
                        ? (joint[j], joint[j] + outputChanges[e])
                        : p == 0 ? (parents[j].OutputLower, joint[j]) : (joint[j], parents[j].OutputUpper);
                    var error = attributionErrors[j] + Math.Abs(attributed[j] - (outputUpper - outputLower));
                    var kronrod = sums[2 * p].Select(k => k[j].clone().MoveToOuterDisposeScope()).ToArray();
                    intervals[e].Add(new Interval(lower, upper, outputLower, outputUpper, kronrod, error));
                }
            }

            if (parents is not null)
            {
                for (var j = 0; j < count; j++)
                {
                    intervals[active[j]].Remove(parents[j]);
                    foreach (var k in parents[j].Kronrod)
                    {
                        k.Dispose();
                    }
                }
            }

            foreach (var e in active)
            {
                steps[e] += points;
            }

            done += count * points;
            progress?.Report(new AttributionProgress(Math.Min(done, total), total));

            // The summed interval errors bound |delta| too (the shares of the gap add up to it).
            active = active.Where(e => intervals[e].Sum(v => v.Error) >= limits[e] && steps[e] + BisectionPoints <= settings.MaxSteps).ToArray();
        }

        if (done < total)
        {
            progress?.Report(new AttributionProgress(total, total));
        }

        foreach (var k in intervals.SelectMany(list => list).SelectMany(v => v.Kronrod))
        {
            k.Dispose();
        }

        return (estimates, steps);
    }

    private static Tensor SumOver(int count, Func<int, Tensor> term) => Enumerable.Range(0, count).Select(term).Aggregate((a, b) => a + b);

    private static double[] ToDoubles(Tensor t) => t.to_type(ScalarType.Float64).cpu().data<double>().ToArray();

    /// <summary>
    /// The 15 values of a symmetric rule on [-1, 1], ascending by node, from its 8 values for the nodes
    /// 1 > x0 > ... > x7 = 0 (negated on the left half when <paramref name="negate"/>, as nodes are).
    /// </summary>
    private static double[] Mirror(double[] half, bool negate = false) =>
        [.. half[..^1].Select(v => negate ? -v : v), half[^1], .. half[..^1].Reverse()];

    /// <summary>A subinterval [Lower, Upper] of the path, its Kronrod estimate per integrated tensor (one example's row), and its error estimate.</summary>
    /// <summary>
    /// A subinterval [Lower, Upper] of one example's path, the explained output at its ends (relative to a common
    /// origin), its Kronrod estimate per integrated tensor (that example's row), and its error estimate.
    /// </summary>
    private sealed record Interval(double Lower, double Upper, double OutputLower, double OutputUpper, Tensor[] Kronrod, double Error);
}
