using Captum.Attr;
using Captum.Concept;
using Captum.Layers;
using Captum.Metrics;
using Captum.Robust;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr;

/// <summary>
/// The concurrency contract (docs/api.md, "Threads"): attributions of any kind and plain predictions on one model from
/// several threads give exactly what they give alone.
/// </summary>
public sealed class ConcurrencyTests
{
    private const int Threads = 8;

    /// <summary>One kind of work on the shared model: returns its result's tensors (detached copies).</summary>
    private delegate Tensor[] Work(ReluCnn model, Tensor x);

    private static readonly (string Name, Work Run)[] Mixed =
    [
        ("prediction", (m, x) => { using var _ = torch.no_grad(); return [m.call(x)]; }),
        ("IntegratedGradients", (m, x) => Attributions(new IntegratedGradients(m).Attribute(x, new IntegratedGradientsOptions { Target = 1, Steps = 8 }))),
        ("LayerIntegratedGradients", (m, x) => LayerAttributions(new LayerIntegratedGradients(m, m.Conv2).Attribute(x, new LayerIntegratedGradientsOptions { Target = 2, Steps = 8 }))),
        ("LayerConductance", (m, x) => LayerAttributions(new LayerConductance(m, m.Conv1).Attribute(x, new LayerConductanceOptions { Target = 0, Steps = 6 }))),
        ("DeepLift", (m, x) => Attributions(new DeepLift(m).Attribute(x, new DeepLiftOptions { Target = 1 }))),
        ("GuidedBackprop", (m, x) => Attributions(new GuidedBackprop(m).Attribute(x, new GuidedBackpropOptions { Target = 2 }))),
        ("NeuronGradient", (m, x) => Attributions(new NeuronGradient(m, m.Conv2, neuronSelector: new long[] { 1, 1, 2 }).Attribute(x))),
        ("LayerGradCam", (m, x) => LayerAttributions(new LayerGradCam(m, m.Conv2).Attribute(x, new LayerGradCamOptions { Target = 0 }))),
        ("Occlusion, perturbations per pass chosen", (m, x) => Attributions(new Occlusion(m).Attribute(x, new OcclusionOptions { Target = 1, SlidingWindowShapes = new long[] { 2, 3, 3 }, Strides = new long[] { 1, 3, 3 } }))),
        ("FeatureAblation, a mask", (m, x) => Attributions(new FeatureAblation(m).Attribute(x, new FeatureAblationOptions { Target = 2, FeatureMask = torch.arange(72).reshape(1, 2, 6, 6).div(9, RoundingMode.floor) }))),
        ("LayerFeatureAblation", (m, x) => LayerAttributions(new LayerFeatureAblation(m, m.Conv1).Attribute(x, new LayerFeatureAblationOptions { Target = 0, PerturbationsPerEval = 3 }))),
        ("NoiseTunnel over IntegratedGradients, seeded", (m, x) => Attributions(NoiseTunnel.Create(new IntegratedGradients(m)).Attribute(x, new NoiseTunnelOptions<IntegratedGradientsOptions>
        {
            Samples = 3, Stdevs = 0.2, Seed = 5, MethodOptions = new() { Target = 1, Steps = 4 },
        }))),
        ("SensitivityMax of Saliency, seeded", (m, x) => [SensitivityMax.Compute(Explanations.Of(new Saliency(m), new SaliencyOptions { Target = 0 }), x, new SensitivityMaxOptions { PerturbSamples = 3, Seed = 6 })]),
        ("FGSM", (m, x) => Perturbed(new FGSM(m).Perturb(x, new FGSMOptions { Epsilon = 0.1, Target = 1 }))),
        ("PGD, random start seeded", (m, x) => Perturbed(new PGD(m, lowerBound: -2, upperBound: 2).Perturb(x, new PGDOptions
        {
            Radius = 0.2, StepSize = 0.05, StepNum = 3, Target = 2, RandomStart = true, Seed = 7,
        }))),
        ("TCAV, a concept and a random one", (m, x) => Scores(new TCAV(m, [m.Conv2]).Interpret(x, [[Concept(0, 1.5, 41), Concept(1, 0, 42)]], new TCAVOptions { Target = 1 }))),
    ];

