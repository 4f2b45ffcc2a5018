using Captum.Attr;
using FsCheck.Xunit;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Gradient;

/// <summary>Adaptive integration with <see cref="AdaptiveRule.GaussKronrod"/>: the rule's constants, its accuracy on smooth and ReLU integrands.</summary>
public sealed class GaussKronrodIntegrationTests
{
    private static readonly Captum.Forward.ForwardFunction Separable = (Func<Tensor, Tensor>)(t => (torch.sin(t * 2) + (t.pow(3) / 3)).sum(dim: 1));

    [Fact]
    public void Rule_Monomials_KronrodExactToDegree22AndGaussToDegree13()
    {
        for (var degree = 0; degree <= 24; degree++)
        {
            var exact = degree % 2 == 1 ? 0 : 2.0 / (degree + 1);
            var kronrod = Quadrature(GaussKronrodPathIntegral.KronrodWeights, degree);
            var gauss = Quadrature(GaussKronrodPathIntegral.GaussWeights, degree);
            Assert.True(degree > 22 || Math.Abs(kronrod - exact) < 1e-14, $"K15, degree {degree}: {kronrod} != {exact}");
            Assert.True(degree > 13 || Math.Abs(gauss - exact) < 1e-14, $"G7, degree {degree}: {gauss} != {exact}");
        }

        // One degree further both rules are no longer exact (so the constants are the 7- and 15-point rules, not better ones).
        Assert.True(Math.Abs(Quadrature(GaussKronrodPathIntegral.GaussWeights, 14) - (2.0 / 15)) > 1e-6);
        Assert.True(Math.Abs(Quadrature(GaussKronrodPathIntegral.KronrodWeights, 24) - (2.0 / 25)) > 1e-12);
        Assert.Equal(7, GaussKronrodPathIntegral.GaussWeights.Count(w => w != 0));
        Assert.Equal(GaussKronrodPathIntegral.Nodes.Order(), GaussKronrodPathIntegral.Nodes);
    }

    [Property(MaxTest = 15)]
    public void Attribute_GaussKronrodOnSmoothSeparableFunction_MatchesTheExactIntegralToTheTolerance(int seed)
    {
        // F(x) = sum_i sin(2 x_i) + x_i^3 / 3: the integrated gradient of feature i is exactly f(x_i) - f(b_i).
        using var scope = torch.NewDisposeScope();
        var x = TestModels.Normal(seed, 3, 5).to_type(ScalarType.Float64) * 2;
        var baseline = TestModels.Normal(seed + 1, 3, 5).to_type(ScalarType.Float64) * 2;
        const double tolerance = 1e-8;

        using var result = new IntegratedGradients(Separable).Attribute(x, new IntegratedGradientsOptions
        {
            Baselines = baseline,
            Adaptive = new AdaptiveIntegration { Tolerance = tolerance, MaxSteps = 1000, Rule = AdaptiveRule.GaussKronrod },
            ReturnConvergenceDelta = true,
        });

        var exact = F(x) - F(baseline);
        AssertWithinTolerance(result, exact, tolerance, 1000);
    }

