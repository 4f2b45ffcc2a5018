using Captum.Attr;
using FsCheck.Xunit;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Gradient;

/// <summary>Adaptive integration meets its tolerance when the ceiling allows, and refines Romberg's rule exactly.</summary>
public sealed class AdaptiveIntegrationProperties
{
    private static readonly double[] Tolerances = [1e-2, 1e-3, 1e-4];

    [Property(MaxTest = 30)]
    public void Attribute_Adaptive_MeetsToleranceUnlessAtTheCeiling(int seed, byte toleranceChoice, bool relative)
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(seed);
        var x = torch.randn(4, 4) * 2;
        var baseline = torch.randn(4, 4) * 2;
        var tolerance = Tolerances[toleranceChoice % Tolerances.Length];
        var adaptive = new AdaptiveIntegration { Tolerance = tolerance, Relative = relative, MaxSteps = 129 };

        using var result = new IntegratedGradients(model).Attribute(x, new IntegratedGradientsOptions
        {
            Baselines = baseline,
            Target = new[] { 0, 1, 2, 0 },
            Adaptive = adaptive,
            ReturnConvergenceDelta = true,
        });

        using var noGrad = torch.no_grad();
        var selected = torch.tensor(new long[] { 0, 1, 2, 0 }).unsqueeze(1);
        var difference = (model.call(x).gather(1, selected) - model.call(baseline).gather(1, selected)).squeeze(1);
        var allowed = relative ? difference.abs() * tolerance : torch.full_like(difference, tolerance);
        var deltas = result.Delta!.abs().data<float>().ToArray();
        var limits = allowed.data<float>().ToArray();
        var steps = result.StepsPerExample!;
        for (var i = 0; i < 4; i++)
        {
            Assert.True(deltas[i] < limits[i] || steps[i] == 129, $"example {i}: |delta| {deltas[i]} > {limits[i]} after {steps[i]} points");
            Assert.Contains(steps[i], new[] { 5, 9, 17, 33, 65, 129 });
        }
    }

    [Property(MaxTest = 30)]
    public void Attribute_AdaptiveWithToleranceZero_EqualsTheFixedRombergRule(int seed, byte levelChoice)
    {
        using var scope = torch.NewDisposeScope();
        var steps = (1 << (levelChoice % 7)) + 1;
        var model = TestModels.SmoothMlp(seed);
        var x = torch.randn(3, 4);
        var ig = new IntegratedGradients(model);

        using var adaptive = ig.Attribute(x, new IntegratedGradientsOptions { Target = 1, Adaptive = new AdaptiveIntegration { Tolerance = 0, MaxSteps = steps } });
        using var fixedRule = ig.Attribute(x, new IntegratedGradientsOptions { Target = 1, Method = IntegrationMethod.Romberg, Steps = steps });

        Assert.All(adaptive.StepsPerExample!, s => Assert.Equal(steps, s));
        TensorAssert.AllClose(adaptive.Attribution, fixedRule.Attribution, 1e-5, 1e-4);
    }

    [Property(MaxTest = 20)]
    public void Attribute_AdaptiveAnyInternalBatchSize_SameResult(int seed, byte batchChoice)
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(seed);
        var x = torch.randn(3, 4) * 2;
        var ig = new IntegratedGradients(model);
        var options = new IntegratedGradientsOptions { Target = 2, Adaptive = new AdaptiveIntegration { Tolerance = 1e-4, MaxSteps = 65 } };

        using var whole = ig.Attribute(x, options);
        using var chunked = ig.Attribute(x, options with { InternalBatchSize = 1 + (batchChoice % 40) });

        Assert.Equal(whole.StepsPerExample, chunked.StepsPerExample);
        TensorAssert.AllClose(chunked.Attribution, whole.Attribution, 1e-6, 1e-5);
    }

    [Fact]
    public void Attribute_AdaptiveOnLinearModel_StopsAtTheMinimumLevel()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearModel(4, 3, seed: 1);
        var x = torch.randn(5, 4);

        using var result = new IntegratedGradients(model).Attribute(x, new IntegratedGradientsOptions { Target = 0, Adaptive = new AdaptiveIntegration { Tolerance = 1e-5 } });

        Assert.All(result.StepsPerExample!, s => Assert.Equal(5, s));
        TensorAssert.AllClose(result.Attribution, model.Lin.weight![0] * x, 1e-5, 1e-5);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    [InlineData(6)]
    public void Attribute_RombergStepsNotTwoToTheKPlusOne_ThrowsNamingSteps(int steps)
    {
        using var scope = torch.NewDisposeScope();
        var ig = new IntegratedGradients(TestModels.SmoothMlp(1));
        var ex = Assert.ThrowsAny<ArgumentException>(() => ig.Attribute(torch.randn(2, 4), new IntegratedGradientsOptions { Target = 0, Method = IntegrationMethod.Romberg, Steps = steps }));
        Assert.Equal("Steps", ex.ParamName);
    }

    [Fact]
    public void Attribute_RombergOnQuarticModel_IsExact()
    {
        // Along the path the integrand of F(x) = sum(x^4) is a cubic in alpha: Romberg with 5 points (Boole) is exact.
        using var scope = torch.NewDisposeScope();
        var forward = (Captum.Forward.ForwardFunction)(Func<Tensor, Tensor>)(t => t.pow(4).sum(dim: 1));
        var x = torch.randn(3, 6, ScalarType.Float64);

        using var result = new IntegratedGradients(forward).Attribute(x, new IntegratedGradientsOptions { Method = IntegrationMethod.Romberg, Steps = 5 });

        TensorAssert.AllClose(result.Attribution, x.pow(4), 1e-10, 1e-10);
    }
}

