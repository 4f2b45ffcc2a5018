using Captum.Attr;
using Captum.Forward;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Perturbation;

public sealed class ProductBaselinesTests
{
    private static (double, double) Scalars(Baselines b) => (b.For(0, 2).Scalar!.Value, b.For(1, 2).Scalar!.Value);

    [Fact]
    public void Sample_ManyDraws_GivesOnlyProductElementsAndEveryOne()
    {
        var product = new ProductBaselines([[0.0, 1.0], [2.0, 3.0, 4.0]], seed: 3);
        var seen = new HashSet<(double, double)>();
        for (var i = 0; i < 300; i++)
        {
            var sample = product.Sample();
            Assert.Equal(2, sample.PerInput!.Count);
            var pair = Scalars(sample);
            Assert.Contains(pair.Item1, new[] { 0.0, 1.0 });
            Assert.Contains(pair.Item2, new[] { 2.0, 3.0, 4.0 });
            seen.Add(pair);
        }

        Assert.Equal(6L, product.Count);
        Assert.Equal(6, seen.Count);
    }

    [Fact]
    public void Sample_ManyDraws_EachChoiceNearlyUniform()
    {
        var product = new ProductBaselines([[0.0, 1.0, 2.0, 3.0]], seed: 5);
        var counts = new int[4];
        for (var i = 0; i < 4000; i++)
        {
            counts[(int)product.Sample().For(0, 1).Scalar!.Value]++;
        }

        // Binomial(4000, 1/4): standard deviation about 27; 150 is more than 5 of them.
        Assert.All(counts, c => Assert.InRange(c, 1000 - 150, 1000 + 150));
    }

    [Fact]
    public void Sample_SameSeed_SameSequence()
    {
        var a = new ProductBaselines([[0.0, 1.0, 2.0], [5.0, 6.0]], seed: 11);
        var b = new ProductBaselines([[0.0, 1.0, 2.0], [5.0, 6.0]], seed: 11);
        var c = new ProductBaselines([[0.0, 1.0, 2.0], [5.0, 6.0]], seed: 12);
        var first = Enumerable.Range(0, 40).Select(_ => Scalars(a.Sample())).ToList();
        var second = Enumerable.Range(0, 40).Select(_ => Scalars(b.Sample())).ToList();
        var other = Enumerable.Range(0, 40).Select(_ => Scalars(c.Sample())).ToList();

        Assert.Equal(first, second);
        Assert.NotEqual(first, other);
    }

    [Fact]
    public void Sample_TensorChoices_HandsOutTheCallersTensors()
    {
        using var scope = torch.NewDisposeScope();
        var low = torch.zeros(1, 3);
        var high = torch.ones(1, 3);
        var product = new ProductBaselines([[low, high]], seed: 1);

        for (var i = 0; i < 10; i++)
        {
            var tensor = product.Sample().For(0, 1).Tensor!;
            Assert.True(ReferenceEquals(tensor, low) || ReferenceEquals(tensor, high));
        }
    }