    [Property(MaxTest = 20)]
    public void Attribute_GaussKronrodOnReluUnit_ReachesTheClosedFormWithFarFewerPointsThanTheCeiling(int seed)
    {
        // F(x) = relu(w . x + c). Along the path z(alpha) = z0 + alpha (z1 - z0) is linear, so the gradient is w
        // where z > 0 and 0 elsewhere: IG_i = (x_i - b_i) w_i times the length of {alpha in [0, 1] : z(alpha) > 0}.
        using var scope = torch.NewDisposeScope();
        var w = TestModels.Normal(seed, 6).to_type(ScalarType.Float64);
        var c = 0.3;
        var forward = (Captum.Forward.ForwardFunction)(Func<Tensor, Tensor>)(t => torch.nn.functional.relu(t.matmul(w) + c));
        var x = TestModels.Normal(seed + 1, 4, 6).to_type(ScalarType.Float64);
        var baseline = TestModels.Normal(seed + 2, 4, 6).to_type(ScalarType.Float64);
        const double tolerance = 1e-6;
        const int ceiling = 4000;

        using var result = new IntegratedGradients(forward).Attribute(x, new IntegratedGradientsOptions
        {
            Baselines = baseline,
            Adaptive = new AdaptiveIntegration { Tolerance = tolerance, MaxSteps = ceiling, Rule = AdaptiveRule.GaussKronrod },
            ReturnConvergenceDelta = true,
        });

        var z0 = (baseline.matmul(w) + c).data<double>().ToArray();
        var z1 = (x.matmul(w) + c).data<double>().ToArray();
        var active = z0.Zip(z1, (a, b) => (a > 0, b > 0) switch
        {
            (true, true) => 1.0,
            (false, false) => 0.0,
            (true, false) => a / (a - b),
            (false, true) => 1 - (a / (a - b)),
        }).ToArray();
        var exact = (x - baseline) * w * torch.tensor(active, ScalarType.Float64).unsqueeze(1);
        AssertWithinTolerance(result, exact, tolerance, ceiling);
        Assert.All(result.StepsPerExample!, s => Assert.True(s <= ceiling / 4, $"{s} points"));
    }

    [Property(MaxTest = 20)]
    public void Attribute_GaussKronrodRelativeOrAbsolute_MeetsToleranceUnlessAtTheCeiling(int seed, bool relative)
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(seed);
        var x = TestModels.Normal(seed, 4, 4) * 2;
        var baseline = TestModels.Normal(seed + 1, 4, 4) * 2;
        const double tolerance = 1e-3;
        const int ceiling = 140;

        using var result = new IntegratedGradients(model).Attribute(x, new IntegratedGradientsOptions
        {
            Baselines = baseline,
            Target = new[] { 0, 1, 2, 0 },
            Adaptive = new AdaptiveIntegration { Tolerance = tolerance, Relative = relative, MaxSteps = ceiling, Rule = AdaptiveRule.GaussKronrod },
            ReturnConvergenceDelta = true,
        });

