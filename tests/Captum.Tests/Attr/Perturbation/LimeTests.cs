using Captum.Attr;
using Captum.Forward;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Perturbation;

public sealed class LimeTests
{
    [Fact]
    public void Attribute_LinearModelWithRegressionSurrogate_RecoversWeightTimesDifference()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearModel(4, 2, seed: 1);
        var x = torch.randn(1, 4);
        var baseline = torch.randn(1, 4);

        // The model is linear in the binary interpretable features, so an unregularised fit is exact.
        using var result = new Lime(model, new LinearRegressionSurrogate()).Attribute(x, new LimeOptions { Target = 1, Baselines = baseline, Samples = 40, Seed = 1 });

        TensorAssert.AllClose(result.Attribution, model.Lin.weight![1] * (x - baseline), 1e-4, 1e-3);
    }

    [Fact]
    public void Attribute_DefaultLasso_ShrinksButKeepsTheLargeCoefficients()
    {
        using var scope = torch.NewDisposeScope();
        ForwardFunction f = (Func<Tensor, Tensor>)(x => x.matmul(torch.tensor(new[] { 3f, -2f, 0f, 1f })));
        var x = torch.ones(1, 4);

        using var result = new Lime(f).Attribute(x, new LimeOptions { Samples = 200, Seed = 3 });

        // Lasso with alpha 0.01 shrinks each coefficient by about 2 * alpha / (weighted variance of a 0/1 feature).
        TensorAssert.AllClose(result.Attribution, torch.tensor(new[] { 3f, -2f, 0f, 1f }).reshape(1, 4), 0.15, 0);
        Assert.True(result.Attribution[0, 0].item<float>() < 3f && result.Attribution[0, 1].item<float>() > -2f, "Lasso shrinks towards 0");
    }

    [Fact]
    public void Attribute_ExpandedFeatureMask_PrintsNoLibtorchWarning()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearModel(4, 2, seed: 1);
        var x = torch.randn(3, 4);
        var mask = torch.tensor(new long[] { 0, 0, 1, 1 }).expand(3, 4);   // a strided view, as a broadcast mask often is

        // libtorch's searchsorted warns that "input value tensor is non-contiguous" on standard error when given a view.
        var printed = NativeStandardError.Capture(
            () => new Lime(model).Attribute(x, new LimeOptions { Target = 1, FeatureMask = mask, Samples = 10, Seed = 1 }).Dispose());

        Assert.DoesNotContain("non-contiguous", printed, StringComparison.Ordinal);
    }

    [Fact]
    public void Attribute_BatchWithPerExampleTargets_FirstRowEqualsTheFirstExampleAlone()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(2, inputs: 4);
        var x = torch.randn(3, 4);
        var lime = new Lime(model);

        using var batch = lime.Attribute(x, new LimeOptions { Target = new[] { 2, 0, 1 }, Samples = 30, Seed = 11 });
        using var single = lime.Attribute(x[0..1], new LimeOptions { Target = 2, Samples = 30, Seed = 11 });

        Assert.Equal(x.shape, batch.Attribution.shape);
        TensorAssert.AllClose(batch.Attribution[0..1], single.Attribution, 0, 0);
    }

    [Fact]
    public void Attribute_FeatureMaskAcrossInputs_OneCoefficientPerGroup()
    {
        using var scope = torch.NewDisposeScope();
        var model = new TwoInputModel(seed: 3);
        var a = torch.randn(1, 2);
        var b = torch.randn(1, 3);
        var masks = new[] { torch.tensor(new long[] { 5, 8 }).reshape(1, 2), torch.tensor(new long[] { 8, 8, 12 }).reshape(1, 3) };

        using var shaped = new Lime(model).Attribute(Inputs.Of(a, b), new LimeOptions { Target = 0, AdditionalForwardArgs = [torch.ones(1, 1)], FeatureMask = masks, Seed = 2 });
        using var coefficients = new Lime(model).Attribute(Inputs.Of(a, b), new LimeOptions { Target = 0, AdditionalForwardArgs = [torch.ones(1, 1)], FeatureMask = masks, Seed = 2, ReturnInputShape = false });

        Assert.Equal([1L, 3L], coefficients.Attribution.shape);
        var c = coefficients.Attribution[0];
        TensorAssert.AllClose(shaped[0], torch.stack([c[0], c[1]]).reshape(1, 2), 0, 0);
        TensorAssert.AllClose(shaped[1], torch.stack([c[1], c[1], c[2]]).reshape(1, 3), 0, 0);
    }

    [Fact]
    public void Attribute_ForwardReturnsScalarForBatch_OneSurrogateForTheWholeBatch()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearModel(3, 1, seed: 4);
        ForwardFunction total = ForwardFunction.FromDelegate((Tensor[] t) => model.call(t[0]).sum());
        var x = torch.randn(2, 3);

        using var result = new Lime(total, new LinearRegressionSurrogate()).Attribute(x, new LimeOptions { Samples = 30, Seed = 4, FeatureMask = torch.tensor(new long[] { 0, 1, 2 }).reshape(1, 3) });

        Assert.Equal(x.shape, result.Attribution.shape);
        var expected = (model.Lin.weight![0] * x).sum(dim: 0, keepdim: true).expand(2, 3);
        TensorAssert.AllClose(result.Attribution, expected, 1e-4, 1e-3);
    }

    [Fact]
    public void Attribute_IntegerTokenIds_WorksWithPaddingBaseline()
    {
        using var scope = torch.NewDisposeScope();
        var model = new BagOfWords(seed: 5);
        var tokens = torch.tensor(new long[,] { { 3, 5, 7, 9 } });

        using var result = new KernelShap(model).Attribute(tokens, new KernelShapOptions { Target = 1, Samples = 60, Seed = 5 });

        using var noGrad = torch.no_grad();
        var gap = model.call(tokens)[0, 1] - model.call(torch.zeros_like(tokens))[0, 1];
        Assert.Equal(ScalarType.Float32, result.Attribution.dtype);
        TensorAssert.AllClose(result.Attribution.sum(), gap, 1e-3, 1e-2);
    }

    [Fact]
    public void Attribute_CustomSimilarityAndPerturbation_AreUsed()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearModel(3, 1, seed: 6);
        var seen = new List<int>();
        PerturbFunction perturb = (original, features, index, generator) =>
        {
            seen.Add(index);
            return torch.tensor(new long[] { index % 2, (index / 2) % 2, (index / 4) % 2 });
        };

        using var result = new Lime(model, new LinearRegressionSurrogate(), (_, _, _) => 1.0, perturb).Attribute(torch.ones(1, 3), new LimeOptions { Target = 0, Samples = 8 });

        Assert.Equal(Enumerable.Range(0, 8), seen);
        TensorAssert.AllClose(result.Attribution, model.Lin.weight![0].reshape(1, 3), 1e-5, 1e-4);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void Attribute_SamplesBelowOne_ThrowsNamingSamples(int samples)
    {
        using var scope = torch.NewDisposeScope();
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new Lime(TestModels.SmoothMlp(1)).Attribute(torch.randn(1, 4), new LimeOptions { Target = 0, Samples = samples }));
        Assert.Equal("Samples", ex.ParamName);
        var shap = Assert.Throws<ArgumentOutOfRangeException>(() => new KernelShap(TestModels.SmoothMlp(1)).Attribute(torch.randn(1, 4), new KernelShapOptions { Target = 0, Samples = samples }));
        Assert.Equal("Samples", shap.ParamName);
    }

    [Fact]
    public void Attribute_FeatureMaskOfWrongShape_ThrowsNamingFeatureMask()
    {
        using var scope = torch.NewDisposeScope();
        var ex = Assert.Throws<ArgumentException>(() => new Lime(TestModels.SmoothMlp(1)).Attribute(torch.randn(1, 4), new LimeOptions { Target = 0, FeatureMask = torch.zeros(1, 3, ScalarType.Int64) }));
        Assert.Equal("FeatureMask", ex.ParamName);
    }
}