    [Fact]
    public void Constructor_EmptyChoiceList_ThrowsNamingBaselineValues()
    {
        var none = Assert.Throws<ArgumentException>(() => new ProductBaselines([]));
        var empty = Assert.Throws<ArgumentException>(() => new ProductBaselines([[1.0], []]));

        Assert.Equal("baselineValues", none.ParamName);
        Assert.Equal("baselineValues", empty.ParamName);
        Assert.Contains("[1]", empty.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FeatureAblation_WithProductBaselines_EqualsFeatureAblationWithTheSameSample()
    {
        using var scope = torch.NewDisposeScope();
        var model = new TwoInputModel(4);
        var a = torch.randn(3, 2, generator: new Generator(1));
        var b = torch.randn(3, 3, generator: new Generator(2));
        var scale = torch.tensor(1.5f);
        var choices = new BaselineValue[][]
        {
            [0.0, torch.randn(1, 2, generator: new Generator(3)), -1.0],
            [torch.randn(1, 3, generator: new Generator(4)), 2.0],
        };
        var method = new FeatureAblation(model);

        for (var call = 0; call < 4; call++)
        {
            var drawn = new ProductBaselines(choices, seed: 20 + call);
            var replay = new ProductBaselines(choices, seed: 20 + call).Sample();
            using var withProduct = method.Attribute(Inputs.Of(a, b), new FeatureAblationOptions { Baselines = drawn, Target = 1, AdditionalForwardArgs = [scale] });
            using var withSample = method.Attribute(Inputs.Of(a, b), new FeatureAblationOptions { Baselines = replay, Target = 1, AdditionalForwardArgs = [scale] });

            TensorAssert.AllClose(withProduct[0], withSample[0], 0, 0);
            TensorAssert.AllClose(withProduct[1], withSample[1], 0, 0);
        }
    }

    [Fact]
    public void ShapleyValueSampling_WithProductBaselines_SumsToOutputMinusTheDrawnBaselinesOutput()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearModel(4, 2, seed: 6);
        var x = torch.randn(2, 4, generator: new Generator(7));
        var baselines = new ProductBaselines([[0.5, -0.5, 1.0]], seed: 9);
        var drawn = new ProductBaselines([[0.5, -0.5, 1.0]], seed: 9).Sample().For(0, 1).Scalar!.Value;

        using var result = new ShapleyValueSampling(model).Attribute(x, new ShapleyValueSamplingOptions { Baselines = baselines, Target = 0, Samples = 3, Seed = 1 });

        // Efficiency: every sampled order adds all features, so the attributions sum to F(x) - F(baseline) per example.
        using var noGrad = torch.no_grad();
        var expected = model.forward(x)[.., 0] - model.forward(torch.full_like(x, drawn))[.., 0];
        TensorAssert.AllClose(result.Attribution.sum(1), expected, 1e-5, 1e-4);
    }

    [Fact]
    public void FromFunction_CalledOncePerAttributeWithTheInputs()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearModel(3, 1, seed: 8);
        var x = torch.randn(2, 3, generator: new Generator(8));
        var calls = 0;
        var baselines = Baselines.FromFunction(inputs =>
        {
            calls++;
            Assert.Same(x, inputs.Tensors[0]);
            return 0.25;
        });

        using var result = new FeatureAblation(model).Attribute(x, new FeatureAblationOptions { Baselines = baselines, Target = 0, PerturbationsPerEval = 2 });

        Assert.Equal(1, calls);
        TensorAssert.AllClose(result.Attribution, model.Lin.weight![0] * (x - 0.25), 1e-5, 1e-4);
    }

    [Fact]
    public void GradientShap_WithProductBaselines_EqualsGradientShapWithTheSameSample()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(2);
        var x = TestModels.Normal(3, 2, 4);
        var choices = new BaselineValue[][] { [TestModels.Normal(4, 3, 4), TestModels.Normal(5, 2, 4)] };
        var method = new GradientShap(model);

        using var withProduct = method.Attribute(x, new GradientShapOptions { Baselines = new ProductBaselines(choices, seed: 2), Target = 1, Samples = 4, Seed = 3 });
        using var withSample = method.Attribute(x, new GradientShapOptions { Baselines = new ProductBaselines(choices, seed: 2).Sample(), Target = 1, Samples = 4, Seed = 3 });

        TensorAssert.AllClose(withProduct.Attribution, withSample.Attribution, 0, 0);
    }

    [Fact]
    public void IntegratedGradients_WithABaselineFunction_ThrowsNamingBaselines()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(1);
        var x = TestModels.Normal(2, 2, 4);

        var ex = Assert.Throws<ArgumentException>(() =>
            new IntegratedGradients(model).Attribute(x, new IntegratedGradientsOptions { Baselines = new ProductBaselines([[0.0, 1.0]]), Target = 0 }));

        Assert.Equal("baselines", ex.ParamName);
    }

    [Fact]
    public void Resolve_FunctionReturningAFunction_ThrowsNamingBaselines()
    {
        using var scope = torch.NewDisposeScope();
        var nested = Baselines.FromFunction(_ => Baselines.FromFunction(_ => 0.0));

        var ex = Assert.Throws<ArgumentException>(() => nested.Resolve(torch.zeros(1, 2)));

        Assert.Equal("baselines", ex.ParamName);
    }

    [Fact]
    public void ProductBaselines_ChoicesForTwoInputsGivenOneInput_ThrowsNamingBaselines()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearModel(3, 1, seed: 8);

        var ex = Assert.Throws<ArgumentException>(() =>
            new FeatureAblation(model).Attribute(torch.randn(2, 3), new FeatureAblationOptions { Baselines = new ProductBaselines([[0.0], [1.0]]) }));

        Assert.Equal("baselines", ex.ParamName);
    }
}
