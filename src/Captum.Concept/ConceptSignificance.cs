using MathNet.Numerics;
using MathNet.Numerics.Distributions;

namespace Captum.Concept;

/// <summary>Which null distribution <see cref="TCAV.TestSignificance"/> measures a concept's score against.</summary>
public enum TCAVSignificanceTest
{
    /// <summary>
    /// The random concepts' own TCAV scores (each one's mean score against the others and the concept): is the
    /// concept's score one a random concept could have? Student's t for one new observation, N - 1 degrees of freedom.
    /// The default.
    /// </summary>
    AmongRandomConcepts,

    /// <summary>
    /// Captum's TCAV tutorial: the concept's scores against r_2 … r_N compared with the first random concept's scores
    /// against the same ones, by a Welch t-test. Leaves out how much random concepts differ from each other, so its
    /// p-values are too small (docs/concept.md).
    /// </summary>
    AgainstReferenceRandomConcept,
}

/// <summary>
/// The verdict of <see cref="TCAV.TestSignificance"/> in one layer: the concept's scores against random concepts, the
/// null distribution it is compared with, and a two-sided t-test.
/// </summary>
/// <param name="Concept">The concept tested.</param>
/// <param name="Layer">The layer's name.</param>
/// <param name="ScoreKind">Which score was compared.</param>
/// <param name="Test">Which null distribution.</param>
/// <param name="Scores">
/// The concept's score in each set [concept, r_j]: against every random concept (<see cref="TCAVSignificanceTest.AmongRandomConcepts"/>),
/// or against r_2 … r_N (<see cref="TCAVSignificanceTest.AgainstReferenceRandomConcept"/>).
/// </param>
/// <param name="RandomScores">
/// The null distribution: each random concept's mean score against the other random concepts and the concept
/// (<see cref="TCAVSignificanceTest.AmongRandomConcepts"/>), or r_1's score in each set [r_1, r_i], i = 2 … N
/// (<see cref="TCAVSignificanceTest.AgainstReferenceRandomConcept"/>).
/// </param>
/// <param name="TStatistic">The t statistic; ±infinity when the spread is 0 and the concept differs.</param>
/// <param name="DegreesOfFreedom">N - 1, or Welch-Satterthwaite's.</param>
/// <param name="PValue">The two-sided p-value; when the spread is 0 and the concept differs, an exact permutation
/// test's (see <see cref="TCAVSignificanceTest"/> and docs/concept.md).</param>
/// <param name="Alpha">The significance level.</param>
public sealed record ConceptSignificance(
    Concept Concept,
    string Layer,
    TCAVScoreKind ScoreKind,
    TCAVSignificanceTest Test,
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

    internal static ConceptSignificance AgainstReference(Concept concept, string layer, TCAVScoreKind kind, double[] scores, double[] randomScores, double alpha)
    {
        var (t, df, p) = Welch.Test(scores, randomScores);
        return new ConceptSignificance(concept, layer, kind, TCAVSignificanceTest.AgainstReferenceRandomConcept, scores, randomScores, t, df, p, alpha);
    }

    internal static ConceptSignificance AmongRandomConcepts(Concept concept, string layer, TCAVScoreKind kind, double[] scores, double[] randomMeans, double alpha)
    {
        var (t, df, p) = Welch.NewObservation(scores.Average(), randomMeans);
        return new ConceptSignificance(concept, layer, kind, TCAVSignificanceTest.AmongRandomConcepts, scores, randomMeans, t, df, p, alpha);
    }
}

/// <summary>The two-sided t-tests of the significance test, Student's t from MathNet.Numerics.</summary>
internal static class Welch
{
    /// <summary>
    /// (t, degrees of freedom, two-sided p) for one new value <paramref name="value"/> against a sample
    /// <paramref name="sample"/> of the same distribution: t = (value - mean) / (sd √(1 + 1/n)), n - 1 degrees of
    /// freedom (the prediction interval's test).
    /// </summary>
    public static (double T, double DegreesOfFreedom, double PValue) NewObservation(double value, IReadOnlyList<double> sample)
    {
        if (sample.Count < 2)
        {
            throw new ArgumentException($"The test of a new observation needs at least two values in the sample; got {sample.Count}.");
        }

        var n = sample.Count;
        if (IsConstant(sample))
        {
            // Every random concept scored the same (to rounding: their means are sums of the same shares in another
            // order): t is undefined. Under the null hypothesis the n + 1 values are exchangeable, so the chance that
            // the one differing value is the concept's is 1 / (n + 1).
            return AreEqual(value, sample[0]) ? (0, n - 1, 1) : (value > sample[0] ? double.PositiveInfinity : double.NegativeInfinity, n - 1, 1.0 / (n + 1));
        }

        var mean = sample.Average();
        var spread = Math.Sqrt(Variance(sample) * (1 + (1.0 / n)));
        var t = (value - mean) / spread;
        return (t, n - 1, Math.Min(1, 2 * StudentT.CDF(0, 1, n - 1, -Math.Abs(t))));
    }

    /// <summary>(t, degrees of freedom, two-sided p) for the difference of the means of <paramref name="a"/> and <paramref name="b"/>, each of at least two values.</summary>
    public static (double T, double DegreesOfFreedom, double PValue) Test(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        if (a.Count < 2 || b.Count < 2)
        {
            throw new ArgumentException($"Welch's t-test needs at least two values per group; got {a.Count} and {b.Count}.");
        }

        if (IsConstant(a) && IsConstant(b))
        {
            // Both groups constant (to rounding): t is undefined (0/0 or ±infinity), and "certain" would overclaim on
            // two values a side. The exact permutation test answers instead: of the C(n1 + n2, n1) ways to relabel the
            // values, only the observed split (and its mirror when n1 = n2) separates the means as far, so that share is
            // the p-value.
            if (AreEqual(a[0], b[0]))
            {
                return (0, a.Count + b.Count - 2, 1);
            }

            var extreme = a.Count == b.Count ? 2.0 : 1.0;
            var p0 = Math.Min(1, extreme / SpecialFunctions.Binomial(a.Count + b.Count, a.Count));
            return (a[0] > b[0] ? double.PositiveInfinity : double.NegativeInfinity, a.Count + b.Count - 2, p0);
        }

        var (ma, mb) = (a.Average(), b.Average());
        var (sa, sb) = (Variance(a) / a.Count, Variance(b) / b.Count);
        var se2 = sa + sb;
        var t = (ma - mb) / Math.Sqrt(se2);
        var df = se2 * se2 / ((sa * sa / (a.Count - 1)) + (sb * sb / (b.Count - 1)));

        // 2 P(T <= -|t|) keeps its precision for tiny p-values, where 2 (1 - P(T <= |t|)) would round to 0.
        var p = Math.Min(1, 2 * StudentT.CDF(0, 1, df, -Math.Abs(t)));
        return (t, df, p);
    }

    /// <summary>
    /// Whether all <paramref name="values"/> are the same up to rounding (a relative 1e-12): scores that are shares of
    /// the same inputs, averaged in another order, differ in their last bits, and an exact test would read that noise
    /// as a spread of 1e-17 and t as 1e16.
    /// </summary>
    internal static bool IsConstant(IReadOnlyList<double> values) => AreEqual(values.Min(), values.Max());

    private static bool AreEqual(double a, double b) => Math.Abs(a - b) <= 1e-12 * Math.Max(1, Math.Max(Math.Abs(a), Math.Abs(b)));

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
