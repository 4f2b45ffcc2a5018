using Captum.Attr;
using Captum.Forward;
using FsCheck.Xunit;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Core;

/// <summary>
/// Image batches handed to a model in channels-last order (<see cref="ChannelsLastLayout"/>): only after a probe shows
/// the model computes the same from either order, never for a model that depends on the order, never touching the
/// caller's tensors, and with the same attributions as in contiguous order.
/// </summary>
public sealed class ChannelsLastLayoutTests
{
    [Fact]
    public void Attribute_ConvNetAtBatch8_ModelGetsChannelsLastAndSameAttributions()
    {
        using var model = new Recorder(new TinyResNet(seed: 11));
        using var x = torch.randn(8, 3, 16, 16, generator: new Generator(12));
        var ig = new IntegratedGradients(model);
        var options = new IntegratedGradientsOptions { Steps = 8, Target = 2, ReturnConvergenceDelta = true };

        using var contiguous = WithLayout(false, () => ig.Attribute(x, options));
        Assert.False(model.SawChannelsLast);
        using var rearranged = WithLayout(true, () => ig.Attribute(x, options));

        Assert.True(ChannelsLastLayout.AcceptedBy(model));
        Assert.True(model.SawChannelsLast);
        TensorAssert.AllClose(rearranged.Attributions[0], contiguous.Attributions[0], atol: 1e-5, rtol: 1e-4);
        TensorAssert.AllClose(rearranged.Delta!, contiguous.Delta!, atol: 1e-4, rtol: 1e-3);
        Assert.True(x.is_contiguous());
        Assert.False(x.requires_grad);
    }

    [Property(MaxTest = 12)]
    public void Attribute_AnyConvNetBatchAndSize_SameGradientsInEitherOrder(int seed, byte batchChoice, byte sizeChoice, bool pooled)
    {
        using var scope = torch.NewDisposeScope();
        var batch = 4 + (batchChoice % 5);
        var size = 3 + (sizeChoice % 6);
        var generator = new Generator((ulong)(uint)seed);
        torch.manual_seed(seed);
        var conv = nn.Sequential(nn.Conv2d(3, 4, 3, padding: 1), nn.ReLU(), nn.Conv2d(4, 2, 3, padding: 1));
        conv.eval();
        var model = ForwardFunction.FromDelegate(
            (Tensor[] t) => pooled ? conv.call(t[0]).amax([2, 3]) : conv.call(t[0]).mean([2, 3]),
            conv);
        var x = torch.randn([batch, 3, size, size], generator: generator);
        var options = new IntegratedGradientsOptions { Steps = 4, Target = 1 };

        using var rearranged = WithLayout(true, () => new IntegratedGradients(model).Attribute(x, options));
        using var contiguous = WithLayout(false, () => new IntegratedGradients(model).Attribute(x, options));

        Assert.True(ChannelsLastLayout.AcceptedBy(conv));
        Assert.True(rearranged.Attribution.is_contiguous());
        TensorAssert.AllClose(rearranged.Attribution, contiguous.Attribution, atol: 1e-5, rtol: 1e-4);
    }

    [Fact]
    public void Invoke_BatchOfTwo_NotRearrangedNorProbed()
    {
        using var model = new Recorder(new TinyResNet(seed: 13));
        using var x = torch.randn(2, 3, 16, 16, generator: new Generator(14));

        WithLayout(true, () => ((ForwardFunction)model).Invoke(x)).Dispose();

        Assert.False(model.SawChannelsLast);
        Assert.Null(ChannelsLastLayout.AcceptedBy(model));
    }

    [Fact]
    public void Invoke_ModelThatViewsItsInput_RefusedAndAnswerUnchanged()
    {
        using var model = new Recorder(new ViewingNet());
        using var x = torch.randn(6, 3, 4, 4, generator: new Generator(15));
        using var expected = model.call(x).detach();

        using var got = WithLayout(true, () => ((ForwardFunction)model).Invoke(x));

        Assert.False(ChannelsLastLayout.AcceptedBy(model));
        Assert.False(model.SawChannelsLast);
        TensorAssert.AllClose(got, expected, atol: 0, rtol: 0);
    }

