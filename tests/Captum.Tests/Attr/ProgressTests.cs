using System.Reflection;
using Captum.Attr;
using Captum.Golden;
using Captum.Metrics;
using Captum.Tests.Attr.Gradient;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr;

/// <summary>
/// Every public attribution method and metric reports its progress through the same option and honours
/// cancellation before every batch: reports never decrease and end at the total, and a token cancelled from the
/// first report stops the call with no hooks left on the model and the caller's tensors untouched.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class ProgressTests
{
    /// <summary>Each case and the total its progress must end at.</summary>
    private static readonly Dictionary<string, int> Totals = new()
    {
        ["IntegratedGradients"] = 6,                 // Steps 6, 2 steps per pass
        ["IntegratedGradients.Adaptive"] = 2 * 17,   // points summed over 2 examples, ceiling 17; converges early
        ["LayerIntegratedGradients"] = 6,
        ["LayerConductance"] = 7,                    // Steps + 1 points
        ["InternalInfluence"] = 6,
        ["NeuronIntegratedGradients"] = 6,
        ["NeuronConductance"] = 6,
        ["NoiseTunnel"] = 5,                         // samples per example, 2 per batch
        ["NoiseTunnel.GuidedBackprop"] = 5,
        ["NoiseTunnel.DeepLift"] = 5,
        ["LayerNoiseTunnel"] = 5,
        ["GradientShap"] = 3,                        // samples per example, one batch
        ["LayerGradientShap"] = 3,
        ["DeepLiftShap"] = 1,                        // one pass
        ["DeepLift"] = 1,
        ["LayerDeepLift"] = 1,
        ["Saliency"] = 1,
        ["InputXGradient"] = 1,
        ["GuidedBackprop"] = 1,
        ["Deconvolution"] = 1,
        ["LayerActivation"] = 1,
        ["LayerGradientXActivation"] = 1,
        ["LayerGradCam"] = 1,
        ["NeuronGradient"] = 1,
        ["GuidedGradCam"] = 2,                       // the Grad-CAM pass, then the guided backpropagation pass
        ["LayerDeepLiftShap"] = 1,
        ["NeuronGuidedBackprop"] = 1,
        ["NeuronDeconvolution"] = 1,
        ["NeuronDeepLift"] = 1,
        ["NeuronDeepLiftShap"] = 1,
        ["NeuronGradientShap"] = 3,                  // samples per example, one batch
        ["LRP"] = 1,
        ["LayerLRP"] = 1,
        ["FeatureAblation"] = 1 + 4,                 // forward evaluations: the inputs, then one per feature
        ["Occlusion"] = 1 + 2,                       // the inputs, then two window positions
        ["ShapleyValueSampling"] = 1 + (2 * 4),      // the baselines, then 2 permutations of 4 features
        ["Lime"] = 1 + (2 * 4),                      // the output mode, then 4 samples for each of 2 surrogates
        ["KernelShap"] = 1 + (2 * 4),
        ["FeaturePermutation"] = 1 + 4,              // the inputs, then one per feature
        ["ShapleyValues"] = 1 + (6 * 2),             // the baselines, then 3! orders of 3 features, 2 passes each
        ["LayerFeatureAblation"] = 1 + 3,            // after the layer is read: its value, then 6 neurons, 2 per pass
        ["LayerFeaturePermutation"] = 1 + 3,         // likewise, each neuron permuted across the batch
        ["NeuronFeatureAblation"] = 1 + 4,
        ["LLMAttribution"] = 2,                       // trials
        ["LLMGradientAttribution"] = 2,               // answer tokens
        ["DataLoaderAttribution"] = 1 + 2,           // passes over the loader: the metric, then 4 features, 2 per pass
        ["Infidelity"] = 4,                          // samples per example, 2 per batch
        ["SensitivityMax"] = 4,
    };

    /// <summary>The cases whose work comes in more than one batch, so that cancelling from the first report stops them.</summary>
    private static readonly string[] Batched =
    [
        "IntegratedGradients", "IntegratedGradients.Adaptive", "LayerIntegratedGradients", "LayerConductance", "InternalInfluence",
        "NeuronIntegratedGradients", "NeuronConductance", "NoiseTunnel", "NoiseTunnel.GuidedBackprop", "NoiseTunnel.DeepLift",
        "LayerNoiseTunnel",
        "FeatureAblation", "Occlusion", "ShapleyValueSampling", "Lime", "KernelShap", "Infidelity", "SensitivityMax",
        "GuidedGradCam",
        "FeaturePermutation", "ShapleyValues", "LayerFeatureAblation", "LayerFeaturePermutation", "NeuronFeatureAblation",
        "DataLoaderAttribution",
    ];

    private delegate void Run(IProgress<AttributionProgress> progress, CancellationToken cancellationToken);

    public static TheoryData<string> AllCases => [.. Totals.Keys];

    public static TheoryData<string, bool> BatchedCases
    {
        get
        {
            var data = new TheoryData<string, bool>();
            foreach (var name in Batched)
            {
                data.Add(name, false);
                data.Add(name, true);
            }

            return data;
        }
    }

    [Fact]
    public void Cases_CoverEveryPublicAttributeMethod_AndEachHasAProgressOption()
    {
        var assembly = typeof(IntegratedGradients).Assembly;
        var methods = assembly.GetExportedTypes()
            .Where(t => t.IsClass && typeof(IAttribution).IsAssignableFrom(t))
            .Select(t => t.GetMethod("Attribute", BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly)!)
            .ToList();
        Assert.NotEmpty(methods);
        foreach (var method in methods)
        {
            var name = method.DeclaringType!.Name.Split('`')[0];
            Assert.True(Totals.ContainsKey(name), $"{name}.Attribute has no progress test case");
            var options = method.GetParameters().Single(p => p.Name == "options").ParameterType;
            var progress = options.GetProperty("Progress");
            Assert.True(progress?.PropertyType == typeof(IProgress<AttributionProgress>), $"{options.Name} has no Progress option");
        }

        Assert.Equal(typeof(IProgress<AttributionProgress>), typeof(InfidelityOptions).GetProperty("Progress")!.PropertyType);
        Assert.Equal(typeof(IProgress<AttributionProgress>), typeof(SensitivityMaxOptions).GetProperty("Progress")!.PropertyType);
    }

    /// <summary>A method whose options split its work into batches has its cancellation between them checked.</summary>
    [Fact]
    public void Batched_ListsEveryMethodWhoseOptionsSplitTheWork()
    {
        string[] batching = ["PerturbationsPerEval", "InternalBatchSize", "SamplesBatchSize", "MaxExamplesPerBatch", "PerturbationsPerPass"];
        (string Name, Type Options)[] metrics = [("Infidelity", typeof(InfidelityOptions)), ("SensitivityMax", typeof(SensitivityMaxOptions))];
        var options = typeof(IntegratedGradients).Assembly.GetExportedTypes()
            .Where(t => t.IsClass && typeof(IAttribution).IsAssignableFrom(t))
            .Select(t => (Name: t.Name.Split('`')[0], Options: t.GetMethod("Attribute", BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly)!
                .GetParameters().Single(p => p.Name == "options").ParameterType))
            .Concat(metrics)
            .ToList();
        Assert.Contains(options, o => o.Name == "FeatureAblation");

        var missing = options
            .Where(o => batching.Any(p => o.Options.GetProperty(p) is not null) && !Batched.Contains(o.Name))
            .Select(o => o.Name)
            .ToList();
        Assert.True(missing.Count == 0, "add to Batched, so that its cancellation between batches is checked: " + string.Join(", ", missing));
    }

    [Theory]
    [MemberData(nameof(AllCases))]
    public void Attribute_WithProgress_ReportsNeverDecreaseAndEndAtTheTotal(string name)
    {
        using var scope = torch.NewDisposeScope();
        var reports = new List<AttributionProgress>();

        Runner(name, new Fixture())(new SynchronousProgress<AttributionProgress>(reports.Add), CancellationToken.None);

        var total = Totals[name];
        Assert.NotEmpty(reports);
        Assert.All(reports, r => Assert.Equal(total, r.TotalSteps));
        Assert.All(reports, r => Assert.InRange(r.CompletedSteps, 1, r.TotalSteps));
        for (var i = 1; i < reports.Count; i++)
        {
            Assert.True(reports[i].CompletedSteps >= reports[i - 1].CompletedSteps, $"{name}: {reports[i - 1]} then {reports[i]}");
        }

        Assert.Equal(total, reports[^1].CompletedSteps);
    }

    [Theory]
    [MemberData(nameof(AllCases))]
    public void Attribute_CallbackThrowsAtTheLastReport_LeavesNoLiveTensors(string name)
    {
        using var scope = torch.NewDisposeScope();
        var fixture = new Fixture();
        var run = Runner(name, fixture);
        run(new SynchronousProgress<AttributionProgress>(_ => { }), CancellationToken.None);

        // A normal run leaves only the tensors the case itself builds as arguments (a mask, say): its result is
        // disposed. A run whose callback throws must leave no more than that.
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        run(new SynchronousProgress<AttributionProgress>(_ => { }), CancellationToken.None);
        var arguments = DisposeScopeManager.Statistics.ThreadTotalLiveCount - before;
        var live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;

        var ex = Assert.Throws<InvalidOperationException>(() => run(
            new SynchronousProgress<AttributionProgress>(p =>
            {
                if (p.CompletedSteps == p.TotalSteps)
                {
                    throw new InvalidOperationException("the callback failed");
                }
            }),
            CancellationToken.None));

        Assert.Equal("the callback failed", ex.Message);
        Assert.Equal(live + arguments, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Theory]
    [MemberData(nameof(BatchedCases))]
    public void Attribute_TokenCancelledAtTheFirstReport_ThrowsWithoutHooksAndLeavesTheCallersTensors(string name, bool inputsRequireGrad)
    {
        using var scope = torch.NewDisposeScope();
        var fixture = new Fixture();
        fixture.X.requires_grad_(inputsRequireGrad);
        fixture.Image.requires_grad_(inputsRequireGrad);
        var x = fixture.X.detach().clone();
        var image = fixture.Image.detach().clone();
        var references = fixture.References.detach().clone();
        using var cancel = new CancellationTokenSource();
        var reports = 0;
        var progress = new SynchronousProgress<AttributionProgress>(_ =>
        {
            reports++;
            cancel.Cancel();
        });

        Assert.Throws<OperationCanceledException>(() => Runner(name, fixture)(progress, cancel.Token));

        Assert.Equal(1, reports);
        Assert.Equal(0, GradientTestModels.HookCount(fixture.Model));
        Assert.Equal(0, GradientTestModels.HookCount(fixture.Cnn));
        Assert.Equal(inputsRequireGrad, fixture.X.requires_grad);
        Assert.Equal(inputsRequireGrad, fixture.Image.requires_grad);
        Assert.Null(fixture.X.grad);
        Assert.Null(fixture.Image.grad);
        Assert.False(fixture.References.requires_grad);
        TensorAssert.AllClose(fixture.X.detach(), x, 0, 0);
        TensorAssert.AllClose(fixture.Image.detach(), image, 0, 0);
        TensorAssert.AllClose(fixture.References, references, 0, 0);
    }

    [Fact]
    public void NoiseTunnel_SamplesInBatches_ReportsSamplesDonePerBatch()
    {
        using var scope = torch.NewDisposeScope();
        var reports = new List<AttributionProgress>();

        Runner("NoiseTunnel", new Fixture())(new SynchronousProgress<AttributionProgress>(reports.Add), CancellationToken.None);

        Assert.Equal(new AttributionProgress[] { new(2, 5), new(4, 5), new(5, 5) }, reports);
    }

    [Fact]
    public void NoiseTunnel_WrappedMethodsProgress_IsSummedOverItsCalls()
    {
        using var scope = torch.NewDisposeScope();
        var fixture = new Fixture();
        var outer = new List<AttributionProgress>();
        var inner = new List<AttributionProgress>();

        // 3 samples, 2 per batch: IG runs on 4 rows (2 of its 4 steps per pass of 8 rows), then on 2 rows (all 4 in one pass).
        using var result = NoiseTunnel.Create(new IntegratedGradients(fixture.Model)).Attribute(fixture.X, new NoiseTunnelOptions<IntegratedGradientsOptions>
        {
            Samples = 3,
            SamplesBatchSize = 2,
            Stdevs = 0.1,
            Seed = 1,
            Progress = new SynchronousProgress<AttributionProgress>(outer.Add),
            MethodOptions = new IntegratedGradientsOptions
            {
                Target = 0,
                Steps = 4,
                InternalBatchSize = 8,
                Progress = new SynchronousProgress<AttributionProgress>(inner.Add),
            },
        });

        Assert.Equal(new AttributionProgress[] { new(2, 3), new(3, 3) }, outer);
        Assert.Equal(new AttributionProgress[] { new(2, 8), new(4, 8), new(8, 8) }, inner);
    }

    /// <summary>
    /// A ReLU MLP whose modules are called through <c>call</c>, a batch of 2 and 5 references; and for the methods that
    /// need images, a ReLU CNN and a batch of 2 images.
    /// </summary>
    private sealed class Fixture
    {
        public ModuleMlp Model { get; } = GradientTestModels.Mlp(3);

        public Tensor X { get; } = TestModels.Normal(4, 2, 4);

        public Tensor References { get; } = TestModels.Normal(5, 5, 4);

        public ReluCnn Cnn { get; } = new(6);

        public Tensor Image { get; } = TestModels.Normal(7, 2, 2, 6, 6);

        public WordTokenizer Words { get; } = new(["<unk>", "<s>", "john", "went", "to", "the", "kitchen"]);

        public Captum.Plugins.TextGeneration.Model.Gpt2LMHeadModel Language { get; } = SmallGpt2();

        private static Captum.Plugins.TextGeneration.Model.Gpt2LMHeadModel SmallGpt2()
        {
            torch.manual_seed(8);
            var model = new Captum.Plugins.TextGeneration.Model.Gpt2LMHeadModel(new(7, 16, 8, 2, 1));
            model.eval();
            return model;
        }
    }

    private static Run Runner(string name, Fixture f)
    {
        var model = f.Model;
        var x = f.X;
        var references = f.References;
        return name switch
        {
            "IntegratedGradients" => (p, ct) => new IntegratedGradients(model).Attribute(x, new IntegratedGradientsOptions { Target = 0, Steps = 6, InternalBatchSize = 4, Progress = p }, ct).Dispose(),
            "IntegratedGradients.Adaptive" => (p, ct) => new IntegratedGradients(model).Attribute(x, new IntegratedGradientsOptions
            {
                Target = 0, Adaptive = new AdaptiveIntegration { Tolerance = 10, MaxSteps = 17 }, InternalBatchSize = 4, Progress = p,
            }, ct).Dispose(),
            "LayerIntegratedGradients" => (p, ct) => new LayerIntegratedGradients(model, "lin1").Attribute(x, new LayerIntegratedGradientsOptions { Target = 0, Steps = 6, InternalBatchSize = 4, Progress = p }, ct).Dispose(),
            "LayerConductance" => (p, ct) => new LayerConductance(model, "act1").Attribute(x, new LayerConductanceOptions { Target = 0, Steps = 6, InternalBatchSize = 4, Progress = p }, ct).Dispose(),
            "InternalInfluence" => (p, ct) => new InternalInfluence(model, "lin1").Attribute(x, new InternalInfluenceOptions { Target = 0, Steps = 6, InternalBatchSize = 4, Progress = p }, ct).Dispose(),
            "NeuronIntegratedGradients" => (p, ct) => new NeuronIntegratedGradients(model, "lin1", 0).Attribute(x, new NeuronIntegratedGradientsOptions { Steps = 6, InternalBatchSize = 4, Progress = p }, ct).Dispose(),
            "NeuronConductance" => (p, ct) => new NeuronConductance(model, "lin1", 0).Attribute(x, new NeuronConductanceOptions { Target = 0, Steps = 6, InternalBatchSize = 4, Progress = p }, ct).Dispose(),
            "NoiseTunnel" => (p, ct) => NoiseTunnel.Create(new Saliency(model)).Attribute(x, new NoiseTunnelOptions<SaliencyOptions>
            {
                Samples = 5, SamplesBatchSize = 2, Stdevs = 0.1, Seed = 1, Progress = p, MethodOptions = new() { Target = 0 },
            }, ct).Dispose(),
            "NoiseTunnel.GuidedBackprop" => (p, ct) => NoiseTunnel.Create(new GuidedBackprop(model)).Attribute(x, new NoiseTunnelOptions<GuidedBackpropOptions>
            {
                Samples = 5, SamplesBatchSize = 2, Stdevs = 0.1, Seed = 1, Progress = p, MethodOptions = new() { Target = 0 },
            }, ct).Dispose(),
            "NoiseTunnel.DeepLift" => (p, ct) => NoiseTunnel.Create(new DeepLift(model)).Attribute(x, new NoiseTunnelOptions<DeepLiftOptions>
            {
                Samples = 5, SamplesBatchSize = 2, Stdevs = 0.1, Seed = 1, Progress = p, MethodOptions = new() { Target = 0, Baselines = 0.0 },
            }, ct).Dispose(),
            "LayerNoiseTunnel" => (p, ct) => NoiseTunnel.Create(new LayerIntegratedGradients(model, "lin1")).Attribute(x, new NoiseTunnelOptions<LayerIntegratedGradientsOptions>
            {
                Samples = 5, SamplesBatchSize = 2, Stdevs = 0.1, Seed = 1, Progress = p, MethodOptions = new() { Target = 0, Steps = 4 },
            }, ct).Dispose(),
            "GradientShap" => (p, ct) => new GradientShap(model).Attribute(x, new GradientShapOptions { Baselines = references, Target = 0, Samples = 3, Seed = 1, Progress = p }, ct).Dispose(),
            "LayerGradientShap" => (p, ct) => new LayerGradientShap(model, "lin1").Attribute(x, new LayerGradientShapOptions { Baselines = references, Target = 0, Samples = 3, Seed = 1, Progress = p }, ct).Dispose(),
            "DeepLiftShap" => (p, ct) => new DeepLiftShap(model).Attribute(x, new DeepLiftShapOptions { Baselines = references, Target = 0, Progress = p }, ct).Dispose(),
            "DeepLift" => (p, ct) => new DeepLift(model).Attribute(x, new DeepLiftOptions { Target = 0, Progress = p }, ct).Dispose(),
            "LayerDeepLift" => (p, ct) => new LayerDeepLift(model, "lin2").Attribute(x, new LayerDeepLiftOptions { Target = 0, Progress = p }, ct).Dispose(),
            "Saliency" => (p, ct) => new Saliency(model).Attribute(x, new SaliencyOptions { Target = 0, Progress = p }, ct).Dispose(),
            "InputXGradient" => (p, ct) => new InputXGradient(model).Attribute(x, new InputXGradientOptions { Target = 0, Progress = p }, ct).Dispose(),
            "GuidedBackprop" => (p, ct) => new GuidedBackprop(model).Attribute(x, new GuidedBackpropOptions { Target = 0, Progress = p }, ct).Dispose(),
            "Deconvolution" => (p, ct) => new Deconvolution(model).Attribute(x, new DeconvolutionOptions { Target = 0, Progress = p }, ct).Dispose(),
            "LayerActivation" => (p, ct) => new LayerActivation(model, "lin1").Attribute(x, new LayerActivationOptions { Progress = p }, ct).Dispose(),
            "LayerGradientXActivation" => (p, ct) => new LayerGradientXActivation(model, "lin1").Attribute(x, new LayerGradientXActivationOptions { Target = 0, Progress = p }, ct).Dispose(),
            "LayerGradCam" => (p, ct) => new LayerGradCam(model, "lin1").Attribute(x, new LayerGradCamOptions { Target = 0, Progress = p }, ct).Dispose(),
            "NeuronGradient" => (p, ct) => new NeuronGradient(model, "lin1", 0).Attribute(x, new NeuronGradientOptions { Progress = p }, ct).Dispose(),
            "GuidedGradCam" => (p, ct) => new GuidedGradCam(f.Cnn, "conv2").Attribute(f.Image, new GuidedGradCamOptions { Target = 0, Progress = p }, ct).Dispose(),
            "LayerDeepLiftShap" => (p, ct) => new LayerDeepLiftShap(model, "lin2").Attribute(x, new LayerDeepLiftShapOptions { Baselines = references, Target = 0, Progress = p }, ct).Dispose(),
            "NeuronGuidedBackprop" => (p, ct) => new NeuronGuidedBackprop(model, "act1", 0).Attribute(x, new NeuronGuidedBackpropOptions { Progress = p }, ct).Dispose(),
            "NeuronDeconvolution" => (p, ct) => new NeuronDeconvolution(model, "act1", 0).Attribute(x, new NeuronDeconvolutionOptions { Progress = p }, ct).Dispose(),
            "NeuronDeepLift" => (p, ct) => new NeuronDeepLift(model, "lin2", 0).Attribute(x, new NeuronDeepLiftOptions { Progress = p }, ct).Dispose(),
            "NeuronDeepLiftShap" => (p, ct) => new NeuronDeepLiftShap(model, "lin2", 0).Attribute(x, new NeuronDeepLiftShapOptions { Baselines = references, Progress = p }, ct).Dispose(),
            "NeuronGradientShap" => (p, ct) => new NeuronGradientShap(model, "lin2", 0).Attribute(x, new NeuronGradientShapOptions { Baselines = references, Samples = 3, Seed = 1, Progress = p }, ct).Dispose(),
            "LRP" => (p, ct) => new LRP(model).Attribute(x, new LRPOptions { Target = 0, Progress = p }, ct).Dispose(),
            "LayerLRP" => (p, ct) => new LayerLRP(model, "lin2").Attribute(x, new LayerLRPOptions { Target = 0, Progress = p }, ct).Dispose(),
            "FeatureAblation" => (p, ct) => new FeatureAblation(model).Attribute(x, new FeatureAblationOptions { Target = 0, PerturbationsPerEval = 1, Progress = p }, ct).Dispose(),
            "LLMAttribution" => (p, ct) => LLMAttribution.FeatureAblation(f.Language, f.Words).Attribute(
                new TextTokenInput("john went to", f.Words, skipTokens: [1]), "the kitchen", new LLMAttributionOptions<FeatureAblationOptions> { SkipTokens = [1], NumTrials = 2, Progress = p }, ct).Dispose(),
            "LLMGradientAttribution" => (p, ct) => LLMGradientAttribution.LayerIntegratedGradients(f.Language, f.Words, "transformer.wte").Attribute(
                new TextTokenInput("john went to", f.Words, skipTokens: [1]), "the kitchen", new LLMAttributionOptions<LayerIntegratedGradientsOptions> { SkipTokens = [1], Method = new() { Steps = 4 }, Progress = p }, ct).Dispose(),
            "DataLoaderAttribution" => (p, ct) => new DataLoaderAttribution(new FeatureAblation(model)).Attribute(
                Enumerable.Range(0, (int)x.shape[0]).Select(i => (Inputs)x.narrow(0, i, 1)),
                new DataLoaderAttributionOptions { PerturbationsPerPass = 2, Progress = p },
                ct).Dispose(),
            "Occlusion" => (p, ct) => new Occlusion(model).Attribute(x, new OcclusionOptions
            {
                SlidingWindowShapes = new long[] { 2 }, Strides = new long[] { 2 }, Target = 0, PerturbationsPerEval = 1, Progress = p,
            }, ct).Dispose(),
            "ShapleyValueSampling" => (p, ct) => new ShapleyValueSampling(model).Attribute(x, new ShapleyValueSamplingOptions { Target = 0, Samples = 2, Seed = 1, Progress = p }, ct).Dispose(),
            "Lime" => (p, ct) => new Lime(model).Attribute(x, new LimeOptions { Target = 0, Samples = 4, Seed = 1, Progress = p }, ct).Dispose(),
            "KernelShap" => (p, ct) => new KernelShap(model).Attribute(x, new KernelShapOptions { Target = 0, Samples = 4, Seed = 1, Progress = p }, ct).Dispose(),
            "FeaturePermutation" => (p, ct) => new FeaturePermutation(model).Attribute(x, new FeaturePermutationOptions { Target = 0, Seed = 1, Progress = p }, ct).Dispose(),
            "ShapleyValues" => (p, ct) => new ShapleyValues(model).Attribute(x, new ShapleyValuesOptions
            {
                Target = 0, FeatureMask = torch.tensor(new long[,] { { 0, 1, 2, 2 } }), PerturbationsPerEval = 2, Progress = p,
            }, ct).Dispose(),
            "LayerFeatureAblation" => (p, ct) => new LayerFeatureAblation(model, "lin1").Attribute(x, new LayerFeatureAblationOptions { Target = 0, PerturbationsPerEval = 2, Progress = p }, ct).Dispose(),
            "LayerFeaturePermutation" => (p, ct) => new LayerFeaturePermutation(model, "lin1").Attribute(x, new LayerFeaturePermutationOptions { Target = 0, PerturbationsPerEval = 2, Seed = 1, Progress = p }, ct).Dispose(),
            "NeuronFeatureAblation" => (p, ct) => new NeuronFeatureAblation(model, "lin1", 0).Attribute(x, new NeuronFeatureAblationOptions { Progress = p }, ct).Dispose(),
            "Infidelity" => (p, ct) =>
            {
                var noise = Infidelity.FromPerturbedInputs((inputs, _, g) => [inputs[0] - (torch.randn(inputs[0].shape, generator: g) * 0.1)]);
                Infidelity.Compute(model, noise, x, torch.ones(x.shape), new InfidelityOptions
                {
                    Target = 0, PerturbSamples = 4, MaxExamplesPerBatch = 4, Seed = 1, Progress = p,
                }, ct).Dispose();
            },
            "SensitivityMax" => (p, ct) =>
            {
                ExplanationFunction saliency = (inputs, arguments, token) =>
                    new Saliency(model).Attribute(inputs, new SaliencyOptions { Target = arguments.Target }, token).Attributions;
                SensitivityMax.Compute(saliency, x, new SensitivityMaxOptions
                {
                    Target = 0, PerturbSamples = 4, MaxExamplesPerBatch = 4, Seed = 1, Progress = p,
                }, ct).Dispose();
            },
            _ => throw new ArgumentOutOfRangeException(nameof(name), name, null),
        };
    }
}
