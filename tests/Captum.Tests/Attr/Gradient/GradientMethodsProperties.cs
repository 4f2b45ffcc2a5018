using Captum.Attr;
using FsCheck.Xunit;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Gradient;

/// <summary>The laws of the gradient methods, on random models, inputs and baselines.</summary>
public sealed class GradientMethodsProperties
{
    /// <summary>
    /// DeepLift's rescale rule telescopes: on a model whose nonlinearities are all modules, the attributions sum to
    /// F(x) - F(baseline) up to float32 rounding, for every supported activation.
    /// </summary>
    [Property(MaxTest = 40)]
    public void DeepLift_ModuleMlp_DeltaIsRoundingOnly(int seed, byte activationChoice)
    {
        using var scope = torch.NewDisposeScope();
        var activation = GradientTestModels.Activations[activationChoice % GradientTestModels.Activations.Length];
        var model = GradientTestModels.Mlp(seed, activation);
        var x = torch.randn(4, 4) * 2;
        var baseline = torch.randn(4, 4);
        var target = Math.Abs(seed % 3);

        using var result = new DeepLift(model).Attribute(x, new DeepLiftOptions { Baselines = baseline, Target = target, ReturnConvergenceDelta = true });

        using var noGrad = torch.no_grad();
        var gap = result.Attribution.sum(1) - (model.call(x)[TensorIndex.Colon, target] - model.call(baseline)[TensorIndex.Colon, target]);
        TensorAssert.AllClose(result.Delta!, gap, 1e-5, 1e-4);
        Assert.True(result.Delta!.abs().max().item<float>() < 1e-4, $"{activation}: |delta| {result.Delta!.abs().max().item<float>()}");
    }

    [Property(MaxTest = 25)]
    public void DeepLiftShap_AnyDistribution_EqualsMeanOfDeepLiftPerReference(int seed)
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(seed, "relu");
        var x = torch.randn(2, 4);
        var m = 2 + Math.Abs(seed % 4);
        var references = torch.randn(m, 4);

        using var shap = new DeepLiftShap(model).Attribute(x, new DeepLiftShapOptions { Baselines = references, Target = 1 });

        var deepLift = new DeepLift(model);
        var sum = torch.zeros_like(x);
        for (var j = 0; j < m; j++)
        {
            using var one = deepLift.Attribute(x, new DeepLiftOptions { Baselines = references[j].unsqueeze(0), Target = 1 });
            sum += one.Attribution;
        }