/// <summary>Adaptive integration of Layer Integrated Gradients.</summary>
public sealed class AdaptiveLayerIntegrationTests
{
    [Fact]
    public void Attribute_AdaptiveOnEmbedding_MeetsToleranceAndMatchesFixedRomberg()
    {
        using var scope = torch.NewDisposeScope();
        var model = new BagOfWords(seed: 3);
        var tokens = torch.tensor(new long[,] { { 3, 5, 7, 1 }, { 2, 2, 9, 11 }, { 4, 4, 4, 4 } });
        var lig = new LayerIntegratedGradients(model, "embedding");

        using var adaptive = lig.Attribute(tokens, new LayerIntegratedGradientsOptions
        {
            Target = new[] { 0, 1, 2 },
            Adaptive = new AdaptiveIntegration { Tolerance = 1e-5, MaxSteps = 129 },
            ReturnConvergenceDelta = true,
            InternalBatchSize = 7,
        });

        Assert.All(adaptive.Delta!.abs().data<float>().ToArray(), d => Assert.True(d < 1e-5, $"|delta| {d}"));
        var steps = adaptive.StepsPerExample!;
        Assert.All(steps, s => Assert.True(s < 129, $"{s} points"));

        // Each example equals the fixed Romberg rule at the number of points it used.
        for (var i = 0; i < 3; i++)
        {
            var row = TensorIndex.Slice(i, i + 1);
            using var fixedRule = lig.Attribute(tokens[row], new LayerIntegratedGradientsOptions { Target = new[] { 0, 1, 2 }[i], Method = IntegrationMethod.Romberg, Steps = steps[i] });
            TensorAssert.AllClose(adaptive.Attribution[row], fixedRule.Attribution, 1e-6, 1e-4);
        }
    }
}

/// <summary>Cases where the delta alone would stop adaptive integration too early.</summary>
public sealed class AdaptiveIntegrationEdgeTests
{
    [Fact]
    public void Attribute_AdaptiveOnBumpWithFlatEnds_DoesNotStopEarly()
    {
        // sigmoid(4 x0) - sigmoid(4 x1) from (-3, -3) to (3, 3): flat at both ends, so two points see nothing, and
        // the two features' attributions cancel in the delta. Adaptive must still find +-1 like 50-step Gauss-Legendre.
        using var scope = torch.NewDisposeScope();
        var forward = (Captum.Forward.ForwardFunction)(Func<Tensor, Tensor>)(t =>
            torch.sigmoid(t[TensorIndex.Colon, 0] * 4) - torch.sigmoid(t[TensorIndex.Colon, 1] * 4));
        var x = torch.full(1, 2, 3.0f);
        var baseline = torch.full(1, 2, -3.0f);
        var ig = new IntegratedGradients(forward);

        using var reference = ig.Attribute(x, new IntegratedGradientsOptions { Baselines = baseline, Steps = 50 });
        using var adaptive = ig.Attribute(x, new IntegratedGradientsOptions { Baselines = baseline, Adaptive = new AdaptiveIntegration { Tolerance = 1e-4 } });

        TensorAssert.AllClose(adaptive.Attribution, reference.Attribution, 1e-3, 0);
    }
}