public sealed class KernelShapTests
{
    [Fact]
    public void Attribute_LinearModel_RecoversWeightTimesDifference()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearModel(5, 3, seed: 1);
        var x = torch.randn(2, 5);
        var baseline = torch.randn(1, 5);

        using var result = new KernelShap(model).Attribute(x, new KernelShapOptions { Target = 2, Baselines = baseline, Samples = 60, Seed = 7 });

        TensorAssert.AllClose(result.Attribution, model.Lin.weight![2] * (x - baseline), 1e-4, 1e-3);
    }

    [Fact]
    public void Attribute_NonlinearModel_CoefficientsSumToOutputMinusBaselineOutput()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(3, inputs: 6);
        var x = torch.randn(1, 6);

        using var result = new KernelShap(model).Attribute(x, new KernelShapOptions { Target = 0, Samples = 30, Seed = 8 });

        using var noGrad = torch.no_grad();
        var gap = model.call(x)[0, 0] - model.call(torch.zeros_like(x))[0, 0];
        TensorAssert.AllClose(result.Attribution.sum(), gap, 1e-4, 1e-3);
    }

    [Fact]
    public void Attribute_AdditiveModel_EqualsEachFeaturesContribution()
    {
        using var scope = torch.NewDisposeScope();
        var model = new AdditiveModel(4, seed: 9);
        var x = torch.randn(1, 4);

        using var result = new KernelShap(model).Attribute(x, new KernelShapOptions { Samples = 50, Seed = 9 });

        using var noGrad = torch.no_grad();
        TensorAssert.AllClose(result.Attribution, model.Contributions(x, torch.zeros_like(x)), 1e-4, 1e-3);
    }
}