        using var noGrad = torch.no_grad();
        var selected = torch.tensor(new long[] { 0, 1, 2, 0 }).unsqueeze(1);
        var difference = (model.call(x).gather(1, selected) - model.call(baseline).gather(1, selected)).squeeze(1);
        var limits = (relative ? difference.abs() * tolerance : torch.full_like(difference, tolerance)).data<float>().ToArray();
        var deltas = result.Delta!.abs().data<float>().ToArray();
        var steps = result.StepsPerExample!;
        for (var i = 0; i < 4; i++)
        {
            Assert.True((steps[i] - 16) % 31 == 0 && steps[i] <= ceiling, $"example {i}: {steps[i]} points");
            Assert.True(deltas[i] < limits[i] || steps[i] + 31 > ceiling, $"example {i}: |delta| {deltas[i]} > {limits[i]} after {steps[i]} points");
        }
    }

    [Property(MaxTest = 10)]
    public void Attribute_GaussKronrodExampleAloneOrInABatch_SameResult(int seed)
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(seed).to(ScalarType.Float64);
        var x = TestModels.Normal(seed, 4, 4).to_type(ScalarType.Float64) * 2;
        var ig = new IntegratedGradients(model);
        var options = new IntegratedGradientsOptions
        {
            Target = new[] { 0, 1, 2, 1 },
            Adaptive = new AdaptiveIntegration { Tolerance = 1e-7, MaxSteps = 500, Rule = AdaptiveRule.GaussKronrod },
            InternalBatchSize = 17,
        };

        using var batch = ig.Attribute(x, options);
        for (var i = 0; i < 4; i++)
        {
            var row = TensorIndex.Slice(i, i + 1);
            using var alone = ig.Attribute(x[row], options with { Target = new[] { 0, 1, 2, 1 }[i] });
            Assert.Equal(batch.StepsPerExample![i], alone.StepsPerExample![0]);
            TensorAssert.AllClose(alone.Attribution, batch.Attribution[row], 1e-12, 1e-10);
        }
    }

    [Fact]
    public void Attribute_GaussKronrodOnLinearModel_StopsAfterOneRule()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearModel(4, 3, seed: 1);
        var x = torch.randn(5, 4);

        using var result = new IntegratedGradients(model).Attribute(x, new IntegratedGradientsOptions
        {
            Target = 0,
            Adaptive = new AdaptiveIntegration { Tolerance = 1e-5, Rule = AdaptiveRule.GaussKronrod },
        });

        Assert.All(result.StepsPerExample!, s => Assert.Equal(16, s));
        TensorAssert.AllClose(result.Attribution, model.Lin.weight![0] * x, 1e-5, 1e-5);
    }

    [Fact]
    public void Attribute_GaussKronrodOnEmbeddingLayer_MeetsTolerance()
    {
        using var scope = torch.NewDisposeScope();
        var model = new BagOfWords(seed: 3);
        var tokens = torch.tensor(new long[,] { { 3, 5, 7, 1 }, { 2, 2, 9, 11 }, { 4, 4, 4, 4 } });

        using var result = new LayerIntegratedGradients(model, "embedding").Attribute(tokens, new LayerIntegratedGradientsOptions
        {
            Target = new[] { 0, 1, 2 },
            Adaptive = new AdaptiveIntegration { Tolerance = 1e-5, MaxSteps = 257, Rule = AdaptiveRule.GaussKronrod },
            ReturnConvergenceDelta = true,
            InternalBatchSize = 7,
        });

        Assert.All(result.Delta!.abs().data<float>().ToArray(), d => Assert.True(d < 1e-5, $"|delta| {d}"));
        Assert.All(result.StepsPerExample!, s => Assert.True(s < 257 && (s - 16) % 31 == 0, $"{s} points"));
    }

    [Theory]
    [InlineData(15, AdaptiveRule.GaussKronrod, "MaxSteps")]
    [InlineData(100, (AdaptiveRule)7, "Rule")]
    public void Attribute_GaussKronrodBadOptions_ThrowsNamingTheOption(int maxSteps, AdaptiveRule rule, string name)
    {
        using var scope = torch.NewDisposeScope();
        var ig = new IntegratedGradients(TestModels.SmoothMlp(1));
        var ex = Assert.ThrowsAny<ArgumentException>(() => ig.Attribute(torch.randn(2, 4), new IntegratedGradientsOptions
        {
            Target = 0,
            Adaptive = new AdaptiveIntegration { MaxSteps = maxSteps, Rule = rule },
        }));
        Assert.Equal(name, ex.ParamName);
    }

    private static Tensor F(Tensor t) => torch.sin(t * 2) + (t.pow(3) / 3);

    private static double Quadrature(double[] weights, int degree) =>
        weights.Zip(GaussKronrodPathIntegral.Nodes, (w, x) => w * Math.Pow(x, degree)).Sum();

    /// <summary>Per example: the L1 distance of the attributions to <paramref name="exact"/> and |delta| are within the tolerance, before the ceiling.</summary>
    private static void AssertWithinTolerance(AttributionResult result, Tensor exact, double tolerance, int ceiling)
    {
        var errors = (result.Attribution - exact).abs().sum(dim: 1).data<double>().ToArray();
        var deltas = result.Delta!.abs().data<double>().ToArray();
        var steps = result.StepsPerExample!;
        for (var i = 0; i < errors.Length; i++)
        {
            Assert.True(steps[i] < ceiling, $"example {i} hit the ceiling");
            Assert.True(errors[i] <= tolerance, $"example {i}: attribution error {errors[i]} > {tolerance} after {steps[i]} points");
            Assert.True(deltas[i] <= tolerance, $"example {i}: |delta| {deltas[i]} > {tolerance}");
        }
    }
}
