using Captum;
using Captum.Attr;
using Captum.Checkpoints;
using Captum.Forward;
using Captum.Layers;
using Captum.Plugins.Vqa.Model;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Docs;

/// <summary>docs/api.md's examples are this file's code, one test each, and they run and do what the guide says.</summary>
public sealed class ApiDocTests
{
    [Fact]
    public void ApiDoc_Examples_AreTheTestedCode() =>
        DocExamples.AreTestedCode("api.md", Path.Combine("Docs", "ApiDocTests.cs"), 7);

    [Fact]
    public void ApiDoc_IntegratedGradients_AttributesBothInputsAndItsDeltaIsTheGap()
    {
        using var scope = torch.NewDisposeScope();
        var model = new ImageAndFeaturesNet(seed: 11);
        var image = TestModels.Normal(12, 2, 1, 4, 4);
        var features = TestModels.Normal(13, 2, 3);
        var meanFeatures = features.mean([0], keepdim: true);
        var mask = torch.tensor(new float[,] { { 1, 0, 1 }, { 1, 1, 0 } });

        var ig = new IntegratedGradients(model, multiplyByInputs: true);
        using var result = ig.Attribute(Inputs.Of(image, features), new IntegratedGradientsOptions
        {
            Baselines = new BaselineValue[] { 0.0, meanFeatures },
            Target = new[] { 3, 1 },
            AdditionalForwardArgs = [mask],
            Steps = 50,                                   // n_steps
            Method = IntegrationMethod.GaussLegendre,     // or RiemannLeft/Right/Middle/Trapezoid
            InternalBatchSize = 64,                       // at most 64 expanded rows per pass
            ReturnConvergenceDelta = true,
            Progress = new Progress<AttributionProgress>(p => Console.WriteLine($"{p.CompletedSteps}/{p.TotalSteps}")),
        });
        Tensor imageAttribution = result[0], featureAttribution = result[1];
        Tensor delta = result.Delta!;                     // [n]: sum of attributions - (F(x) - F(baseline))

        Assert.Equal(image.shape, imageAttribution.shape);
        Assert.Equal(features.shape, featureAttribution.shape);
        using (torch.no_grad())
        {
            var rows = torch.tensor(new long[] { 0, 1 });
            var targets = torch.tensor(new long[] { 3, 1 });
            var gap = model.call(image, features, mask)[rows, targets] - model.call(torch.zeros_like(image), meanFeatures.expand(2, 3), mask)[rows, targets];
            var sums = imageAttribution.sum([1, 2, 3]) + featureAttribution.sum([1]);
            TensorAssert.AllClose(sums - gap, delta, 1e-5, 0);
            Assert.True(delta.abs().max().item<float>() < 1e-3, $"delta {delta.abs().max().item<float>()}");
        }
    }

    [Fact]
    public void ApiDoc_LayerIntegratedGradients_AttributesTheWrappedImageAndTheWordEmbeddings()
    {
        using var scope = torch.NewDisposeScope();
        var vqaNet = SmallVqaNet(seed: 21);
        var (image, q, qLen) = VqaQuestions(seed: 22);
        var answerIndex = 6;

        var wrapped = new ModelInputWrapper(vqaNet);                       // input_maps.v, input_maps.q, input_maps.q_len
        var lig = new LayerIntegratedGradients(wrapped, new LayerReference[] { "input_maps.v", "module.text.embedding" });
        var reference = new TokenReferenceBase(referenceTokenIdx: 0).GenerateReference(q.shape[1]).unsqueeze(0);
        using var result = lig.Attribute(Inputs.Of(image, q), new LayerIntegratedGradientsOptions
        {
            Baselines = new BaselineValue[] { image * 0, reference },   // token ids for token inputs
            Target = answerIndex,
            AdditionalForwardArgs = [qLen],
            Steps = 30,
        });
        Tensor imageAttribution = result[0];           // shape of input_maps.v's output: the image
        Tensor wordAttribution = result[1];            // [n, words, embedding]: sum the last dim per word

        Assert.Equal(image.shape, imageAttribution.shape);
        Assert.Equal(new long[] { 2, 4, 6 }, wordAttribution.shape);
        using (torch.no_grad())
        {
            // Completeness: together the two layers' attributions make up the answer's change along the path. The net
            // scales its image features to unit length, so every path point but the zero image itself sees the image
            // as it is: the path starts, in the limit, at a tiny multiple of the image.
            var gap = vqaNet.call(image, q, qLen)[.., answerIndex] - vqaNet.call(image * 1e-4, reference.expand(2, 4), qLen)[.., answerIndex];
            var sums = imageAttribution.sum([1, 2, 3]) + wordAttribution.sum([1, 2]);
            TensorAssert.AllClose(sums, gap, 1e-3, 1e-2);
        }
    }