public sealed class SurrogateModelTests
{
    [Fact]
    public void LassoSurrogate_OrthogonalDesign_SoftThresholdsTheLeastSquaresCoefficients()
    {
        // Centred orthogonal columns with squared norm 2 over 4 samples: the least-squares coefficients are (2, 1)
        // and the Lasso solution is 2 * max(x_j·y / 4 - alpha, 0) = (2 (1 - alpha), 2 (0.5 - alpha)).
        double[,] x = { { 1, 0 }, { 0, 1 }, { -1, 0 }, { 0, -1 } };
        double[] y = [2, 1, -2, -1];

        var fit = new LassoSurrogate(alpha: 0.1).Fit(x, y, [1, 1, 1, 1]);

        Assert.Equal(1.8, fit.Coefficients[0], 9);
        Assert.Equal(0.8, fit.Coefficients[1], 9);
        Assert.Equal(0.0, fit.Intercept, 9);
    }

    [Theory]
    [InlineData(1, 0.01)]
    [InlineData(2, 0.05)]
    [InlineData(3, 0.3)]
    public void LassoSurrogate_RandomWeightedData_SatisfiesTheOptimalityConditions(int seed, double alpha)
    {
        // At the optimum of (1 / (2 Σw)) Σ w_i r_i² + alpha ‖β‖₁ the weighted residuals sum to 0 (free intercept)
        // and g_j = Σ w_i x_ij r_i / Σw equals alpha sign(β_j) where β_j ≠ 0 and lies in [-alpha, alpha] where β_j = 0.
        var random = new Random(seed);
        const int Samples = 30, Features = 6;
        var x = new double[Samples, Features];
        var y = new double[Samples];
        var w = new double[Samples];
        for (var i = 0; i < Samples; i++)
        {
            for (var j = 0; j < Features; j++)
            {
                x[i, j] = random.Next(2);
            }

            y[i] = (2 * x[i, 0]) - x[i, 1] + (0.1 * x[i, 2]) + random.NextDouble();
            w[i] = 0.1 + random.NextDouble();
        }

        var fit = new LassoSurrogate(alpha, maxIterations: 100000, tolerance: 1e-12).Fit(x, y, w);

        var residual = new double[Samples];
        for (var i = 0; i < Samples; i++)
        {
            residual[i] = y[i] - fit.Intercept;
            for (var j = 0; j < Features; j++)
            {
                residual[i] -= x[i, j] * fit.Coefficients[j];
            }
        }

        Assert.Equal(0.0, Enumerable.Range(0, Samples).Sum(i => w[i] * residual[i]), 8);
        for (var j = 0; j < Features; j++)
        {
            var g = Enumerable.Range(0, Samples).Sum(i => w[i] * x[i, j] * residual[i]) / w.Sum();
            if (fit.Coefficients[j] != 0)
            {
                Assert.Equal(alpha * Math.Sign(fit.Coefficients[j]), g, 6);
            }
            else
            {
                Assert.InRange(g, -alpha - 1e-9, alpha + 1e-9);
            }
        }

        Assert.True(fit.Coefficients[0] > 0, "the strongest effect survives the penalty");
    }

    [Fact]
    public void LassoSurrogate_LargeAlpha_AllCoefficientsZeroAndInterceptTheWeightedMean()
    {
        double[,] x = { { 1, 0 }, { 0, 1 }, { 1, 1 } };
        double[] y = [1, 2, 6];

        var fit = new LassoSurrogate(alpha: 100).Fit(x, y, [1, 1, 2]);

        Assert.All(fit.Coefficients, c => Assert.Equal(0.0, c));
        Assert.Equal((1 + 2 + 12) / 4.0, fit.Intercept, 12);
    }

    [Fact]
    public void LinearRegressionSurrogate_WeightedExactData_RecoversCoefficientsAndIntercept()
    {
        double[,] x = { { 0, 0 }, { 1, 0 }, { 0, 1 }, { 1, 1 }, { 1, 0 } };
        var y = new double[5];
        for (var i = 0; i < 5; i++)
        {
            y[i] = 3 + (2 * x[i, 0]) - x[i, 1];
        }

        var fit = new LinearRegressionSurrogate().Fit(x, y, [1e6, 1, 2, 1e6, 0.5]);

        Assert.Equal(2.0, fit.Coefficients[0], 6);
        Assert.Equal(-1.0, fit.Coefficients[1], 6);
        Assert.Equal(3.0, fit.Intercept, 6);
    }

    [Fact]
    public void LinearRegressionSurrogate_IdenticalColumns_TakesTheMinimumNormSolution()
    {
        double[,] x = { { 0, 0 }, { 1, 1 }, { 2, 2 } };
        double[] y = [0, 2, 4];

        var fit = new LinearRegressionSurrogate().Fit(x, y, [1, 1, 1]);

        Assert.Equal(1.0, fit.Coefficients[0], 9);
        Assert.Equal(1.0, fit.Coefficients[1], 9);
    }
}
