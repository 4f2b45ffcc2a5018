using Captum.Attr;
using Captum.Layers;
using Captum.Metrics;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr;

/// <summary>
/// Every layer, neuron and metric method leaves the model, its parameters and the caller's tensors as they were,
/// removes its hooks (also when it throws), and frees everything but its result.
/// </summary>
public sealed class LayerNeuronMetricInvariantsTests
{
    /// <summary>Each method run once on a SequentialMlp and its input; disposing the result is the caller's job.</summary>
    private static readonly Dictionary<string, Func<SequentialMlp, Tensor, IDisposable?>> Methods = new()
    {
        ["LayerActivation"] = (m, x) => new LayerActivation(m, new LayerReference[] { "net.0", "net.1" }).Attribute(x),
        ["LayerGradientXActivation"] = (m, x) => new LayerGradientXActivation(m, "net.1").Attribute(x, new LayerGradientXActivationOptions { Target = 1 }),
        ["LayerGradCam"] = (m, x) => new LayerGradCam(m, "net.0").Attribute(x, new LayerGradCamOptions { Target = 1, ReluAttributions = true }),
        ["LayerConductance"] = (m, x) => new LayerConductance(m, "net.1").Attribute(x, new LayerConductanceOptions { Target = 1, Steps = 6, InternalBatchSize = 5, ReturnConvergenceDelta = true }),
        ["InternalInfluence"] = (m, x) => new InternalInfluence(m, "net.2").Attribute(x, new InternalInfluenceOptions { Target = 1, Steps = 6, InternalBatchSize = 4, AttributeToLayerInput = true }),
        ["NeuronGradient"] = (m, x) => new NeuronGradient(m, "net.1", 3).Attribute(x),
        ["NeuronIntegratedGradients"] = (m, x) => new NeuronIntegratedGradients(m, "net.0", -2).Attribute(x, new NeuronIntegratedGradientsOptions { Steps = 6, InternalBatchSize = 4 }),
        ["NeuronConductance"] = (m, x) => new NeuronConductance(m, "net.1", 0).Attribute(x, new NeuronConductanceOptions { Target = 2, Steps = 6, InternalBatchSize = 4 }),
        ["NeuronGuidedBackprop"] = (m, x) => new NeuronGuidedBackprop(m, "net.1", 2).Attribute(x),
        ["NeuronDeconvolution"] = (m, x) => new NeuronDeconvolution(m, "net.2", 1).Attribute(x, new NeuronDeconvolutionOptions { AttributeToNeuronInput = true }),
        ["NeuronGradientShap"] = (m, x) => new NeuronGradientShap(m, "net.1", 4).Attribute(x, new NeuronGradientShapOptions { Baselines = torch.zeros(3, 4), Samples = 3, Stdevs = 0.1, Seed = 1 }),
        ["NeuronDeepLift"] = (m, x) => new NeuronDeepLift(m, "net.1", 5).Attribute(x, new NeuronDeepLiftOptions { Baselines = 0.5 }),
        ["NeuronDeepLiftShap"] = (m, x) => new NeuronDeepLiftShap(m, "net.2", 0).Attribute(x, new NeuronDeepLiftShapOptions { Baselines = torch.ones(2, 4), AttributeToNeuronInput = true }),
        ["LayerDeepLiftShap"] = (m, x) => new LayerDeepLiftShap(m, "net.1").Attribute(x, new LayerDeepLiftShapOptions { Baselines = torch.zeros(3, 4), Target = 2, ReturnConvergenceDelta = true }),
        ["Infidelity"] = (m, x) => Infidelity.Compute(
            m,
            (inputs, _, g) => new InfidelityPerturbation([inputs[0] * 0.1], [inputs[0] * 0.9]),
            x,
            torch.ones_like(x),
            new InfidelityOptions { Target = 0, PerturbSamples = 3, MaxExamplesPerBatch = 2 }),
        ["SensitivityMax"] = (m, x) => SensitivityMax.Compute(
            Explanations.Of(new LayerIntegratedGradients(m, "net.1"), new LayerIntegratedGradientsOptions { Steps = 4 }),
            x,
            new SensitivityMaxOptions { Target = 0, PerturbSamples = 3, MaxExamplesPerBatch = 2, Seed = 1 }),
        ["Interpolate"] = (m, x) => LayerAttribution.Interpolate(x.reshape(x.shape[0], 1, -1), 9, InterpolationMode.Linear),
    };

    public static TheoryData<string> MethodNames() => new(Methods.Keys);