    /// <summary>Examples shaped as the model's input, around <paramref name="shift"/>.</summary>
    private static Captum.Concept.Concept Concept(int id, double shift, int seed) =>
        new(id, $"concept{id}", [TestModels.Normal(seed, 6, 2, 6, 6) + shift]);

    private static Tensor[] Perturbed(PerturbedInputs perturbed)
    {
        using (perturbed)
        {
            return [.. perturbed.Select(t => t.detach().clone())];
        }
    }

    private static Tensor[] Scores(TCAVResult result) =>
        [.. result.Scores.Select(s => torch.tensor(s.SignCount.Concat(s.Magnitude).ToArray()))];

    /// <summary>
    /// The mixed run with every call's intermediates released (the tiny model is below release's threshold otherwise), on a
    /// fresh model (twin of the serial one), so that its first calls (the channels-last probe, release's first count) race too.
    /// </summary>
    [Fact]
    public void MixedMethods_EightThreadsOnAFreshModelWithEveryCallReleased_EqualTheSerialResults()
    {
        using var model = new ReluCnn(seed: 37);
        using var twin = new ReluCnn(seed: 37);
        using var x = TestModels.Normal(38, 5, 2, 6, 6);
        var serial = Mixed.Select(w => w.Run(model, x)).ToArray();
        var minimumBefore = IntermediateRelease.MinimumFreedElements;
        IntermediateRelease.MinimumFreedElements = 0; // this flow's, inherited by the threads it starts
        try
        {
            Assert.Empty(MixedRounds(twin, x, serial));
        }
        finally
        {
            IntermediateRelease.MinimumFreedElements = minimumBefore;
            DisposeAll(serial);
        }
    }

    [Fact]
    public void MixedMethodsAndPredictions_EightThreadsOnOneModel_EqualTheSerialResults()
    {
        using var model = new ReluCnn(seed: 31);
        using var x = TestModels.Normal(32, 5, 2, 6, 6);
        var serial = Mixed.Select(w => w.Run(model, x)).ToArray();

        Assert.Empty(MixedRounds(model, x, serial));
        DisposeAll(serial);
    }

    /// <summary>
    /// <see cref="Threads"/> threads each run every kind of the mixed work once on <paramref name="model"/>, each starting
    /// at a different kind, and return how their results differ from <paramref name="serial"/>.
    /// </summary>
    private static List<string> MixedRounds(ReluCnn model, Tensor x, Tensor[][] serial) => RunConcurrently(Threads, t =>
    {
        var failures = new List<string>();
        for (var round = 0; round < Mixed.Length; round++)
        {
            var (name, run) = Mixed[(t + round) % Mixed.Length];
            using var scope = torch.NewDisposeScope();
            var expected = serial[(t + round) % Mixed.Length];
            var actual = run(model, x);
            if (actual.Length != expected.Length || actual.Zip(expected).Any(p => !p.First.allclose(p.Second, rtol: 0, atol: 0)))
            {
                failures.Add($"thread {t} round {round}: {name} differs from its serial result");
            }
        }

        return failures;
    });

    private static void DisposeAll(Tensor[][] results)
    {
        foreach (var t in results.SelectMany(r => r))
        {
            t.Dispose();
        }
    }

    [Fact]
    public void Predictions_WhileLayerIntegratedGradientsRunsOnAnotherThread_AreExact()
    {
        // The case of the reliability review: plain predictions at another batch size while LIG's hooks are on the layer.
        using var model = new ReluCnn(seed: 33);
        using var x = TestModels.Normal(34, 40, 2, 6, 6);
        using var small = TestModels.Normal(35, 4, 2, 6, 6);
        var failures = PredictWhile(model, x, () =>
        {
            for (var i = 0; i < 6; i++)
            {
                using var scope = torch.NewDisposeScope();
                new LayerIntegratedGradients(model, model.Conv2).Attribute(small, new LayerIntegratedGradientsOptions { Target = 0, Steps = 10 }).Dispose();
            }
        });

        Assert.Empty(failures);
    }