    [Fact]
    public void Invoke_BatchNormInTrainingMode_NotProbedAndStatisticsUpdatedOnce()
    {
        using var model = new Recorder(new TinyResNet(seed: 16));
        model.train();
        using var x = torch.randn(4, 3, 16, 16, generator: new Generator(17));
        using var twin = new Recorder(new TinyResNet(seed: 16));
        twin.train();
        using (torch.no_grad())
        {
            twin.call(x).Dispose();
        }

        using (torch.no_grad())
        {
            WithLayout(true, () => ((ForwardFunction)model).Invoke(x)).Dispose();
        }

        Assert.Null(ChannelsLastLayout.AcceptedBy(model));
        Assert.False(model.SawChannelsLast);
        var statistics = model.state_dict();
        foreach (var (name, value) in twin.state_dict())
        {
            TensorAssert.AllClose(statistics[name], value, atol: 0, rtol: 0);
        }
    }

    [Fact]
    public void Invoke_ModelWithTheUsersOwnHook_NotProbed()
    {
        using var model = new Recorder(new TinyResNet(seed: 18));
        var calls = 0;
        var handle = model.register_forward_hook((_, _, output) =>
        {
            calls++;
            return output;
        });
        using var x = torch.randn(4, 3, 16, 16, generator: new Generator(19));

        WithLayout(true, () => ((ForwardFunction)model).Invoke(x)).Dispose();

        handle.remove();
        Assert.Equal(1, calls);
        Assert.Null(ChannelsLastLayout.AcceptedBy(model));
        Assert.False(model.SawChannelsLast);
    }

    [Fact]
    public void Attribute_LayerIntegratedGradientsFirstCall_ProbeRunsWithoutTheLayersHooks()
    {
        // The layer's hooks replace its output by 8 x steps rows; run inside them, the probe's one-row pass would fail
        // and refuse a model that accepts channels-last.
        using var model = new Recorder(new TinyResNet(seed: 20));
        using var x = torch.randn(8, 3, 16, 16, generator: new Generator(21));
        var lig = new LayerIntegratedGradients(model, "inner.layer3");
        var options = new LayerIntegratedGradientsOptions { Steps = 4, Target = 0, ReuseLayerPrefix = false };

        using var rearranged = WithLayout(true, () => lig.Attribute(x, options));
        using var contiguous = WithLayout(false, () => lig.Attribute(x, options));

        Assert.True(ChannelsLastLayout.AcceptedBy(model));
        TensorAssert.AllClose(rearranged.Attribution, contiguous.Attribution, atol: 1e-5, rtol: 1e-4);
    }

    [Fact]
    public void Attribute_LayerIntegratedGradientsOnAConvolution_PathPointsStayChannelsLastForTheRest()
    {
        using var model = new TwoStage();
        using var x = torch.randn(8, 3, 6, 6, generator: new Generator(22));
        var lig = new LayerIntegratedGradients(model, "first");
        var options = new LayerIntegratedGradientsOptions { Steps = 4, Target = 1, ReuseLayerPrefix = false };

        using var contiguous = WithLayout(false, () => lig.Attribute(x, options));
        Assert.False(model.Second.SawChannelsLast);
        model.Second.Calls.Clear();
        using var rearranged = WithLayout(true, () => lig.Attribute(x, options));

        // The pass on the path points (8 examples x 4 steps) runs the layer's replacement through the rest: points made
        // from the layer's channels-last values are channels-last too.
        var stepPasses = model.Second.Calls.Where(c => c.Rows == 8 * 4).ToList();
        Assert.NotEmpty(stepPasses);
        Assert.All(stepPasses, c => Assert.True(c.ChannelsLast));
        TensorAssert.AllClose(rearranged.Attribution, contiguous.Attribution, atol: 1e-5, rtol: 1e-4);
    }

    [Fact]
    public void Attribute_SaliencyAndLayerActivationOnABatchOfEight_ResultsContiguous()
    {
        using var model = new TinyResNet(seed: 31);
        using var x = torch.randn(8, 3, 16, 16, generator: new Generator(32));

        using var saliency = WithLayout(true, () => new Saliency(model).Attribute(x, new SaliencyOptions { Target = 1 }));
        using var activation = WithLayout(true, () => new LayerActivation(model, "layer1").Attribute(x));
        using var conv = nn.Conv2d(3, 4, 3);
        using var output = WithLayout(true, () => ((ForwardFunction)conv).Invoke(x));

        Assert.True(saliency.Attributions[0].is_contiguous());
        Assert.True(activation.Attribution.is_contiguous());
        Assert.True(ChannelsLastLayout.AcceptedBy(conv));
        Assert.True(output.is_contiguous());
        Assert.Equal(activation.Attribution.numel() * 4, activation.Attribution.bytes.Length);
    }

