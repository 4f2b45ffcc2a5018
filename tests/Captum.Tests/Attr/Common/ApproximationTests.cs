using Captum.Attr;
using Xunit;

namespace Captum.Tests.Attr.Common;

/// <summary>Gauss-Legendre rules: the O(n) asymptotic rule above 100 points agrees with Newton on the recurrence.</summary>
public sealed class ApproximationTests
{
    [Theory]
    [InlineData(101)]
    [InlineData(256)]
    [InlineData(1001)]
    public void GaussLegendre_AsymptoticRule_EqualsTheRecurrenceRule(int n)
    {
        var (nodes, weights) = Approximation.GaussLegendreAsymptotic(n);
        var (expectedNodes, expectedWeights) = Approximation.GaussLegendreNewton(n);

        for (var i = 0; i < n; i++)
        {
            Assert.True(Math.Abs(nodes[i] - expectedNodes[i]) <= 2e-15, $"node {i} of {n}: {nodes[i]:R} vs {expectedNodes[i]:R}");
            // The recurrence rule itself is the less exact one here: against 40-digit values (mpmath), its weights are
            // off by up to 1e-13 at 1001 points and 1.4e-12 at 3000, the asymptotic rule's by 1e-16.
            Assert.True(Math.Abs(weights[i] - expectedWeights[i]) <= 5e-13 * expectedWeights[i], $"weight {i} of {n}: {weights[i]:R} vs {expectedWeights[i]:R}");
        }
    }

    [Theory]
    [InlineData(3_000, 0)]
    [InlineData(3_000, 2)]
    [InlineData(3_000, 600)]
    [InlineData(3_000, 5_998)]
    [InlineData(20_000, 0)]
    [InlineData(20_000, 40)]
    [InlineData(20_000, 4_000)]
    [InlineData(20_000, 39_998)]
    public void GaussLegendre_ManyPoints_IntegratesPolynomialsUpToDegreeTwoNMinusOneExactly(int n, int power)
    {
        // Exact for x^power on [-1, 1] (2 / (power + 1) for even powers): the low powers weigh every node alike, the
        // high ones only the nodes near ±1, which the rule computes differently.
        var (nodes, weights) = Approximation.GaussLegendre(n);

        var sum = nodes.Zip(weights).Sum(p => p.Second * Math.Pow(p.First, power));

        // A node stored to within half an ulp (1.1e-16) carries a relative error of up to power * 1.1e-16 into x^power.
        var tolerance = 2e-14 + (power * 2.3e-16);
        Assert.True(Math.Abs(sum - (2.0 / (power + 1))) <= tolerance * (2.0 / (power + 1)), $"{sum:R} vs {2.0 / (power + 1):R}");
        Assert.True(nodes.Zip(nodes.Skip(1)).All(p => p.First < p.Second), "nodes ascend");
    }
}