    [Fact]
    public void ApiDoc_NoiseTunnelAndDeepLift_RunWithTheirOptions()
    {
        using var scope = torch.NewDisposeScope();
        var model = new SmallCnn(seed: 31);
        var image = TestModels.Normal(32, 2, 1, 6, 6);
        var label = 1;

        using var smooth = NoiseTunnel.Create(new Saliency(model)).Attribute(image, new NoiseTunnelOptions<SaliencyOptions>
        {
            NoiseType = NoiseTunnelType.SmoothGradSq,   // nt_type
            Samples = 20,                               // nt_samples
            SamplesBatchSize = 5,                       // nt_samples_batch_size
            Stdevs = 0.15,
            Seed = 42,                                  // the same seed gives the same numbers
            MethodOptions = new SaliencyOptions { Target = label },
        });

        using var deepLift = new DeepLift(model).Attribute(image, new DeepLiftOptions
        {
            Baselines = 0.0,
            Target = label,
            ReturnConvergenceDelta = true,              // [n]: ~0 when every nonlinearity is a supported module
        });

        Assert.Equal(image.shape, smooth.Attribution.shape);
        Assert.True(smooth.Attribution.min().item<float>() >= 0, "SmoothGrad squared averages squares");
        Assert.True(deepLift.Delta!.abs().max().item<float>() < 1e-4, $"delta {deepLift.Delta!.abs().max().item<float>()}");
    }

    [Fact]
    public void ApiDoc_LRP_RulesByPathAndByInstanceConserveTheRelevance()
    {
        using var scope = torch.NewDisposeScope();
        var model = new SmallCnn(seed: 41);
        var image = TestModels.Normal(42, 2, 1, 6, 6).abs();
        var label = 2;

        var lrp = new LRP(model, new Dictionary<LayerReference, PropagationRule>
        {
            ["features.conv1"] = new GammaRule(gamma: 0.25),
            [model.Classifier] = new EpsilonRule(epsilon: 1e-6),
        });
        using var relevance = lrp.Attribute(image, new LRPOptions { Target = label, ReturnConvergenceDelta = true });
        Tensor delta = relevance.Delta!;                // [n]: F(input) minus the sum of the relevances, as in Captum

        Assert.Equal(image.shape, relevance.Attribution.shape);
        using (torch.no_grad())
        {
            var output = model.call(image)[.., label];
            TensorAssert.AllClose(output - relevance.Attribution.sum([1, 2, 3]), delta, 1e-4, 1e-4);
        }
    }

    [Fact]
    public void ApiDoc_KernelShapWithAGenerator_FirstCallIsTheSeedsAndTheSecondDraws()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(51);
        var x = TestModels.Normal(52, 2, 4);
        var label = 0;

        var kernelShap = new KernelShap(model);
        using var generator = new torch.Generator(42);
        var options = new KernelShapOptions { Target = label, Samples = 200, Generator = generator };
        using var first = kernelShap.Attribute(x, options);    // the same as with Seed = 42
        using var second = kernelShap.Attribute(x, options);   // new samples: the generator has moved on