    [Fact]
    public void Invoke_SecondDelegateOverAProbedModuleThatViewsItsInput_ProbedOnItsOwnAndAnswerUnchanged()
    {
        using var model = new TinyResNet(seed: 33);
        using var x = torch.randn(8, 3, 16, 16, generator: new Generator(34));
        var plain = ForwardFunction.FromDelegate((object?[] a) => model.call((Tensor)a[0]!), model);
        WithLayout(true, () => plain.Invoke(x)).Dispose();
        Assert.True(ChannelsLastLayout.AcceptedBy(model));
        var viewing = ForwardFunction.FromDelegate(
            (object?[] a) =>
            {
                var t = (Tensor)a[0]!;
                return model.call(t.view(t.shape[0], 3 * 16, 16).view(t.shape[0], 3, 16, 16));
            },
            model);
        using var expected = model.call(x);

        using var got = WithLayout(true, () => viewing.Invoke(x));

        Assert.False(ChannelsLastLayout.AcceptedBy(model));
        TensorAssert.AllClose(got, expected, atol: 1e-5, rtol: 1e-4);
    }

    [Fact]
    public void Invoke_ModelScalingItsInputInPlace_ProbeLeavesTheCallersRowsAlone()
    {
        using var model = new InPlaceScale();
        using var x = torch.ones(4, 3, 5, 5);
        using var expected = model.call(torch.ones(4, 3, 5, 5)).detach();

        using var got = WithLayout(true, () => ((ForwardFunction)model).Invoke(x));

        TensorAssert.AllClose(got, expected, atol: 1e-6, rtol: 1e-5);
        Assert.True(x.eq(1).all().item<bool>());
    }

    private static T WithLayout<T>(bool enabled, Func<T> action)
    {
        var before = ChannelsLastLayout.Enabled;
        ChannelsLastLayout.Enabled = enabled;
        try
        {
            return action();
        }
        finally
        {
            ChannelsLastLayout.Enabled = before;
        }
    }

    /// <summary>Wraps a model and records whether a batch of several images ever reached it in channels-last order.</summary>
    private sealed class Recorder : nn.Module<Tensor, Tensor>
    {
        private readonly nn.Module<Tensor, Tensor> inner;

        public Recorder(nn.Module<Tensor, Tensor> inner)
            : base(nameof(Recorder))
        {
            this.inner = inner;
            RegisterComponents();
        }

        public bool SawChannelsLast => Calls.Any(c => c.ChannelsLast);

        /// <summary>Every call's batch size and whether its batch came in channels-last order.</summary>
        public List<(long Rows, bool ChannelsLast)> Calls { get; } = [];

        public override Tensor forward(Tensor x)
        {
            var stride = x.stride();
            Calls.Add((x.shape[0], x.shape[0] > 1 && stride[1] == 1 && stride[3] == x.shape[1]));
            return inner.call(x);
        }
    }

    /// <summary>A convolution, then a recorded convolution and a spatial mean: 2 outputs.</summary>
    private sealed class TwoStage : nn.Module<Tensor, Tensor>
    {
        private readonly TorchSharp.Modules.Conv2d first;

        public TwoStage()
            : base(nameof(TwoStage))
        {
            torch.manual_seed(4);
            first = nn.Conv2d(3, 4, 3, padding: 1);
            Second = new Recorder(nn.Conv2d(4, 2, 3, padding: 1));
            RegisterComponents();
            eval();
        }

        public Recorder Second { get; }

        public override Tensor forward(Tensor x) => Second.call(first.call(x)).mean([2, 3]);
    }

    /// <summary>Doubles its input in place, then a convolution and a mean per example.</summary>
    private sealed class InPlaceScale : nn.Module<Tensor, Tensor>
    {
        private readonly TorchSharp.Modules.Conv2d conv;

        public InPlaceScale()
            : base(nameof(InPlaceScale))
        {
            torch.manual_seed(6);
            conv = nn.Conv2d(3, 2, 3, padding: 1);
            RegisterComponents();
            eval();
        }

        public override Tensor forward(Tensor x)
        {
            x.mul_(2);
            return conv.call(x).mean([1, 2, 3]);
        }
    }

    /// <summary>A linear model over the flattened image that flattens with <c>view</c>, which channels-last strides refuse.</summary>
    private sealed class ViewingNet : nn.Module<Tensor, Tensor>
    {
        private readonly TorchSharp.Modules.Linear linear;

        public ViewingNet()
            : base(nameof(ViewingNet))
        {
            torch.manual_seed(3);
            linear = nn.Linear(48, 2);
            RegisterComponents();
            eval();
        }

        public override Tensor forward(Tensor x) => linear.call(x.view(x.shape[0], -1));
    }
}
