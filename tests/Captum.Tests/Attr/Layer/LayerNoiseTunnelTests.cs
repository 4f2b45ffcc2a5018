using Captum.Attr;
using Captum.Layers;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Layer;

public sealed class LayerNoiseTunnelTests
{
    [Theory]
    [InlineData(NoiseTunnelType.SmoothGrad)]
    [InlineData(NoiseTunnelType.SmoothGradSq)]
    [InlineData(NoiseTunnelType.VarGrad)]
    public void Attribute_LayerIntegratedGradientsOnTheInputMap_EqualsNoiseTunnelOverIntegratedGradients(NoiseTunnelType type)
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(3);
        var wrapper = new ModelInputWrapper(model);
        var x = torch.randn(3, 4);
        var baseline = torch.randn(1, 4);

        using var layer = NoiseTunnel.Create(new LayerIntegratedGradients(wrapper, "input_maps." + wrapper.ArgumentNames[0])).Attribute(x, new NoiseTunnelOptions<LayerIntegratedGradientsOptions>
        {
            NoiseType = type,
            Samples = 5,
            SamplesBatchSize = 2,
            Stdevs = 0.3,
            Seed = 21,
            MethodOptions = new() { Baselines = baseline, Target = new long[] { 0, 2, 1 }, Steps = 16, ReturnConvergenceDelta = true },
        });
        using var input = NoiseTunnel.Create(new IntegratedGradients(model)).Attribute(x, new NoiseTunnelOptions<IntegratedGradientsOptions>
        {
            NoiseType = type,
            Samples = 5,
            SamplesBatchSize = 2,
            Stdevs = 0.3,
            Seed = 21,
            MethodOptions = new() { Baselines = baseline, Target = new long[] { 0, 2, 1 }, Steps = 16, ReturnConvergenceDelta = true },
        });

        TensorAssert.AllClose(layer.Attribution, input.Attribution, 1e-5, 1e-6);
        Assert.Equal([15L], layer.Delta!.shape);
        TensorAssert.AllClose(layer.Delta!, input.Delta!, 1e-5, 1e-6);
    }

    [Fact]
    public void Attribute_NoNoise_EqualsTheWrappedLayerMethodPerLayer()
    {
        using var scope = torch.NewDisposeScope();
        var model = new SequentialMlp(seed: 5);
        var x = torch.randn(2, 4);
        var lig = new LayerIntegratedGradients(model, new LayerReference[] { "net.0", "net.2" });
        var options = new LayerIntegratedGradientsOptions { Target = 1, Steps = 8 };

        using var tunnel = NoiseTunnel.Create(lig).Attribute(x, new NoiseTunnelOptions<LayerIntegratedGradientsOptions> { Samples = 3, Stdevs = 0.0, MethodOptions = options });
        using var direct = lig.Attribute(x, options);

        Assert.Equal(2, tunnel.Layers.Count);
        TensorAssert.AllClose(tunnel[0], direct[0], 1e-6, 1e-7);
        TensorAssert.AllClose(tunnel[1], direct[1], 1e-6, 1e-7);
        Assert.Null(tunnel.Delta);
    }

    [Fact]
    public void Attribute_VarGradOfLayerGradientXActivationWithSeed_NonNegativeAndRepeatable()
    {
        using var scope = torch.NewDisposeScope();
        var model = new SequentialMlp(seed: 6);
        var x = torch.randn(2, 4);
        var method = new LayerGradientXActivation(model, "net.0");
        var options = new NoiseTunnelOptions<LayerGradientXActivationOptions> { Samples = 4, Stdevs = 0.2, Seed = 3, NoiseType = NoiseTunnelType.VarGrad, MethodOptions = new() { Target = 0 } };

        using var first = NoiseTunnel.Create(method).Attribute(x, options);
        using var again = NoiseTunnel.Create(method).Attribute(x, options);
        using var other = NoiseTunnel.Create(method).Attribute(x, options with { Seed = 4 });

        Assert.Equal(new long[] { 2, 6 }, first.Attribution.shape);
        Assert.True(first.Attribution.ge(0).all().item<bool>(), "a variance is never negative");
        TensorAssert.AllClose(first.Attribution, again.Attribution, 0, 0);
        Assert.False(first.Attribution.allclose(other.Attribution));
        Assert.False(NoiseTunnel.Create(method).HasConvergenceDelta);
        Assert.True(NoiseTunnel.Create(new LayerConductance(model, "net.0")).HasConvergenceDelta);
    }

    [Fact]
    public void Attribute_LayerValuesNotBatchFirst_ThrowsNamingTheMethod()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.randn(2, 4);

        var ex = Assert.Throws<ArgumentException>(() => NoiseTunnel.Create(new NotBatchFirst()).Attribute(x, new NoiseTunnelOptions<LayerGradientXActivationOptions> { Samples = 3, Stdevs = 0.1, Seed = 1 }));

        Assert.Equal("AttributionMethod", ex.ParamName);
        Assert.Contains("[7]", ex.Message, StringComparison.Ordinal);
    }

    /// <summary>A layer method whose layer value has no batch dimension (as an LSTM's h_n has it second).</summary>
    private sealed class NotBatchFirst : ILayerAttributionMethod<LayerGradientXActivationOptions>
    {
        public bool HasConvergenceDelta => false;

        public IReadOnlyList<nn.Module> Layers => [];

        public LayerAttributionResult Attribute(Inputs inputs, LayerGradientXActivationOptions? options = null, CancellationToken cancellationToken = default) =>
            new([[torch.zeros(7)]], null);
    }
}