    [Fact]
    public void LayerHooks_RegisteredAndRemovedWhileAnotherThreadCallsTheLayer_NeverDisturbThatCall()
    {
        // TorchSharp enumerates a module's hook dictionary in call(); changing it in place from another thread throws
        // "Collection was modified". Hooks are added and removed by replacing the dictionary instead.
        using var layer = nn.Linear(3, 2);
        using var x = torch.ones(4, 3);
        var failures = PredictWhile(layer, x, () =>
        {
            for (var i = 0; i < 2000; i++)
            {
                using var hook = LayerHooks.Register(layer, onInput: false, values => [values[0] * 0]);
            }
        });

        Assert.Empty(failures);
    }

    /// <summary>
    /// Runs <paramref name="work"/> on one thread while another predicts <paramref name="x"/> with <paramref name="module"/>
    /// until it ends (at least once), and returns every prediction that differs from the one made before.
    /// </summary>
    private static List<string> PredictWhile(nn.Module<Tensor, Tensor> module, Tensor x, Action work)
    {
        Tensor expected;
        using (torch.no_grad())
        {
            expected = module.call(x);
        }

        using (expected)
        {
            var stop = 0;
            return RunConcurrently(2, t =>
            {
                var failures = new List<string>();
                if (t == 0)
                {
                    work();
                    Volatile.Write(ref stop, 1);
                    return failures;
                }

                for (var predictions = 0; Volatile.Read(ref stop) == 0 || predictions == 0; predictions++)
                {
                    using var scope = torch.NewDisposeScope();
                    using var _ = torch.no_grad();
                    if (!module.call(x).allclose(expected, rtol: 0, atol: 0))
                    {
                        failures.Add($"prediction {predictions} differs");
                    }
                }

                return failures;
            });
        }
    }

    [Fact]
    public void LayerHooks_CallInTheRegisteringFlow_SeesTheHookAndUnrelatedThreadsDoNot()
    {
        using var layer = nn.Linear(3, 2);
        using var x = torch.ones(1, 3);
        using var hook = LayerHooks.Register(layer, onInput: false, values => [values[0] * 0 + 7]);
        using var here = layer.call(x);
        using var startedHere = OnThread(() => layer.call(x), flowContext: true);
        using var unrelated = OnThread(() => layer.call(x), flowContext: false);
        using var everywhere = LayerHooks.Register(layer, onInput: false, values => [values[0] * 0 - 1], everywhere: true);
        using var unrelatedNow = OnThread(() => layer.call(x), flowContext: false);

        Assert.Equal(7f, here[0, 0].item<float>());
        Assert.Equal(7f, startedHere[0, 0].item<float>()); // work the registering flow starts belongs to it
        Assert.NotEqual(7f, unrelated[0, 0].item<float>());
        Assert.Equal(-1f, unrelatedNow[0, 0].item<float>());
    }

    /// <summary>Runs <paramref name="body"/> on a new thread, which inherits the caller's execution context only if <paramref name="flowContext"/>.</summary>
    private static T OnThread<T>(Func<T> body, bool flowContext)
    {
        T result = default!;
        var thread = new Thread(() => result = body());
        if (flowContext)
        {
            thread.Start();
        }
        else
        {
            using (ExecutionContext.SuppressFlow())
            {
                thread.Start();
            }
        }

        thread.Join();
        return result;
    }

    /// <summary>Runs <paramref name="count"/> threads started together and collects their failures and exceptions.</summary>
    private static List<string> RunConcurrently(int count, Func<int, List<string>> body)
    {
        using var start = new Barrier(count);
        var results = new List<string>[count];
        var threads = Enumerable.Range(0, count).Select(t => new Thread(() =>
        {
            try
            {
                start.SignalAndWait();
                results[t] = body(t);
            }
            catch (Exception ex)
            {
                results[t] = [$"thread {t}: {ex.GetType().Name}: {ex.Message}"];
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        return results.SelectMany(r => r).ToList();
    }

    private static Tensor[] Attributions(AttributionResult result)
    {
        using (result)
        {
            return result.Attributions.Select(a => a.detach().clone()).ToArray();
        }
    }

    private static Tensor[] LayerAttributions(LayerAttributionResult result)
    {
        using (result)
        {
            return result.Layers.SelectMany(l => l).Select(a => a.detach().clone()).ToArray();
        }
    }
}
