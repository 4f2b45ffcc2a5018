using Captum.Attr;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Gradient;

public sealed class NoiseTunnelTests
{
    [Fact]
    public void Attribute_SaliencyOnLinearModelWithNoise_SmoothGradIsTheWeightRow()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearModel(4, 3, seed: 61);
        var x = torch.randn(2, 4);

        using var result = NoiseTunnel.Create(new Saliency(model)).Attribute(x, new NoiseTunnelOptions<SaliencyOptions>
        {
            Samples = 6,
            Stdevs = 2.0,
            Seed = 1,
            MethodOptions = new SaliencyOptions { Target = 1, Abs = false },
        });

        TensorAssert.AllClose(result.Attribution, model.Lin.weight![1].expand(2, 4), 1e-6, 1e-5);
        Assert.Null(result.Delta);
    }

    [Fact]
    public void Attribute_InputXGradientOnLinearModel_CombinesTheNoisySamplesExactly()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearModel(3, 2, seed: 62);
        var x = torch.randn(2, 3);
        var weight = model.Lin.weight![0];

        // The same seed draws the same noise: rebuild the noisy samples (example-major) and combine them by hand.
        var noise = torch.randn([8, 3], ScalarType.Float32, torch.CPU, generator: new Generator(5, torch.CPU)) * 0.3;
        var samples = (x.repeat_interleave(4, 0) + noise) * weight;
        var grouped = samples.reshape(2, 4, 3);
        var mean = grouped.mean([1]);
        var meanSquare = grouped.square().mean([1]);

        var tunnel = NoiseTunnel.Create(new InputXGradient(model));
        NoiseTunnelOptions<InputXGradientOptions> Options(NoiseTunnelType type) => new()
        {
            NoiseType = type,
            Samples = 4,
            Stdevs = 0.3,
            Seed = 5,
            MethodOptions = new InputXGradientOptions { Target = 0 },
        };

        using var smooth = tunnel.Attribute(x, Options(NoiseTunnelType.SmoothGrad));
        using var squared = tunnel.Attribute(x, Options(NoiseTunnelType.SmoothGradSq));
        using var variance = tunnel.Attribute(x, Options(NoiseTunnelType.VarGrad));

        TensorAssert.AllClose(smooth.Attribution, mean, 1e-6, 1e-5);
        TensorAssert.AllClose(squared.Attribution, meanSquare, 1e-6, 1e-5);
        TensorAssert.AllClose(variance.Attribution, meanSquare - (mean * mean), 1e-6, 1e-4);
    }

    [Fact]
    public void Attribute_IntegratedGradientsWithDelta_ReturnsDeltasByExampleThenSample()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(63);
        var x = torch.randn(2, 4);
        var igOptions = new IntegratedGradientsOptions { Target = 1, Steps = 4, ReturnConvergenceDelta = true };

        using var tunnel = NoiseTunnel.Create(new IntegratedGradients(model)).Attribute(x, new NoiseTunnelOptions<IntegratedGradientsOptions>
        {
            Samples = 3,
            SamplesBatchSize = 2,
            Stdevs = 0.0,
            MethodOptions = igOptions,
        });
        using var direct = new IntegratedGradients(model).Attribute(x, igOptions);

        Assert.True(NoiseTunnel.Create(new IntegratedGradients(model)).HasConvergenceDelta);
        TensorAssert.AllClose(tunnel.Attribution, direct.Attribution, 1e-6, 1e-5);
        TensorAssert.AllClose(tunnel.Delta!, direct.Delta!.repeat_interleave(3, 0), 1e-6, 1e-5);
    }

    [Fact]
    public void Attribute_PerExampleBaselinesAndTargets_ExpandedPerSample()
    {
        using var scope = torch.NewDisposeScope();
        var model = new TwoInputModel(64);
        var a = torch.randn(3, 2);
        var b = torch.randn(3, 3);
        var scale = torch.rand(3, 1) + 0.5;
        var igOptions = new IntegratedGradientsOptions
        {
            Baselines = new BaselineValue[] { torch.randn(3, 2), 0.25 },
            Target = new[] { 2, 0, 1 },
            AdditionalForwardArgs = [scale],
            Steps = 8,
        };

        using var tunnel = NoiseTunnel.Create(new IntegratedGradients(model)).Attribute(Inputs.Of(a, b), new NoiseTunnelOptions<IntegratedGradientsOptions>
        {
            Samples = 4,
            Stdevs = new[] { 0.0, 0.0 },
            MethodOptions = igOptions,
        });
        using var direct = new IntegratedGradients(model).Attribute(Inputs.Of(a, b), igOptions);

        TensorAssert.AllClose(tunnel[0], direct[0], 1e-6, 1e-5);
        TensorAssert.AllClose(tunnel[1], direct[1], 1e-6, 1e-5);
    }

    [Fact]
    public void Attribute_DrawBaselineFromIdenticalReferences_EqualsThatBaseline()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearModel(4, 2, seed: 65);
        var x = torch.randn(2, 4);
        var reference = torch.randn(1, 4);

        using var result = NoiseTunnel.Create(new IntegratedGradients(model)).Attribute(x, new NoiseTunnelOptions<IntegratedGradientsOptions>
        {
            Samples = 5,
            Stdevs = 0.0,
            DrawBaselineFromDistribution = true,
            Seed = 3,
            MethodOptions = new IntegratedGradientsOptions { Baselines = reference.expand(3, 4), Target = 1, Steps = 2 },
        });

        TensorAssert.AllClose(result.Attribution, model.Lin.weight![1] * (x - reference), 1e-6, 1e-5);
    }

    [Fact]
    public void Attribute_DrawBaselineWithoutBaselines_ThrowsNamingTheOption()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.randn(2, 4);
        var saliency = Assert.Throws<ArgumentException>(() => NoiseTunnel.Create(new Saliency(TestModels.SmoothMlp(1))).Attribute(x, new NoiseTunnelOptions<SaliencyOptions>
        {
            DrawBaselineFromDistribution = true,
            MethodOptions = new SaliencyOptions { Target = 0 },
        }));
        var ig = Assert.Throws<ArgumentException>(() => NoiseTunnel.Create(new IntegratedGradients(TestModels.SmoothMlp(1))).Attribute(x, new NoiseTunnelOptions<IntegratedGradientsOptions>
        {
            DrawBaselineFromDistribution = true,
            MethodOptions = new IntegratedGradientsOptions { Target = 0 },
        }));

        Assert.Equal("DrawBaselineFromDistribution", saliency.ParamName);
        Assert.Equal("DrawBaselineFromDistribution", ig.ParamName);
    }

    [Fact]
    public void Attribute_WrapsEveryGradientMethod_ResultsOfTheInputsShapes()
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(66);
        var x = torch.randn(2, 4);
        var references = torch.randn(3, 4);
        NoiseTunnelOptions<T> Options<T>(T method)
            where T : AttributionOptions => new() { Samples = 3, Stdevs = 0.1, Seed = 4, MethodOptions = method };

        using var a = NoiseTunnel.Create(new GuidedBackprop(model)).Attribute(x, Options(new GuidedBackpropOptions { Target = 0 }));
        using var b = NoiseTunnel.Create(new Deconvolution(model)).Attribute(x, Options(new DeconvolutionOptions { Target = 0 }));
        using var c = NoiseTunnel.Create(new DeepLift(model)).Attribute(x, Options(new DeepLiftOptions { Target = 0, ReturnConvergenceDelta = true }));
        using var d = NoiseTunnel.Create(new DeepLiftShap(model)).Attribute(x, Options(new DeepLiftShapOptions { Baselines = references, Target = 0, ReturnConvergenceDelta = true }));
        using var e = NoiseTunnel.Create(new GradientShap(model)).Attribute(x, Options(new GradientShapOptions { Baselines = references, Target = 0, Seed = 1, ReturnConvergenceDelta = true }));

        foreach (var r in new[] { a, b, c, d, e })
        {
            Assert.Equal(x.shape, r.Attribution.shape);
        }

        Assert.Equal(new long[] { 6 }, c.Delta!.shape);
        Assert.Equal(new long[] { 18 }, d.Delta!.shape);
        Assert.Equal(new long[] { 30 }, e.Delta!.shape);
        TensorAssert.AllClose(c.Delta!, torch.zeros(6), 1e-5, 0);
    }

    [Fact]
    public void Attribute_SameSeedRepeats_DifferentSeedsDiffer()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(67);
        var x = torch.randn(2, 4);
        var tunnel = NoiseTunnel.Create(new Saliency(model));
        var options = new NoiseTunnelOptions<SaliencyOptions> { Samples = 4, SamplesBatchSize = 3, Stdevs = 0.5, Seed = 10, MethodOptions = new() { Target = 2 } };

        using var first = tunnel.Attribute(x, options);
        using var again = tunnel.Attribute(x, options);
        using var other = tunnel.Attribute(x, options with { Seed = 11 });

        TensorAssert.AllClose(again.Attribution, first.Attribution, 0, 0);
        Assert.True((other.Attribution - first.Attribution).abs().max().item<float>() > 1e-5);
    }

    [Fact]
    public void Attribute_BadArguments_ThrowNamingThem()
    {
        using var scope = torch.NewDisposeScope();
        var tunnel = NoiseTunnel.Create(new Saliency(TestModels.SmoothMlp(1)));
        var x = torch.randn(2, 4);
        var options = new NoiseTunnelOptions<SaliencyOptions> { MethodOptions = new() { Target = 0 } };

        Assert.Equal("Samples", Assert.Throws<ArgumentOutOfRangeException>(() => tunnel.Attribute(x, options with { Samples = 0 })).ParamName);
        Assert.Equal("SamplesBatchSize", Assert.Throws<ArgumentOutOfRangeException>(() => tunnel.Attribute(x, options with { SamplesBatchSize = 0 })).ParamName);
        Assert.Equal("Stdevs", Assert.Throws<ArgumentException>(() => tunnel.Attribute(x, options with { Stdevs = new[] { 1.0, 1.0 } })).ParamName);
        Assert.Equal("target", Assert.Throws<ArgumentException>(() => tunnel.Attribute(x, options with { MethodOptions = new() { Target = new[] { 0, 1, 2 } } })).ParamName);
    }

    [Fact]
    public void Attribute_CancelledBetweenBatches_Throws()
    {
        using var scope = torch.NewDisposeScope();
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        var tunnel = NoiseTunnel.Create(new Saliency(TestModels.SmoothMlp(1)));
        Assert.Throws<OperationCanceledException>(() => tunnel.Attribute(torch.randn(2, 4), new NoiseTunnelOptions<SaliencyOptions> { MethodOptions = new() { Target = 0 } }, cancel.Token));
    }

    [Theory]
    [InlineData(NoiseTunnelType.SmoothGrad)]
    [InlineData(NoiseTunnelType.VarGrad)]
    public void Attribute_FeatureAblationOfLinearModel_EqualsNoiseTunnelOverInputXGradient(NoiseTunnelType type)
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearModel(4, 3, seed: 31);
        var x = torch.randn(3, 4);

        // On a linear model, ablating x_j to 0 removes w_j x_j, which is also input times gradient: per noisy
        // sample the two agree, so with the same draws their combinations do.
        using var ablation = NoiseTunnel.Create(new FeatureAblation(model)).Attribute(x, new NoiseTunnelOptions<FeatureAblationOptions>
        {
            NoiseType = type, Samples = 5, SamplesBatchSize = 2, Stdevs = 0.4, Seed = 8, MethodOptions = new() { Target = 2 },
        });
        using var gradient = NoiseTunnel.Create(new InputXGradient(model)).Attribute(x, new NoiseTunnelOptions<InputXGradientOptions>
        {
            NoiseType = type, Samples = 5, SamplesBatchSize = 2, Stdevs = 0.4, Seed = 8, MethodOptions = new() { Target = 2 },
        });

        TensorAssert.AllClose(ablation.Attribution, gradient.Attribution, 1e-5, 1e-5);
        Assert.False(NoiseTunnel.Create(new FeatureAblation(model)).HasConvergenceDelta);
    }

    [Fact]
    public void Attribute_FeatureAblationWithAMaskPerExample_EqualsTheMethodWithoutNoise()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(33);
        var x = torch.randn(2, 4);
        var mask = torch.tensor(new long[,] { { 0, 0, 1, 1 }, { 0, 1, 1, 2 } });
        var options = new FeatureAblationOptions { Target = 1, FeatureMask = mask };

        // Without noise every sample is its example, so each combination is the method's own result.
        using var tunnel = NoiseTunnel.Create(new FeatureAblation(model)).Attribute(x, new NoiseTunnelOptions<FeatureAblationOptions>
        {
            Samples = 3, SamplesBatchSize = 2, Stdevs = 0.0, MethodOptions = options,
        });
        using var direct = new FeatureAblation(model).Attribute(x, options);

        TensorAssert.AllClose(tunnel.Attribution, direct.Attribution, 1e-6, 1e-7);
        Assert.Equal(new long[] { 2, 4 }, mask.shape);
    }
}
