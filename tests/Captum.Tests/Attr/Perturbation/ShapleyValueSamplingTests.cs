using Captum.Attr;
using Captum.Forward;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Perturbation;

public sealed class ShapleyValueSamplingTests
{
    [Fact]
    public void Attribute_AnyModel_EveryExampleSumsToOutputMinusBaselineOutput()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(1, inputs: 5);
        var x = torch.randn(3, 5);
        var baseline = torch.randn(1, 5);

        using var result = new ShapleyValueSampling(model).Attribute(x, new ShapleyValueSamplingOptions { Target = 2, Baselines = baseline, Samples = 7, Seed = 3 });

        using var noGrad = torch.no_grad();
        var gap = model.call(x)[.., 2] - model.call(baseline.expand(3, 5))[.., 2];
        TensorAssert.AllClose(result.Attribution.sum(dim: 1), gap, 1e-5, 1e-4);
    }

    [Fact]
    public void Attribute_TwoFeatureInteraction_SamplingAveragesTowardsTheExactShapleyValues()
    {
        using var scope = torch.NewDisposeScope();

        // F(x) = x0 * x1 at (1, 1), baseline 0: the exact Shapley values are 1/2 and 1/2; each permutation gives
        // (1, 0) or (0, 1), so many permutations average close to (1/2, 1/2).
        ForwardFunction f = (Func<Tensor, Tensor>)(x => x[.., 0] * x[.., 1]);
        using var result = new ShapleyValueSampling(f).Attribute(torch.ones(1, 2), new ShapleyValueSamplingOptions { Samples = 400, Seed = 5 });

        TensorAssert.AllClose(result.Attribution, torch.full(1, 2, 0.5f), 0.1, 0);
        TensorAssert.AllClose(result.Attribution.sum(), torch.tensor(1f), 1e-6, 0);
    }

    [Fact]
    public void Attribute_SameSeed_RepeatsExactlyAndPerturbationsPerEvalDoesNotChangeIt()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(2, inputs: 6);
        var x = torch.randn(2, 6);
        var method = new ShapleyValueSampling(model);
        var options = new ShapleyValueSamplingOptions { Target = 0, Samples = 5, Seed = 42 };

        using var first = method.Attribute(x, options);
        using var again = method.Attribute(x, options);
        using var batched = method.Attribute(x, options with { PerturbationsPerEval = 4 });
        using var otherSeed = method.Attribute(x, options with { Seed = 43 });

        TensorAssert.AllClose(again.Attribution, first.Attribution, 0, 0);
        TensorAssert.AllClose(batched.Attribution, first.Attribution, 1e-6, 1e-5);
        Assert.False(otherSeed.Attribution.allclose(first.Attribution, 1e-6, 1e-6), "a different seed should draw different permutations");
    }

    [Fact]
    public void Attribute_CallersGenerator_ContinuesItsStream()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(3, inputs: 4);
        var x = torch.randn(1, 4);
        var method = new ShapleyValueSampling(model);
        using var generator = new Generator(9, torch.CPU);

        using var first = method.Attribute(x, new ShapleyValueSamplingOptions { Target = 1, Samples = 2, Generator = generator });
        using var second = method.Attribute(x, new ShapleyValueSamplingOptions { Target = 1, Samples = 2, Generator = generator });
        using var seeded = method.Attribute(x, new ShapleyValueSamplingOptions { Target = 1, Samples = 2, Seed = 9 });

        TensorAssert.AllClose(first.Attribution, seeded.Attribution, 0, 0);
        Assert.False(second.Attribution.allclose(first.Attribution, 1e-7, 1e-7), "the second call should continue the caller's generator");
    }

    [Fact]
    public void Attribute_MaskSpanningTwoInputs_AddsTheGroupAtOnce()
    {
        using var scope = torch.NewDisposeScope();
        var model = new TwoInputModel(seed: 6);
        var a = torch.randn(2, 2);
        var b = torch.randn(2, 3);
        var scale = torch.ones(2, 1);

        // Two features: 0 = a, 1 = b; with two features the Shapley value is exact from both orders.
        using var result = new ShapleyValueSampling(model).Attribute(Inputs.Of(a, b), new ShapleyValueSamplingOptions
        {
            Target = 0,
            AdditionalForwardArgs = [scale],
            FeatureMask = new[] { torch.zeros(1, 2, ScalarType.Int64), torch.ones(1, 3, ScalarType.Int64) },
            Samples = 50,
            Seed = 1,
        });

        using var noGrad = torch.no_grad();
        Tensor F(Tensor pa, Tensor pb) => model.call(pa, pb, scale)[.., 0];
        var za = torch.zeros_like(a);
        var zb = torch.zeros_like(b);
        var shapleyA = 0.5 * ((F(a, zb) - F(za, zb)) + (F(a, b) - F(za, b)));
        Assert.Equal(2L, result.Attributions.Count);

        // Every element of a feature carries the feature's value; 50 draws of two orders are not exactly half each,
        // so compare with the exact value loosely and check the efficiency sum tightly.
        TensorAssert.AllClose(result[0][.., 0], result[0][.., 1], 0, 0);
        TensorAssert.AllClose(result[1][.., 0], result[1][.., 2], 0, 0);
        TensorAssert.AllClose(result[0][.., 0] + result[1][.., 0], F(a, b) - F(za, zb), 1e-5, 1e-4);
        TensorAssert.AllClose(result[0][.., 0], shapleyA, 0.5 * (F(a, b) - F(za, zb)).abs().max().item<float>() + 1e-4, 0);
    }

    [Fact]
    public void Attribute_ForwardReturnsScalarForBatch_AttributionsHaveFirstDimensionOne()
    {
        using var scope = torch.NewDisposeScope();
        var additive = new AdditiveModel(4, seed: 7);
        ForwardFunction total = ForwardFunction.FromDelegate((Tensor[] t) => additive.call(t[0]).sum());
        var x = torch.randn(3, 4);

        using var result = new ShapleyValueSampling(total).Attribute(x, new ShapleyValueSamplingOptions { Samples = 3, Seed = 2 });

        Assert.Equal([1L, 4L], result.Attribution.shape);
        using var noGrad = torch.no_grad();
        TensorAssert.AllClose(result.Attribution, additive.Contributions(x, torch.zeros_like(x)).sum(dim: 0, keepdim: true), 1e-5, 1e-4);
    }

    [Fact]
    public void Attribute_IntegerTokenIds_ReplacesWithIntegerBaseline()
    {
        using var scope = torch.NewDisposeScope();
        var model = new BagOfWords(seed: 8);
        var tokens = torch.tensor(new long[,] { { 3, 5, 7 } });

        using var result = new ShapleyValueSampling(model).Attribute(tokens, new ShapleyValueSamplingOptions { Target = 0, Samples = 4, Seed = 1 });

        using var noGrad = torch.no_grad();
        var gap = model.call(tokens)[0, 0] - model.call(torch.zeros_like(tokens))[0, 0];
        TensorAssert.AllClose(result.Attribution.sum(), gap, 1e-5, 1e-4);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    public void Attribute_SamplesBelowOne_ThrowsNamingSamples(int samples)
    {
        using var scope = torch.NewDisposeScope();
        var method = new ShapleyValueSampling(TestModels.SmoothMlp(1));
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => method.Attribute(torch.randn(1, 4), new ShapleyValueSamplingOptions { Target = 0, Samples = samples }));
        Assert.Equal("Samples", ex.ParamName);
    }

    [Fact]
    public void Attribute_PerturbationsPerEvalAboveOneWithScalarOutput_ThrowsNamingIt()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(1);
        ForwardFunction total = ForwardFunction.FromDelegate((Tensor[] t) => model.call(t[0]).sum());
        var ex = Assert.Throws<ArgumentException>(() => new ShapleyValueSampling(total).Attribute(torch.randn(2, 4), new ShapleyValueSamplingOptions { PerturbationsPerEval = 2 }));
        Assert.Equal("PerturbationsPerEval", ex.ParamName);
    }
}