    [Theory]
    [MemberData(nameof(MethodNames))]
    public void Method_AnyRun_LeavesModelParametersAndInputsUnchanged(string method)
    {
        using var scope = torch.NewDisposeScope();
        var model = new SequentialMlp(seed: 1);
        var x = torch.randn(2, 4);
        var original = x.clone();
        Tensor before;
        using (torch.no_grad())
        {
            before = model.call(x);
        }

        var parameters = model.parameters().Select(p => p.detach().clone()).ToArray();

        using (Methods[method](model, x))
        {
        }

        using (torch.no_grad())
        {
            TensorAssert.AllClose(model.call(x), before, 0, 0, "model output");
        }

        var now = model.parameters().ToArray();
        for (var i = 0; i < now.Length; i++)
        {
            TensorAssert.AllClose(now[i], parameters[i], 0, 0, $"parameter {i}");
            Assert.True(now[i].requires_grad);
            Assert.True(now[i].grad is null || now[i].grad!.IsInvalid, $"parameter {i} received a gradient");
        }

        TensorAssert.AllClose(x, original, 0, 0, "input");
        Assert.False(x.requires_grad);
        AssertNoHooks(model, x);
    }

    [Fact]
    public void Attribute_NeuronIndexOutOfRangeAfterTheForwardPass_LeavesNoHooksBehind()
    {
        using var scope = torch.NewDisposeScope();
        var model = new SequentialMlp(seed: 2);
        var x = torch.randn(2, 4);

        Assert.Throws<ArgumentException>(() => new NeuronConductance(model, "net.1", 9).Attribute(x, new NeuronConductanceOptions { Target = 0, Steps = 3 }));
        Assert.Throws<ArgumentException>(() => new LayerGradCam(model, "net.0").Attribute(x, new LayerGradCamOptions { Target = 5 }));

        AssertNoHooks(model, x);
    }

    private static void AssertNoHooks(SequentialMlp model, Tensor x)
    {
        foreach (var path in new[] { "net.0", "net.1", "net.2" })
        {
            var calls = 0;
            using var probe = LayerHooks.Register(LayerPath.Resolve(model, path), onInput: false, values =>
            {
                calls++;
                return null;
            });
            using (torch.no_grad())
            {
                model.call(x);
            }

            Assert.Equal(1, calls);
        }
    }
}

/// <summary>No native memory survives a layer, neuron or metric call except the result the caller owns.</summary>
[Collection(SerialCollection.Name)]
public sealed class LayerNeuronMetricMemoryTests
{
    [Fact]
    public void Methods_RepeatedCalls_LeaveNoLiveTensors()
    {
        var model = new SequentialMlp(seed: 3);
        var x = torch.randn(3, 4);
        var ones = torch.ones_like(x);
        var conductance = new LayerConductance(model, "net.1");
        var influence = new InternalInfluence(model, "net.1");
        var gradCam = new LayerGradCam(model, "net.0");
        var neuron = new NeuronConductance(model, "net.1", 2);
        var neuronIg = new NeuronIntegratedGradients(model, "net.1", 2);
        var neuronDeepLiftShap = new NeuronDeepLiftShap(model, "net.1", 1);
        var neuronGradientShap = new NeuronGradientShap(model, "net.1", 3);
        var layerDeepLiftShap = new LayerDeepLiftShap(model, "net.0");
        var references = torch.randn(4, 4);
        var explanation = Explanations.Of(new IntegratedGradients(model), new IntegratedGradientsOptions { Steps = 4 });
        InfidelityPerturbFunction noise = (inputs, _, g) =>
        {
            var n = torch.randn(inputs[0].shape, generator: g);
            return new InfidelityPerturbation([n], [inputs[0] - n]);
        };

        void Call()
        {
            using var a = conductance.Attribute(x, new LayerConductanceOptions { Target = 0, Steps = 8, InternalBatchSize = 7, ReturnConvergenceDelta = true });
            using var b = influence.Attribute(x, new InternalInfluenceOptions { Target = 0, Steps = 8, InternalBatchSize = 7 });
            using var c = gradCam.Attribute(x, new LayerGradCamOptions { Target = 1 });
            using var d = neuron.Attribute(x, new NeuronConductanceOptions { Target = 1, Steps = 8, InternalBatchSize = 7 });
            using var e = neuronIg.Attribute(x, new NeuronIntegratedGradientsOptions { Steps = 8, InternalBatchSize = 7 });
            using var f = Infidelity.Compute(model, noise, x, ones, new InfidelityOptions { Target = 2, Seed = 1, MaxExamplesPerBatch = 6 });
            using var g = SensitivityMax.Compute(explanation, x, new SensitivityMaxOptions { Target = 2, Seed = 1, MaxExamplesPerBatch = 6 });
            using var h = neuronDeepLiftShap.Attribute(x, new NeuronDeepLiftShapOptions { Baselines = references });
            using var i = neuronGradientShap.Attribute(x, new NeuronGradientShapOptions { Baselines = references, Samples = 3, Stdevs = 0.2, Seed = 2 });
            using var j = layerDeepLiftShap.Attribute(x, new LayerDeepLiftShapOptions { Baselines = references, Target = 0, ReturnConvergenceDelta = true });
        }

        Call();
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (var i = 0; i < 10; i++)
        {
            Call();
        }

        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
