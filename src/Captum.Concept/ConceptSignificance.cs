using MathNet.Numerics;
using MathNet.Numerics.Distributions;

namespace Captum.Concept;

/// <summary>
/// The verdict of <see cref="TCAV.TestSignificance"/> in one layer: the concept's scores against random concepts
/// r_1 … r_(N-1), the reference random concept r_0's scores against the same ones, and a two-sided Welch t-test of
/// their means.
/// </summary>
/// <param name="Concept">The concept tested.</param>
/// <param name="Layer">The layer's name.</param>
/// <param name="ScoreKind">Which score was compared.</param>
/// <param name="Scores">The concept's score in each set [concept, r_i], i = 1 … N - 1.</param>
/// <param name="RandomScores">r_0's score in each set [r_0, r_i], i = 1 … N - 1: the null distribution.</param>
/// <param name="TStatistic">Welch's t of mean(Scores) - mean(RandomScores); ±infinity when both spreads are 0 and the means differ.</param>
/// <param name="PValue">The two-sided p-value; when both spreads are 0 and the means differ, the exact permutation
/// test's: 2 / C(2n, n) for n scores a side (1 / C(n1 + n2, n1) for unequal sides): 0.33 at two a side, 0.1 at three,
/// 0.029 at four, so at alpha 0.05 it takes at least four scores a side (five random concepts) to be significant.</param>
/// <param name="DegreesOfFreedom">Welch-Satterthwaite's degrees of freedom.</param>
/// <param name="Alpha">The significance level.</param>
public sealed record ConceptSignificance(
    Concept Concept,
    string Layer,
    TCAVScoreKind ScoreKind,
    IReadOnlyList<double> Scores,
    IReadOnlyList<double> RandomScores,
    double TStatistic,
    double DegreesOfFreedom,
    double PValue,
    double Alpha)
{
    /// <summary>The mean of <see cref="Scores"/>: the concept's TCAV score.</summary>
    public double Mean => Scores.Average();

    /// <summary>The sample standard deviation of <see cref="Scores"/>.</summary>
    public double StandardDeviation => Math.Sqrt(Welch.Variance(Scores));

    /// <summary>The mean of <see cref="RandomScores"/>.</summary>
    public double RandomMean => RandomScores.Average();

    /// <summary>The sample standard deviation of <see cref="RandomScores"/>.</summary>
    public double RandomStandardDeviation => Math.Sqrt(Welch.Variance(RandomScores));

    /// <summary>Whether <see cref="PValue"/> is below <see cref="Alpha"/>.</summary>
    public bool IsSignificant => PValue < Alpha;

    internal static ConceptSignificance Test(Concept concept, string layer, TCAVScoreKind kind, double[] scores, double[] randomScores, double alpha)
    {
        var (t, df, p) = Welch.Test(scores, randomScores);
        return new ConceptSignificance(concept, layer, kind, scores, randomScores, t, df, p, alpha);
    }
}

/// <summary>The two-sided Welch t-test (unequal variances), Student's t from MathNet.Numerics.</summary>
internal static class Welch
{
    /// <summary>(t, degrees of freedom, two-sided p) for the difference of the means of <paramref name="a"/> and <paramref name="b"/>, each of at least two values.</summary>
    public static (double T, double DegreesOfFreedom, double PValue) Test(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        if (a.Count < 2 || b.Count < 2)
        {
            throw new ArgumentException($"Welch's t-test needs at least two values per group; got {a.Count} and {b.Count}.");
        }

        var (ma, mb) = (a.Average(), b.Average());
        var (sa, sb) = (Variance(a) / a.Count, Variance(b) / b.Count);
        var se2 = sa + sb;
        if (se2 == 0)
        {
            // Both groups constant: t is undefined (0/0 or ±infinity), and "certain" would overclaim on two values a
            // side. The exact permutation test answers instead: of the C(n1 + n2, n1) ways to relabel the values, only
            // the observed split (and its mirror when n1 = n2) separates the means as far, so that share is the p-value.
            if (ma == mb)
            {
                return (0, a.Count + b.Count - 2, 1);
            }

            var extreme = a.Count == b.Count ? 2.0 : 1.0;
            var p0 = Math.Min(1, extreme / SpecialFunctions.Binomial(a.Count + b.Count, a.Count));
            return (ma > mb ? double.PositiveInfinity : double.NegativeInfinity, a.Count + b.Count - 2, p0);
        }

        var t = (ma - mb) / Math.Sqrt(se2);
        var df = se2 * se2 / ((sa * sa / (a.Count - 1)) + (sb * sb / (b.Count - 1)));

        // 2 P(T <= -|t|) keeps its precision for tiny p-values, where 2 (1 - P(T <= |t|)) would round to 0.
        var p = Math.Min(1, 2 * StudentT.CDF(0, 1, df, -Math.Abs(t)));
        return (t, df, p);
    }

    /// <summary>The sample variance (n - 1 in the denominator).</summary>
    public static double Variance(IReadOnlyList<double> values)
    {
        if (values.Count < 2)
        {
            return 0;
        }

        var mean = values.Average();
        return values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1);
    }
}