        TensorAssert.AllClose(shap.Attribution, sum / m, 1e-6, 1e-4);
    }

    /// <summary>
    /// GradientShap's delta per sample has mean zero (the average of the gradient along the line, times the
    /// difference, is F(x) - F(reference)), so the mean delta over S samples has a spread of order 1/sqrt(S). Over
    /// 24 fixed seeds and two examples, the root mean square of the mean delta at 400 samples must be below a third
    /// of that at 4 samples (the expected ratio is sqrt(100) = 10; over 60 random models the smallest measured
    /// ratio was 6.5), or at float32 rounding level when the model is nearly linear.
    /// </summary>
    [Property(MaxTest = 15)]
    public void GradientShap_MoreSamples_MeanDeltaShrinks(int seed)
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(seed, "tanh");
        var x = torch.randn(2, 4) * 2;
        var references = torch.randn(8, 4) * 2;
        var shap = new GradientShap(model);
        const int Seeds = 24;

        double RootMeanSquareOfMeanDelta(int samples)
        {
            var squares = 0.0;
            for (var s = 1; s <= Seeds; s++)
            {
                using var result = shap.Attribute(x, new GradientShapOptions { Baselines = references, Target = 0, Samples = samples, Seed = s, ReturnConvergenceDelta = true });
                var meanDelta = result.Delta!.reshape(2, samples).mean([1], type: ScalarType.Float64);
                squares += meanDelta.square().sum().item<double>();
            }

            return Math.Sqrt(squares / (2 * Seeds));
        }

        var few = RootMeanSquareOfMeanDelta(4);
        var many = RootMeanSquareOfMeanDelta(400);
        Assert.True(many <= Math.Max(few / 3, 1e-5), $"rms of the mean delta: {few:G3} at 4 samples, {many:G3} at 400");
    }

    /// <summary>With no noise every sample is the input itself: SmoothGrad is the wrapped method, VarGrad zero.</summary>
    [Property(MaxTest = 40)]
    public void NoiseTunnel_ZeroStdevs_SmoothGradEqualsWrappedMethodAndVarGradIsZero(int seed, byte methodChoice)
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(seed, "relu");
        var x = torch.randn(3, 4);
        var baseline = torch.randn(1, 4);
        var samples = 1 + Math.Abs(seed % 5);
        int? batch = seed % 2 == 0 ? null : 2;

        (AttributionResult Direct, Func<NoiseTunnelType, AttributionResult> Tunnel) Run<T>(IAttributionMethod<T> method, T options)
            where T : AttributionOptions, new() =>
            (method.Attribute(x, options), type => NoiseTunnel.Create(method).Attribute(x, new NoiseTunnelOptions<T>
            {
                NoiseType = type,
                Samples = samples,
                SamplesBatchSize = batch,
                Stdevs = 0.0,
                MethodOptions = options,
            }));

        var (direct, tunnel) = (methodChoice % 6) switch
        {
            0 => Run(new Saliency(model), new SaliencyOptions { Target = 1, Abs = false }),
            1 => Run(new InputXGradient(model), new InputXGradientOptions { Target = 1 }),
            2 => Run(new IntegratedGradients(model), new IntegratedGradientsOptions { Baselines = baseline, Target = 1, Steps = 8, ReturnConvergenceDelta = true }),
            3 => Run(new DeepLift(model), new DeepLiftOptions { Baselines = baseline, Target = 1, ReturnConvergenceDelta = true }),
            4 => Run(new GuidedBackprop(model), new GuidedBackpropOptions { Target = 1 }),
            _ => Run(new Deconvolution(model), new DeconvolutionOptions { Target = 1 }),
        };

        using (direct)
        using (var smooth = tunnel(NoiseTunnelType.SmoothGrad))
        using (var squared = tunnel(NoiseTunnelType.SmoothGradSq))
        using (var variance = tunnel(NoiseTunnelType.VarGrad))
        {
            // The tunnel runs the method on a batch of n * samples rows, and libtorch may round a larger batch
            // differently: float32 errors are relative to the largest attribution, not to each element.
            var scale = direct.Attribution.abs().max().item<float>() + 1e-3;
            TensorAssert.AllClose(smooth.Attribution, direct.Attribution, 1e-6 * scale, 1e-6);
            TensorAssert.AllClose(squared.Attribution, direct.Attribution.square(), 1e-6 * scale * scale, 1e-5);
            TensorAssert.AllClose(variance.Attribution, torch.zeros_like(x), 1e-6 * scale * scale, 0);
            if (direct.Delta is { } delta)
            {
                // A delta is a difference of sums, attributions minus (F(x) - F(baseline)): its rounding is relative
                // to the size of those terms, not to the (small) delta.
                using var noGrad = torch.no_grad();
                var sumScale = direct.Attribution.abs().sum(1).max().item<float>()
                    + model.call(x).abs().max().item<float>() + model.call(baseline).abs().max().item<float>() + 1e-3;
                TensorAssert.AllClose(smooth.Delta!, delta.repeat_interleave(samples, 0), 1e-6 * sumScale, 1e-6);
            }
        }
    }

    /// <summary>
    /// Every method leaves the model exactly as it found it: the same parameters bit for bit, the same outputs, the
    /// same plain gradients and no hooks, after a successful call and after calls that throw (an invalid target, and
    /// an extra forward argument that fails while the gradient overrides are in place).
    /// </summary>
    [Property(MaxTest = 36)]
    public void EveryMethod_AfterCallsThatSucceedOrThrow_ModelUnchanged(int seed, byte methodChoice)
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(seed, seed % 2 == 0 ? "relu" : "tanh", inPlace: seed % 3 == 0 && seed % 2 == 0);
        var x = torch.randn(2, 4);
        var references = torch.randn(3, 4);
        var parameters = GradientTestModels.Snapshot(model);
        Tensor outputs;
        using (torch.no_grad())
        {
            outputs = model.call(x);
        }

        using var gradientBefore = new Saliency(model).Attribute(x, new SaliencyOptions { Target = 0, Abs = false });

        Action<int, object?[]?> call = (methodChoice % 12) switch
        {
            0 => (t, extra) => new Saliency(model).Attribute(x, new SaliencyOptions { Target = t, AdditionalForwardArgs = extra }).Dispose(),
            1 => (t, extra) => new InputXGradient(model).Attribute(x, new InputXGradientOptions { Target = t, AdditionalForwardArgs = extra }).Dispose(),
            2 => (t, extra) => new GuidedBackprop(model).Attribute(x, new GuidedBackpropOptions { Target = t, AdditionalForwardArgs = extra }).Dispose(),
            3 => (t, extra) => new Deconvolution(model).Attribute(x, new DeconvolutionOptions { Target = t, AdditionalForwardArgs = extra }).Dispose(),
            4 => (t, extra) => new DeepLift(model).Attribute(x, new DeepLiftOptions { Target = t, AdditionalForwardArgs = extra, ReturnConvergenceDelta = true }).Dispose(),
            5 => (t, extra) => new DeepLiftShap(model).Attribute(x, new DeepLiftShapOptions { Baselines = references, Target = t, AdditionalForwardArgs = extra }).Dispose(),
            6 => (t, extra) => new GradientShap(model).Attribute(x, new GradientShapOptions { Baselines = references, Target = t, AdditionalForwardArgs = extra, Seed = 1 }).Dispose(),
            7 => (t, extra) => NoiseTunnel.Create(new DeepLift(model)).Attribute(x, new NoiseTunnelOptions<DeepLiftOptions> { Seed = 2, MethodOptions = new() { Target = t, AdditionalForwardArgs = extra } }).Dispose(),
            8 => (t, extra) => NoiseTunnel.Create(new GuidedBackprop(model)).Attribute(x, new NoiseTunnelOptions<GuidedBackpropOptions> { Seed = 3, MethodOptions = new() { Target = t, AdditionalForwardArgs = extra } }).Dispose(),
            9 => (t, extra) => new LayerDeepLift(model, "lin2").Attribute(x, new LayerDeepLiftOptions { Target = t, AdditionalForwardArgs = extra }).Dispose(),
            10 => (t, extra) => new LayerGradientShap(model, "act1").Attribute(x, new LayerGradientShapOptions { Baselines = references, Target = t, AdditionalForwardArgs = extra, Seed = 4 }).Dispose(),
            _ => (t, extra) => NoiseTunnel.Create(new IntegratedGradients(model)).Attribute(x, new NoiseTunnelOptions<IntegratedGradientsOptions> { Seed = 5, MethodOptions = new() { Target = t, AdditionalForwardArgs = extra, Steps = 4 } }).Dispose(),
        };

        call(1, null);
        Assert.Equal("target", Assert.Throws<ArgumentException>(() => call(3, null)).ParamName);
        Assert.Throws<ArgumentException>(() => call(0, [x]));

        Assert.Equal(0, GradientTestModels.HookCount(model));
        foreach (var (name, value) in model.state_dict())
        {
            TensorAssert.AllClose(value, parameters[name], 0, 0, name);
        }

        using (torch.no_grad())
        {
            TensorAssert.AllClose(model.call(x), outputs, 0, 0);
        }

        using var gradientAfter = new Saliency(model).Attribute(x, new SaliencyOptions { Target = 0, Abs = false });
        TensorAssert.AllClose(gradientAfter.Attribution, gradientBefore.Attribution, 0, 0);
    }
}