        using var seeded = kernelShap.Attribute(x, new KernelShapOptions { Target = label, Samples = 200, Seed = 42 });
        TensorAssert.AllClose(first.Attribution, seeded.Attribution, 0, 0);
        Assert.True((first.Attribution - second.Attribution).abs().max().item<float>() > 0, "the second call drew the same samples");
    }

    [Fact]
    public void ApiDoc_InterpretableEmbedding_RunsAndTheModelComputesTheSameAfterRemoval()
    {
        using var scope = torch.NewDisposeScope();
        var model = SmallVqaNet(seed: 61);
        var (image, q, qLen) = VqaQuestions(seed: 62);
        var reference = torch.zeros(2, 4, ScalarType.Int64);
        var answer = 2;
        Tensor before;
        using (torch.no_grad())
        {
            before = model.call(image, q, qLen);
        }

        var emb = InterpretableEmbeddings.ConfigureInterpretableEmbeddingLayer(model, "text.embedding");
        try
        {
            var qEmbedding = emb.IndicesToEmbeddings(q);
            var baselineEmbedding = emb.IndicesToEmbeddings(reference);
            using var r = new IntegratedGradients(model).Attribute(Inputs.Of(image, qEmbedding),
                new IntegratedGradientsOptions { Baselines = new BaselineValue[] { 0.0, baselineEmbedding }, Target = answer, AdditionalForwardArgs = [qLen] });
        }
        finally
        {
            InterpretableEmbeddings.RemoveInterpretableEmbeddingLayer(model, emb);
        }

        using (torch.no_grad())
        {
            TensorAssert.AllClose(model.call(image, q, qLen), before, 0, 0);
        }
    }

    [Fact]
    public void ApiDoc_Checkpoints_LoadAndSaveRoundTrip()
    {
        using var scope = torch.NewDisposeScope();
        using var temp = new TempFolder();
        var folder = temp.Path;
        var trained = SmallVqaNet(seed: 71);
        TorchCheckpoint.Save(new Dictionary<string, object?> { ["weights"] = trained.state_dict().ToDictionary(p => "module." + p.Key, p => (object?)p.Value) }, Path.Combine(folder, "vqa.pth"));
        var net = SmallVqaNet(seed: 72);
        var stateDict = trained.state_dict();
        SafeTensors.Save(new Dictionary<string, Tensor> { ["embedding"] = trained.Text.EmbeddingLayer.weight! }, Path.Combine(folder, "model.safetensors"));
        var tensors = new Dictionary<string, Tensor> { ["x"] = torch.arange(6).reshape(2, 3) };

        using var checkpoint = TorchCheckpoint.Load(Path.Combine(folder, "vqa.pth"));   // torch.save: zip or legacy format; or a .safetensors file
        var state = TorchCheckpoint.StateDict(checkpoint, "weights").StripPrefix("module.");
        TorchCheckpoint.LoadStateDict(net, state);                                        // lists every missing, unexpected or misshaped entry

        TorchCheckpoint.Save(new Dictionary<string, object?> { ["weights"] = stateDict, ["epoch"] = 3L }, Path.Combine(folder, "out.pth"));

        using var file = SafeTensors.Load(Path.Combine(folder, "model.safetensors"));    // file.Tensors, file.Metadata
        SafeTensors.Save(tensors, Path.Combine(folder, "out.safetensors"), new Dictionary<string, string> { ["format"] = "pt" });

        foreach (var (name, value) in trained.state_dict())
        {
            TensorAssert.AllClose(net.state_dict()[name], value, 0, 0);
        }

        using var saved = TorchCheckpoint.Load(Path.Combine(folder, "out.pth"));
        Assert.Equal(3L, saved["epoch"].AsInt64());
        Assert.Equal(stateDict.Keys.Order(StringComparer.Ordinal), TorchCheckpoint.StateDict(saved, "weights").Keys.Order(StringComparer.Ordinal));
        TensorAssert.AllClose(file.Tensors["embedding"], trained.Text.EmbeddingLayer.weight!, 0, 0);
        using var written = SafeTensors.Load(Path.Combine(folder, "out.safetensors"));
        Assert.Equal("pt", written.Metadata["format"]);
        Assert.Equal(tensors["x"].data<long>().ToArray(), written.Tensors["x"].data<long>().ToArray());
    }

    /// <summary>The VQA net of the tutorial, small: 20 tokens, 6-wide embeddings, 5 image channels, 7 answers; weights from its own generator.</summary>
    private static VqaNet SmallVqaNet(int seed)
    {
        var net = new VqaNet(new VqaConfig(Tokens: 20, EmbeddingFeatures: 6, LstmFeatures: 8, VFeatures: 5, MidFeatures: 4, Glimpses: 2, Answers: 7));
        Reseed(net, seed, 0.5);
        net.eval();
        return net;
    }

    /// <summary>Two examples for <see cref="SmallVqaNet"/>: image features [2, 5, 3, 3], questions of 4 token ids (lengths 3 and 4), the lengths.</summary>
    private static (Tensor Image, Tensor Q, Tensor QLen) VqaQuestions(int seed) =>
        (TestModels.Normal(seed, 2, 5, 3, 3), torch.tensor(new long[,] { { 3, 7, 2, 0 }, { 5, 1, 9, 4 } }), torch.tensor(new long[] { 3, 4 }));

    /// <summary>Every parameter uniform in +-<paramref name="bound"/> from a generator of the test's own (tests share the global one).</summary>
    private static void Reseed(nn.Module module, int seed, double bound)
    {
        var generator = new torch.Generator((ulong)(uint)seed);
        using (torch.no_grad())
        {
            foreach (var parameter in module.parameters())
            {
                parameter.copy_((torch.rand(parameter.shape, generator: generator) * 2 - 1) * bound);
            }
        }
    }

    /// <summary>forward(image [n, 1, 4, 4], features [n, 3], mask [n, 3]) = tanh(A image + B (features * mask)), [n, 4].</summary>
    private sealed class ImageAndFeaturesNet : nn.Module<Tensor, Tensor, Tensor, Tensor>
    {
        private readonly Linear image;
        private readonly Linear features;

        public ImageAndFeaturesNet(int seed)
            : base(nameof(ImageAndFeaturesNet))
        {
            image = nn.Linear(16, 4);
            features = nn.Linear(3, 4);
            RegisterComponents();
            Reseed(this, seed, 0.5);
            eval();
        }

        public override Tensor forward(Tensor x, Tensor f, Tensor mask) =>
            torch.tanh(image.call(x.flatten(1)) + features.call(f * mask));
    }

    /// <summary>features (conv1 1 to 3 channels, ReLU, global average pool), flatten, classifier (3 to 3): [n, 1, h, w] to [n, 3].</summary>
    private sealed class SmallCnn : nn.Module<Tensor, Tensor>
    {
        private readonly Sequential features;
        private readonly Flatten flatten;
        private readonly Linear classifier;

        public SmallCnn(int seed)
            : base(nameof(SmallCnn))
        {
            features = nn.Sequential(("conv1", nn.Conv2d(1, 3, 3, padding: 1)), ("relu1", nn.ReLU()), ("pool", nn.AdaptiveAvgPool2d(1)));
            flatten = nn.Flatten();
            classifier = nn.Linear(3, 3);
            RegisterComponents();
            Reseed(this, seed, 0.5);
            eval();
        }

        public Linear Classifier => classifier;

        public override Tensor forward(Tensor x) => classifier.call(flatten.call(features.call(x)));
    }
}
