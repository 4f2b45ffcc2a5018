using System.Reflection;
using System.Text.RegularExpressions;
using Captum.Attr;
using Captum.Forward;
using Captum.Layers;
using Captum.Metrics;
using Captum.Module;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Docs;

/// <summary>
/// docs/methods.md: every example runs here, on the test models, and its result is checked against a property of
/// the method; every csharp block of the guide is code of this file.
/// </summary>
/// <remarks>
/// Each test sets up the variables the guide's examples assume (<c>model</c>, <c>x</c>, <c>tokens</c>, <c>image</c>,
/// ...), then holds the example's lines verbatim (the doc may add comments), then asserts. Serial: several test
/// models seed TorchSharp's global generator.
/// </remarks>
[Collection(Captum.Tests.Attr.SerialCollection.Name)]
public sealed partial class MethodsDocTests
{
    // ---------------------------------------------------------------- gradient methods

    [Fact]
    public void MethodsDoc_IntegratedGradients_Runs()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(1);
        var x = TestModels.Normal(2, 3, 4);

        var ig = new IntegratedGradients(model);
        using var result = ig.Attribute(x, new IntegratedGradientsOptions
        {
            Baselines = 0.0,
            Target = 1,
            Steps = 64,
            InternalBatchSize = 96,
            ReturnConvergenceDelta = true,
        });
        Tensor attribution = result.Attribution;
        Tensor delta = result.Delta!;

        Assert.Equal(x.shape, attribution.shape);
        Assert.Equal(new long[] { 3 }, delta.shape);
        Assert.True(delta.abs().max().item<float>() < 1e-4, $"delta {delta.abs().max().item<float>()}");

        using var adaptive = ig.Attribute(x, new IntegratedGradientsOptions
        {
            Target = 1,
            Adaptive = new AdaptiveIntegration { Tolerance = 1e-5, MaxSteps = 129 },
            ReturnConvergenceDelta = true,
        });
        IReadOnlyList<int> points = adaptive.StepsPerExample!;

        using var kronrod = ig.Attribute(x, new IntegratedGradientsOptions
        {
            Target = 1,
            Adaptive = new AdaptiveIntegration { Tolerance = 1e-5, MaxSteps = 257, Rule = AdaptiveRule.GaussKronrod },
            ReturnConvergenceDelta = true,
        });
        IReadOnlyList<int> used = kronrod.StepsPerExample!;

        using var budgeted = ig.Attribute(x, new IntegratedGradientsOptions
        {
            Target = 1,
            Steps = 64,
            MaxMemoryBytes = 256L << 20,
        });
        int? chosen = budgeted.InternalBatchSize;

        Assert.Equal(3, points.Count);
        Assert.All(points, p => Assert.Contains(p, new[] { 5, 9, 17, 33, 65, 129 }));
        Assert.True(adaptive.Delta!.abs().max().item<float>() < 1e-4);
        Assert.All(used, p => Assert.True(p < 257 && (p - 16) % 31 == 0, $"{p} points"));
        Assert.True(kronrod.Delta!.abs().max().item<float>() < 1e-5);
        TensorAssert.AllClose(kronrod.Attribution, attribution, 1e-4, 1e-3);
        TensorAssert.AllClose(adaptive.Attribution, attribution, 1e-4, 1e-3);
        Assert.NotNull(chosen);
        Assert.Equal(0, chosen!.Value % 3);
        TensorAssert.AllClose(budgeted.Attribution, attribution, 1e-5, 1e-4);
    }

    [Fact]
    public void MethodsDoc_Saliency_Runs()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(3);
        var x = TestModels.Normal(4, 3, 4);

        using var result = new Saliency(model).Attribute(x, new SaliencyOptions { Target = 2 });
        Tensor saliency = result.Attribution;

        using var signed = new Saliency(model).Attribute(x, new SaliencyOptions { Target = 2, Abs = false });
        Assert.Equal(x.shape, saliency.shape);
        Assert.True((saliency >= 0).all().item<bool>(), "Saliency is an absolute value by default");
        Assert.True((saliency > 0).any().item<bool>());
        TensorAssert.AllClose(saliency, signed.Attribution.abs(), 1e-7, 0);
    }

    [Fact]
    public void MethodsDoc_InputXGradient_Runs()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearModel(4, 3, seed: 5);
        var x = TestModels.Normal(6, 3, 4);

        using var result = new InputXGradient(model).Attribute(x, new InputXGradientOptions { Target = 0 });

        // For a linear model: x times the target's weights, summing to F(x) - bias.
        var weights = model.Lin.weight!;
        TensorAssert.AllClose(result.Attribution, x * weights[0], 1e-6, 1e-5);
        using (torch.no_grad())
        {
            TensorAssert.AllClose(result.Attribution.sum(1), model.forward(x)[.., 0] - model.Lin.bias![0], 1e-5, 1e-5);
        }
    }

    [Fact]
    public void MethodsDoc_GuidedBackprop_Runs()
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(7, "relu");
        var x = TestModels.Normal(8, 3, 4);

        using var result = new GuidedBackprop(model).Attribute(x, new GuidedBackpropOptions { Target = 0 });

        // By hand: back-propagate W3[0], every ReLU passing relu(gradient) * its own mask.
        using var noGrad = torch.no_grad();
        var mask1 = model.Lin1.forward(x) > 0;
        var mask2 = model.Lin2.forward(torch.nn.functional.relu(model.Lin1.forward(x))) > 0;
        var g = torch.nn.functional.relu(model.Lin3.weight![0].expand(3, 6)) * mask2;
        g = torch.nn.functional.relu(g.matmul(model.Lin2.weight!)) * mask1;
        TensorAssert.AllClose(result.Attribution, g.matmul(model.Lin1.weight!), 1e-6, 1e-5);
    }

    [Fact]
    public void MethodsDoc_Deconvolution_Runs()
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(9, "relu");
        var x = TestModels.Normal(10, 3, 4);

        using var result = new Deconvolution(model).Attribute(x, new DeconvolutionOptions { Target = 0 });

        // The ReLUs' masks are ignored: on a ReLU MLP every example gets the same attribution.
        using var noGrad = torch.no_grad();
        var g = torch.nn.functional.relu(model.Lin3.weight![0]);
        g = torch.nn.functional.relu(g.matmul(model.Lin2.weight!));
        TensorAssert.AllClose(result.Attribution, g.matmul(model.Lin1.weight!).expand(3, 4), 1e-6, 1e-5);
    }

    [Fact]
    public void MethodsDoc_DeepLift_Runs()
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(11, "relu");
        var x = TestModels.Normal(12, 3, 4);

        var deepLift = new DeepLift(model);
        using var result = deepLift.Attribute(x, new DeepLiftOptions
        {
            Baselines = 0.0,
            Target = 1,
            ReturnConvergenceDelta = true,
        });

        Assert.Equal(x.shape, result.Attribution.shape);
        Assert.True(result.Delta!.abs().max().item<float>() < 1e-5, "summation-to-delta holds with module ReLUs");
    }

    [Fact]
    public void MethodsDoc_DeepLiftShap_Runs()
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(13, "relu");
        var x = TestModels.Normal(14, 3, 4);
        var references = TestModels.Normal(15, 8, 4);

        using var result = new DeepLiftShap(model).Attribute(x, new DeepLiftShapOptions
        {
            Baselines = references,
            Target = 1,
            ReturnConvergenceDelta = true,
        });
        Tensor delta = result.Delta!;

        // The attributions sum to F(x) minus the mean output over the references.
        Assert.Equal(new long[] { 24 }, delta.shape);
        Assert.True(delta.abs().max().item<float>() < 1e-5);
        using var noGrad = torch.no_grad();
        var expected = model.forward(x)[.., 1] - model.forward(references)[.., 1].mean();
        TensorAssert.AllClose(result.Attribution.sum(1), expected, 1e-5, 1e-4);
    }

    [Fact]
    public void MethodsDoc_Lrp_Runs()
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(47, "relu");
        var x = TestModels.Normal(48, 3, 4);

        var lrp = new LRP(model, new Dictionary<LayerReference, PropagationRule>
        {
            ["lin1"] = new GammaRule(),
            ["lin3"] = new EpsilonRule(1e-6),
        });
        using var result = lrp.Attribute(x, new LRPOptions
        {
            Target = 1,
            ReturnConvergenceDelta = true,
        });
        Tensor relevance = result.Attribution;
        Tensor delta = result.Delta!;

        // The delta is the output minus the relevances; with the default rules a ReLU MLP gets InputXGradient's numbers.
        Assert.Equal(x.shape, relevance.shape);
        using var defaults = new LRP(model).Attribute(x, new LRPOptions { Target = 1 });
        using var inputXGradient = new InputXGradient(model).Attribute(x, new InputXGradientOptions { Target = 1 });
        TensorAssert.AllClose(defaults.Attribution, inputXGradient.Attribution, 1e-6, 1e-4);
        Assert.False(torch.allclose(relevance, defaults.Attribution), "the gamma rule changes the relevances");
        using var noGrad = torch.no_grad();
        TensorAssert.AllClose(delta, model.forward(x)[.., 1] - relevance.sum(1), 1e-5, 1e-4);
    }

    [Fact]
    public void MethodsDoc_GradientShap_Runs()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearModel(4, 3, seed: 16);
        var x = TestModels.Normal(17, 3, 4);
        var references = TestModels.Normal(18, 10, 4);

        var gradientShap = new GradientShap(model);
        var options = new GradientShapOptions
        {
            Baselines = references,
            Target = 0,
            Samples = 20,
            Stdevs = 0.1,
            Seed = 7,
            ReturnConvergenceDelta = true,
        };
        using var result = gradientShap.Attribute(x, options);
        Tensor delta = result.Delta!;

        using var again = gradientShap.Attribute(x, options);
        Assert.Equal(x.shape, result.Attribution.shape);
        Assert.Equal(new long[] { 60 }, delta.shape);
        Assert.True(delta.abs().max().item<float>() < 1e-5, "a linear model's samples are exact");
        TensorAssert.AllClose(again.Attribution, result.Attribution, 0, 0);
    }

    [Fact]
    public void MethodsDoc_NoiseTunnel_Runs()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearModel(4, 3, seed: 19);
        var x = TestModels.Normal(20, 3, 4);

        var smoothGrad = NoiseTunnel.Create(new Saliency(model));
        using var result = smoothGrad.Attribute(x, new NoiseTunnelOptions<SaliencyOptions>
        {
            NoiseType = NoiseTunnelType.SmoothGrad,
            Samples = 16,
            SamplesBatchSize = 8,
            Stdevs = 0.2,
            Seed = 42,
            MethodOptions = new SaliencyOptions { Target = 0, Abs = false },
        });

        // A linear model's gradient is the same at every noisy sample: the mean is the weight row.
        TensorAssert.AllClose(result.Attribution, model.Lin.weight![0].expand(3, 4), 1e-6, 1e-5);
    }

    [Fact]
    public void MethodsDoc_GuidedGradCam_Runs()
    {
        using var scope = torch.NewDisposeScope();
        var model = new TinyCnn(57);
        var image = TestModels.Normal(58, 2, 1, 8, 8);

        var guidedGradCam = new GuidedGradCam(model, "conv2");
        using var result = guidedGradCam.Attribute(image, new GuidedGradCamOptions
        {
            Target = 2,
            InterpolateMode = InterpolationMode.Bilinear,
        });
        Tensor attribution = result.Attribution;

        // GuidedBackprop times the positive Grad-CAM map resized from conv2's 8x4 positions to the image's 8x8.
        using var guided = new GuidedBackprop(model).Attribute(image, new GuidedBackpropOptions { Target = 2 });
        using var cam = new LayerGradCam(model, "conv2").Attribute(image, new LayerGradCamOptions { Target = 2, ReluAttributions = true });
        using var upsampled = LayerAttribution.Interpolate(cam.Attribution, [8, 8], InterpolationMode.Bilinear);
        Assert.Equal(image.shape, attribution.shape);
        TensorAssert.AllClose(attribution, guided.Attribution * upsampled, 0, 0);
        Assert.True((attribution[.., .., .., 4..] == 0).all().item<bool>(), "the model reads only the left half");
    }

    // ---------------------------------------------------------------- perturbation methods

    [Fact]
    public void MethodsDoc_FeatureAblation_Runs()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearModel(4, 3, seed: 21);
        var x = TestModels.Normal(22, 3, 4);

        var mask = torch.tensor(new long[,] { { 0, 0, 1, 1 } });
        using var result = new FeatureAblation(model).Attribute(x, new FeatureAblationOptions
        {
            Baselines = 0.0,
            Target = 2,
            FeatureMask = mask,
            PerturbationsPerEval = 2,
        });

        // Ablating a group of a linear model drops the output by the group's share of W x.
        var share = x * model.Lin.weight![2];
        var first = share[.., ..2].sum(1, keepdim: true).expand(3, 2);
        var second = share[.., 2..].sum(1, keepdim: true).expand(3, 2);
        TensorAssert.AllClose(result.Attribution, torch.cat([first, second], 1), 1e-5, 1e-5);
    }

    [Fact]
    public void MethodsDoc_Occlusion_Runs()
    {
        using var scope = torch.NewDisposeScope();
        var model = new TinyCnn(23);
        var image = TestModels.Normal(24, 2, 1, 8, 8);

        using var result = new Occlusion(model).Attribute(image, new OcclusionOptions
        {
            SlidingWindowShapes = new long[] { 1, 2, 2 },
            Strides = new long[] { 1, 2, 2 },
            Baselines = 0.0,
            Target = 1,
            PerturbationsPerEval = 1,
        });

        // The model reads only columns 0-3: occluding the others changes nothing.
        Assert.Equal(image.shape, result.Attribution.shape);
        Assert.True((result.Attribution[.., .., .., 4..] == 0).all().item<bool>());
        Assert.True((result.Attribution[.., .., .., ..4] != 0).any().item<bool>());
    }

    [Fact]
    public void MethodsDoc_ShapleyValueSampling_Runs()
    {
        using var scope = torch.NewDisposeScope();
        var model = new TwoInputModel(25);
        var a = TestModels.Normal(26, 3, 2);
        var b = TestModels.Normal(27, 3, 3);
        var scale = torch.ones(3, 1) * 2;

        using var result = new ShapleyValueSampling(model).Attribute(Inputs.Of(a, b), new ShapleyValueSamplingOptions
        {
            Target = 0,
            AdditionalForwardArgs = [scale],
            Samples = 10,
            Seed = 1,
        });
        Tensor attributionA = result[0], attributionB = result[1];

        // The model is additive over its features: Shapley values are exact and equal the ablation drops.
        using var ablation = new FeatureAblation(model).Attribute(Inputs.Of(a, b), new FeatureAblationOptions { Target = 0, AdditionalForwardArgs = [scale] });
        TensorAssert.AllClose(attributionA, ablation[0], 1e-5, 1e-4);
        TensorAssert.AllClose(attributionB, ablation[1], 1e-5, 1e-4);
        using var noGrad = torch.no_grad();
        var difference = model.forward(a, b, scale)[.., 0] - model.forward(torch.zeros_like(a), torch.zeros_like(b), scale)[.., 0];
        TensorAssert.AllClose(attributionA.sum(1) + attributionB.sum(1), difference, 1e-5, 1e-4);
    }

    [Fact]
    public void MethodsDoc_DataLoaderAttribution_Runs()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearModel(4, 3, seed: 31);
        var x = TestModels.Normal(32, 8, 4);
        var labels = torch.tensor(new long[] { 0, 1, 2, 0, 1, 2, 0, 1 });

        var roles = new[] { InputRole.NeedAttribution, InputRole.NoForward };   // features, then labels (not forwarded)
        var loader = new[] { 0L, 4L }.Select(s => Inputs.Of(x.narrow(0, s, 4), labels.narrow(0, s, 4)));
        using var result = new DataLoaderAttribution(new FeatureAblation(model)).Attribute(loader, new DataLoaderAttributionOptions
        {
            InputRoles = roles,
            FeatureMask = torch.tensor(new long[,] { { 0, 0, 1, 1 } }),   // two features, shared by every batch
            Reduce = (acc, output, batch) => (acc as Tensor ?? torch.zeros(1)) + output.argmax(1).eq(batch[1]).sum(),
            ToMetric = correct => (Tensor)correct! / 8,   // accuracy over the 8 examples
            PerturbationsPerPass = 2,                     // both features in one pass over the loader
        });
        Tensor accuracyDrop = result.Attribution;   // [1, 4]: each element holds its feature's drop in accuracy

        // By hand: the accuracy on all 8 examples, minus the accuracy with the feature's two columns zeroed.
        using var noGrad = torch.no_grad();
        Tensor Accuracy(Tensor data) => model.forward(data).argmax(1).eq(labels).to(ScalarType.Float32).mean();
        var first = x.clone();
        first[.., 0..2] = 0;
        var second = x.clone();
        second[.., 2..4] = 0;
        var drop0 = (Accuracy(x) - Accuracy(first)).item<float>();
        var drop1 = (Accuracy(x) - Accuracy(second)).item<float>();
        TensorAssert.AllClose(accuracyDrop, torch.tensor(new[,] { { drop0, drop0, drop1, drop1 } }), 1e-6, 1e-6);
    }

    [Fact]
    public void MethodsDoc_LanguageModels_Runs()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(5);
        var model = new Captum.Plugins.TextGeneration.Model.Gpt2LMHeadModel(new(11, 32, 8, 2, 1));
        model.eval();
        var tokenizer = new Captum.Golden.WordTokenizer(["<unk>", "<s>", "mary", "went", "to", "the", "garden", ".", "where", "is", "?"]);

        var llm = LLMAttribution.FeatureAblation(model, tokenizer);
        var input = new TextTemplateInput("{} went to the {} . where is {} ?", ["mary", "garden", "mary"]);
        using var result = llm.Attribute(input, "garden", new LLMAttributionOptions<FeatureAblationOptions> { SkipTokens = ["<s>"] });
        // result.SequenceAttribution[i]: how much removing value i lowers log p("garden"); result.TokenAttribution: per answer token

        Assert.Equal([3L], result.SequenceAttribution.shape);
        Assert.Equal(["garden"], result.OutputTokens);
    }

    [Fact]
    public void MethodsDoc_StochasticGates_Runs()
    {
        using var scope = torch.NewDisposeScope();
        var x = TestModels.Normal(33, 16, 4);
        var y = x[.., 0] - x[.., 1];
        using var head = nn.Linear(4, 1);

        var groups = torch.tensor(new long[] { 0, 0, 1, 1 });   // two gates, each over two features
        using var gates = new BinaryConcreteStochasticGates(2, groups, regWeight: 0.05, generator: new Generator(1));
        var (gated, l0) = gates.forward(x);                      // gated: x's shape; l0: a scalar to add to the loss
        var loss = torch.nn.functional.mse_loss(head.forward(gated).squeeze(1), y) + l0;
        loss.backward();                                         // gradients reach the gates' log_alpha_param
        gates.eval();
        Tensor open = gates.GetGateValues();                     // [2], each in [0, 1]

        Assert.Equal(x.shape, gated.shape);
        Assert.Empty(l0.shape);
        Assert.NotNull(gates.LogAlphaParam.grad);
        Assert.Equal(new long[] { 2 }, open.shape);
        Assert.True((open >= 0).all().item<bool>() && (open <= 1).all().item<bool>());
        var (evaluated, _) = gates.forward(x);
        TensorAssert.AllClose(evaluated, x * open.index_select(0, groups), 1e-7, 1e-6);
    }

    [Fact]
    public void MethodsDoc_ProductBaselines_Runs()
    {
        using var scope = torch.NewDisposeScope();
        var model = new TwoInputModel(25);
        var a = TestModels.Normal(26, 3, 2);
        var b = TestModels.Normal(27, 3, 3);
        var scale = torch.ones(3, 1) * 2;
        var meanA = a.mean([0], keepdim: true);

        var references = new ProductBaselines([[0.0, meanA], [0.0, -1.0]], seed: 7);   // 2 x 2 = 4 combinations
        using var drawn = new FeatureAblation(model).Attribute(Inputs.Of(a, b), new FeatureAblationOptions
        {
            Baselines = references,            // one combination drawn for this call
            Target = 0,
            AdditionalForwardArgs = [scale],
        });
        Baselines sample = references.Sample();   // the next combination, as per-input Baselines

        // The call drew the first combination of the seeded sequence: replaying it gives the same attributions.
        var replay = new ProductBaselines([[0.0, meanA], [0.0, -1.0]], seed: 7);
        using var expected = new FeatureAblation(model).Attribute(Inputs.Of(a, b), new FeatureAblationOptions { Baselines = replay.Sample(), Target = 0, AdditionalForwardArgs = [scale] });
        TensorAssert.AllClose(drawn[0], expected[0], 0, 0);
        TensorAssert.AllClose(drawn[1], expected[1], 0, 0);
        var next = replay.Sample();
        Assert.Same(next.For(0, 2).Tensor, sample.For(0, 2).Tensor);
        Assert.Equal(next.For(1, 2).Scalar, sample.For(1, 2).Scalar);
    }

    [Fact]
    public void MethodsDoc_ShapleyValues_Runs()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(60);
        var x = TestModels.Normal(61, 3, 4);

        var groups = torch.tensor(new long[,] { { 0, 0, 1, 2 } });
        using var result = new ShapleyValues(model).Attribute(x, new ShapleyValuesOptions
        {
            Baselines = 0.0,
            Target = 1,
            FeatureMask = groups,
            PerturbationsPerEval = 3,
        });
        Tensor shapley = result.Attribution;

        // The coalition formula of the three features, and efficiency: they sum to F(x) - F(0).
        using var noGrad = torch.no_grad();
        var zeros = torch.zeros(1, 4);
        long[] feature = [0, 0, 1, 2];
        var phi = Captum.Tests.Attr.Perturbation.ShapleyValuesTests.ByCoalitions(
            3, on => model.call(Captum.Tests.Attr.Perturbation.ShapleyValuesTests.Mixed(x, zeros, feature, on))[.., 1]);
        TensorAssert.AllClose(shapley, torch.stack([phi[0], phi[0], phi[1], phi[2]], 1), 1e-6, 1e-5);
        TensorAssert.AllClose(phi[0] + phi[1] + phi[2], model.call(x)[.., 1] - model.call(zeros)[.., 1], 1e-6, 1e-5);
    }

    [Fact]
    public void MethodsDoc_FeaturePermutation_Runs()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearModel(4, 3, seed: 62);
        var x = TestModels.Normal(63, 6, 4);
        var mask = torch.tensor(new long[,] { { 0, 0, 1, 2 } });
        Tensor labels;
        using (torch.no_grad())
        {
            labels = model.call(x);
        }

        using var result = new FeaturePermutation(model).Attribute(x, new FeaturePermutationOptions
        {
            Target = 0,
            FeatureMask = mask,
            PerturbationsPerEval = 2,
            Seed = 4,
        });

        ForwardFunction loss = (Func<Tensor, Tensor>)(batch => torch.nn.functional.mse_loss(model.call(batch), labels));
        using var importance = new FeaturePermutation(loss).Attribute(x, new FeaturePermutationOptions { Seed = 4 });
        Tensor perFeature = importance.Attribution;

        // A linear model is additive: shuffling a feature only moves its contributions among the examples.
        Assert.Equal(x.shape, result.Attribution.shape);
        TensorAssert.AllClose(result.Attribution.sum(dim: 0), torch.zeros(4), 1e-5, 0);

        // The labels are the model's own outputs (loss 0): every shuffle raises the loss, so every importance is negative.
        Assert.Equal(new long[] { 1, 4 }, perFeature.shape);
        Assert.True((perFeature < 0).all().item<bool>(), string.Join(", ", perFeature.data<float>().ToArray()));
    }

    [Fact]
    public void MethodsDoc_Lime_Runs()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearModel(4, 3, seed: 28);
        var x = TestModels.Normal(29, 3, 4);
        var mask = torch.tensor(new long[,] { { 0, 0, 1, 1 } });

        var lime = new Lime(model, interpretableModel: new LinearRegressionSurrogate());
        using var result = lime.Attribute(x, new LimeOptions
        {
            Baselines = 0.0,
            Target = 1,
            FeatureMask = mask,
            Samples = 40,
            Seed = 3,
        });

        // The model is linear in the interpretable features, so the regression recovers each group's share of W x.
        var share = x * model.Lin.weight![1];
        var first = share[.., ..2].sum(1, keepdim: true).expand(3, 2);
        var second = share[.., 2..].sum(1, keepdim: true).expand(3, 2);
        TensorAssert.AllClose(result.Attribution, torch.cat([first, second], 1), 1e-4, 1e-4);
    }

    [Fact]
    public void MethodsDoc_KernelShap_Runs()
    {
        using var scope = torch.NewDisposeScope();
        var model = new BagOfWords(30);
        var tokens = torch.tensor(new long[,] { { 3, 7, 1, 9, 4, 2 }, { 5, 5, 11, 8, 6, 10 } });

        using var result = new KernelShap(model).Attribute(tokens, new KernelShapOptions
        {
            Baselines = 0.0,
            Target = 2,
            Samples = 64,
            Seed = 5,
        });
        Tensor perToken = result.Attribution;

        // Bag of words is additive over positions: Shapley values equal the ablation drops and sum to F(tokens) - F(padding).
        Assert.Equal(tokens.shape, perToken.shape);
        using var ablation = new FeatureAblation(model).Attribute(tokens, new FeatureAblationOptions { Target = 2 });
        TensorAssert.AllClose(perToken, ablation.Attribution, 1e-5, 1e-3);
        using var noGrad = torch.no_grad();
        var difference = model.forward(tokens)[.., 2] - model.forward(torch.zeros_like(tokens))[.., 2];
        TensorAssert.AllClose(perToken.sum(1), difference, 1e-5, 1e-3);
    }

    // ---------------------------------------------------------------- layer methods

    [Fact]
    public void MethodsDoc_LayerIntegratedGradients_Runs()
    {
        using var scope = torch.NewDisposeScope();
        var model = new BagOfWords(31);
        var tokens = torch.tensor(new long[,] { { 3, 7, 1, 9, 4, 2 }, { 5, 5, 11, 8, 6, 10 } });

        var lig = new LayerIntegratedGradients(model, "embedding");
        var reference = new TokenReferenceBase(referenceTokenIdx: 0).GenerateReference(tokens.shape[1]).unsqueeze(0);
        using var result = lig.Attribute(tokens, new LayerIntegratedGradientsOptions
        {
            Baselines = reference,
            Target = 0,
            Steps = 32,
            ReturnConvergenceDelta = true,
        });
        Tensor perToken = result.Attribution.sum(-1);

        Assert.Equal(new long[] { 2, 6, 5 }, result.Attribution.shape);
        Assert.Equal(tokens.shape, perToken.shape);
        Assert.True(result.Delta!.abs().max().item<float>() < 1e-4, $"delta {result.Delta!.abs().max().item<float>()}");
    }

    [Fact]
    public void MethodsDoc_LayerActivation_Runs()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(32);
        var x = TestModels.Normal(33, 3, 4);

        using var result = new LayerActivation(model, "lin1").Attribute(x);
        Tensor hidden = result.Attribution;

        using var noGrad = torch.no_grad();
        TensorAssert.AllClose(hidden, model.Lin1.forward(x), 0, 0);
    }

    [Fact]
    public void MethodsDoc_LayerGradientXActivation_Runs()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearStack(34);
        var x = TestModels.Normal(35, 3, 4);

        using var result = new LayerGradientXActivation(model, "lin1").Attribute(x, new LayerGradientXActivationOptions { Target = 1 });

        // lin2 reads lin1's output linearly: the products sum to the output minus lin2's bias.
        Assert.Equal(new long[] { 3, 5 }, result.Attribution.shape);
        using var noGrad = torch.no_grad();
        TensorAssert.AllClose(result.Attribution.sum(1), model.forward(x)[.., 1] - model.Lin2.bias![1], 1e-5, 1e-5);
    }

    [Fact]
    public void MethodsDoc_LayerConductance_Runs()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(36);
        var x = TestModels.Normal(37, 3, 4);

        using var result = new LayerConductance(model, "lin1").Attribute(x, new LayerConductanceOptions
        {
            Target = 0,
            Steps = 100,
            Method = IntegrationMethod.RiemannTrapezoid,
            ReturnConvergenceDelta = true,
        });
        Tensor conductance = result.Attribution;

        Assert.Equal(new long[] { 3, 8 }, conductance.shape);
        Assert.True(result.Delta!.abs().max().item<float>() < 1e-3, $"delta {result.Delta!.abs().max().item<float>()}");
    }

    [Fact]
    public void MethodsDoc_InternalInfluence_Runs()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(38);
        var x = TestModels.Normal(39, 3, 4);

        using var result = new InternalInfluence(model, "lin1").Attribute(x, new InternalInfluenceOptions { Target = 2, Steps = 32 });

        // lin1 is linear in x: its points on the input path are the layer's own path, as LIG without multiplying takes it.
        using var lig = new LayerIntegratedGradients(model, "lin1", multiplyByInputs: false).Attribute(x, new LayerIntegratedGradientsOptions { Target = 2, Steps = 32 });
        Assert.Equal(new long[] { 3, 8 }, result.Attribution.shape);
        TensorAssert.AllClose(result.Attribution, lig.Attribution, 1e-6, 1e-4);
    }

    [Fact]
    public void MethodsDoc_LayerGradCam_Runs()
    {
        using var scope = torch.NewDisposeScope();
        var model = new TinyCnn(40);
        var image = TestModels.Normal(41, 2, 1, 8, 8);

        var gradCam = new LayerGradCam(model, "conv2");
        using var result = gradCam.Attribute(image, new LayerGradCamOptions { Target = 2 });
        Tensor map = result.Attribution;
        using var upsampled = LayerAttribution.Interpolate(map, [8, 8]);

        // By hand: every channel weighted by its mean gradient, W[2, c] / 32 where the ReLU passes.
        using var noGrad = torch.no_grad();
        var activation = model.Features(image);
        var gradient = model.Fc.weight![2].reshape(1, 4, 1, 1) * (activation > 0).to_type(ScalarType.Float32) / 32;
        var expected = (gradient.mean([2, 3], keepdim: true) * activation).sum(1, keepdim: true);
        Assert.Equal(new long[] { 2, 1, 8, 4 }, map.shape);
        TensorAssert.AllClose(map, expected, 1e-6, 1e-5);
        Assert.Equal(new long[] { 2, 1, 8, 8 }, upsampled.shape);
        TensorAssert.AllClose(upsampled[.., .., .., TensorIndex.Slice(0, null, 2)], map, 0, 0);
    }

    [Fact]
    public void MethodsDoc_LayerDeepLift_Runs()
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(42, "relu");
        var x = TestModels.Normal(43, 3, 4);

        using var result = new LayerDeepLift(model, "lin2").Attribute(x, new LayerDeepLiftOptions
        {
            Baselines = 0.0,
            Target = 2,
            ReturnConvergenceDelta = true,
        });

        Assert.Equal(new long[] { 3, 6 }, result.Attribution.shape);
        Assert.True(result.Delta!.abs().max().item<float>() < 1e-5);
    }

    [Fact]
    public void MethodsDoc_LayerGradientShap_Runs()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearStack(44);
        var x = TestModels.Normal(45, 3, 4);
        var references = TestModels.Normal(46, 10, 4);

        using var result = new LayerGradientShap(model, "lin1").Attribute(x, new LayerGradientShapOptions
        {
            Baselines = references,
            Target = 1,
            Samples = 8,
            Seed = 3,
            ReturnConvergenceDelta = true,
        });

        Assert.Equal(new long[] { 3, 5 }, result.Attribution.shape);
        Assert.Equal(new long[] { 24 }, result.Delta!.shape);
        Assert.True(result.Delta!.abs().max().item<float>() < 1e-5, "a linear model's samples are exact");
    }

    [Fact]
    public void MethodsDoc_LayerDeepLiftShap_Runs()
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(59, "relu");
        var x = TestModels.Normal(60, 3, 4);
        var references = TestModels.Normal(61, 8, 4);

        using var result = new LayerDeepLiftShap(model, "lin2").Attribute(x, new LayerDeepLiftShapOptions
        {
            Baselines = references,
            Target = 2,
            ReturnConvergenceDelta = true,
        });

        // The layer attributions sum to F(x) minus the mean output over the references.
        Assert.Equal(new long[] { 3, 6 }, result.Attribution.shape);
        Assert.Equal(new long[] { 24 }, result.Delta!.shape);
        Assert.True(result.Delta!.abs().max().item<float>() < 1e-5);
        using var noGrad = torch.no_grad();
        TensorAssert.AllClose(result.Attribution.sum(1), model.forward(x)[.., 2] - model.forward(references)[.., 2].mean(), 1e-5, 1e-4);
    }

    [Fact]
    public void MethodsDoc_LayerLrp_Runs()
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(49, "relu");
        var x = TestModels.Normal(50, 3, 4);

        using var result = new LayerLRP(model, "lin2").Attribute(x, new LayerLRPOptions
        {
            Target = 1,
            AttributeToLayerInput = true,
        });
        Tensor hidden = result.Attribution;

        // The same relevance read at act1's output.
        Assert.Equal(new long[] { 3, 6 }, hidden.shape);
        using var act1 = new LayerLRP(model, "act1").Attribute(x, new LayerLRPOptions { Target = 1 });
        TensorAssert.AllClose(hidden, act1.Attribution, 0, 0);
        Assert.True((hidden.abs() > 0).any().item<bool>());
    }

    [Fact]
    public void MethodsDoc_LayerNoiseTunnel_Runs()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearStack(52);
        var x = TestModels.Normal(53, 3, 4);

        var smoothLayerIg = NoiseTunnel.Create(new LayerIntegratedGradients(model, "lin1"));
        using var result = smoothLayerIg.Attribute(x, new NoiseTunnelOptions<LayerIntegratedGradientsOptions>
        {
            Samples = 8,
            Stdevs = 0.1,
            Seed = 5,
            MethodOptions = new LayerIntegratedGradientsOptions { Target = 1, Steps = 20, ReturnConvergenceDelta = true },
        });
        Tensor smoothed = result.Attribution;
        Tensor delta = result.Delta!;

        // lin2 reads lin1 linearly: every noisy sample's layer IG is exact, so all 3 * 8 deltas vanish.
        Assert.Equal(new long[] { 3, 5 }, smoothed.shape);
        Assert.Equal(new long[] { 24 }, delta.shape);
        Assert.True(delta.abs().max().item<float>() < 1e-4, "a linear layer-to-output map integrates exactly");
    }

    [Fact]
    public void MethodsDoc_LayerFeatureAblation_Runs()
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(64, "tanh", inputs: 4, hidden: 6);
        var x = TestModels.Normal(65, 3, 4);

        using var result = new LayerFeatureAblation(model, "lin1").Attribute(x, new LayerFeatureAblationOptions
        {
            LayerBaselines = 0.0,
            Target = 2,
            LayerMask = torch.tensor(new long[,] { { 0, 0, 0, 1, 1, 1 } }),
            PerturbationsPerEval = 2,
        });
        Tensor perNeuron = result.Attribution;

        // By hand: zero each group of lin1's output and run the rest of the model.
        using var noGrad = torch.no_grad();
        var hidden = model.Lin1.call(x);
        Tensor Rest(Tensor h) => model.Lin3.call(torch.tanh(model.Lin2.call(torch.tanh(h))))[.., 2];
        var full = Rest(hidden);
        var first = (full - Rest(torch.cat([torch.zeros(3, 3), hidden[.., 3..]], 1))).unsqueeze(1).expand(3, 3);
        var second = (full - Rest(torch.cat([hidden[.., ..3], torch.zeros(3, 3)], 1))).unsqueeze(1).expand(3, 3);
        TensorAssert.AllClose(perNeuron, torch.cat([first, second], 1), 1e-6, 1e-5);
    }

    [Fact]
    public void MethodsDoc_LayerFeaturePermutation_Runs()
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(64, "tanh", inputs: 4, hidden: 6);
        var x = TestModels.Normal(66, 3, 4);

        using var permuted = new LayerFeaturePermutation(model, "lin1").Attribute(x, new LayerFeaturePermutationOptions
        {
            Target = 2,
            LayerMask = torch.tensor(new long[,] { { 0, 0, 0, 1, 1, 1 } }),
            Seed = 7,
        });
        Tensor perGroup = permuted.Attribution;

        // The same as Feature Permutation of the rest of the model, fed lin1's output, with the same seed.
        Tensor Rest(Tensor h) => model.Lin3.call(torch.tanh(model.Lin2.call(torch.tanh(h))));
        using var noGrad = torch.no_grad();
        using var expected = new FeaturePermutation((Func<Tensor, Tensor>)Rest).Attribute(model.Lin1.call(x), new FeaturePermutationOptions
        {
            Target = 2,
            FeatureMask = torch.tensor(new long[,] { { 0, 0, 0, 1, 1, 1 } }),
            Seed = 7,
        });
        TensorAssert.AllClose(perGroup, expected.Attribution, 1e-6, 1e-5);
        Assert.True(perGroup.abs().sum().item<float>() > 0);
        Assert.Equal("LayerMask", Assert.Throws<ArgumentException>(() => new LayerFeaturePermutation(model, "lin1").Attribute(x, new LayerFeaturePermutationOptions
        {
            LayerMask = torch.zeros(3, 6, ScalarType.Int64),
        })).ParamName);
    }

    // ---------------------------------------------------------------- neuron methods

    [Fact]
    public void MethodsDoc_NeuronGradient_Runs()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(47);
        var x = TestModels.Normal(48, 3, 4);

        using var result = new NeuronGradient(model, "lin1", neuronSelector: 3).Attribute(x);

        // Neuron 3 of lin1 is W1[3] x + b1[3]: its gradient is W1[3] for every example.
        TensorAssert.AllClose(result.Attribution, model.Lin1.weight![3].expand(3, 4), 1e-7, 0);
    }

    [Fact]
    public void MethodsDoc_NeuronIntegratedGradients_Runs()
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(49, "tanh");
        var x = TestModels.Normal(50, 3, 4);

        var neuronIg = new NeuronIntegratedGradients(model, "act1", neuronSelector: 2);
        using var result = neuronIg.Attribute(x, new NeuronIntegratedGradientsOptions { Baselines = 0.0, Steps = 50 });

        // Completeness for the neuron: the attributions sum to neuron(x) - neuron(0).
        using var noGrad = torch.no_grad();
        var neuron = torch.tanh(model.Lin1.forward(x))[.., 2] - torch.tanh(model.Lin1.bias![2]);
        TensorAssert.AllClose(result.Attribution.sum(1), neuron, 1e-5, 1e-4);
    }

    [Fact]
    public void MethodsDoc_NeuronConductance_Runs()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearStack(51);
        var x = TestModels.Normal(52, 3, 4);

        var conductance = new NeuronConductance(model, "lin1", neuronSelector: 2);
        using var result = conductance.Attribute(x, new NeuronConductanceOptions
        {
            Target = 1,
            Method = IntegrationMethod.GaussLegendre,
        });

        // Through neuron 2 of lin1 the output grows by W2[1, 2] per unit, and the neuron by W1[2, i] per input i.
        var expected = model.Lin2.weight![1, 2] * model.Lin1.weight![2] * x;
        TensorAssert.AllClose(result.Attribution, expected, 1e-6, 1e-4);

        // Captum's trapezoid weights (this method's default) sum to (Steps - 1) / Steps.
        using var trapezoid = conductance.Attribute(x, new NeuronConductanceOptions { Target = 1, Steps = 50 });
        TensorAssert.AllClose(trapezoid.Attribution, expected * (49.0 / 50.0), 1e-6, 1e-4);
    }

    [Fact]
    public void MethodsDoc_NeuronGuidedBackpropAndDeconvolution_Run()
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(62, "relu");
        var x = TestModels.Normal(63, 3, 4);

        using var guided = new NeuronGuidedBackprop(model, "act1", neuronSelector: 2).Attribute(x);
        using var deconvolution = new NeuronDeconvolution(model, "act1", neuronSelector: 2).Attribute(x);

        // act1's neuron 2 is relu(W1[2] x + b1[2]): guided backpropagation keeps its mask, deconvolution ignores it.
        using var noGrad = torch.no_grad();
        var active = (model.Lin1.forward(x)[.., 2] > 0).to_type(ScalarType.Float32).unsqueeze(1);
        TensorAssert.AllClose(guided.Attribution, active * model.Lin1.weight![2], 1e-7, 0);
        TensorAssert.AllClose(deconvolution.Attribution, model.Lin1.weight![2].expand(3, 4), 1e-7, 0);
    }

    [Fact]
    public void MethodsDoc_NeuronGradientShap_Runs()
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(64, "tanh");
        var x = TestModels.Normal(65, 3, 4);
        var references = TestModels.Normal(66, 10, 4);

        var neuronShap = new NeuronGradientShap(model, "act1", neuronSelector: 3);
        using var result = neuronShap.Attribute(x, new NeuronGradientShapOptions
        {
            Baselines = references,
            Samples = 20,
            Stdevs = 0.1,
            Seed = 7,
        });

        // The same draws as GradientShap of a function returning the neuron.
        var neuron = ForwardFunction.FromDelegate((Tensor[] a) => model.Act1.call(model.Lin1.call(a[0]))[.., 3], model);
        using var expected = new GradientShap(neuron).Attribute(x, new GradientShapOptions { Baselines = references, Samples = 20, Stdevs = 0.1, Seed = 7 });
        TensorAssert.AllClose(result.Attribution, expected.Attribution, 0, 0);
    }

    [Fact]
    public void MethodsDoc_NeuronDeepLift_Runs()
    {
        using var scope = torch.NewDisposeScope();
        var model = GradientTestModels.Mlp(67, "relu");
        var x = TestModels.Normal(68, 3, 4);
        var references = TestModels.Normal(69, 6, 4);

        using var result = new NeuronDeepLift(model, "act2", neuronSelector: 1).Attribute(x, new NeuronDeepLiftOptions
        {
            Baselines = 0.0,
            AttributeToNeuronInput = false,
        });
        using var shap = new NeuronDeepLiftShap(model, "act2", neuronSelector: 1).Attribute(x, new NeuronDeepLiftShapOptions
        {
            Baselines = references,
        });

        // The rescale rule telescopes up to the neuron: neuron(x) - neuron(0), and neuron(x) minus its mean over the references.
        using var noGrad = torch.no_grad();
        Tensor Neuron(Tensor input) => model.Act2.call(model.Lin2.call(model.Act1.call(model.Lin1.call(input))))[.., 1];
        TensorAssert.AllClose(result.Attribution.sum(1), Neuron(x) - Neuron(torch.zeros(1, 4)), 1e-5, 1e-4);
        TensorAssert.AllClose(shap.Attribution.sum(1), Neuron(x) - Neuron(references).mean(), 1e-5, 1e-4);
    }

    [Fact]
    public void MethodsDoc_NeuronFeatureAblation_Runs()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(66);
        var x = TestModels.Normal(67, 3, 4);
        var mask = torch.tensor(new long[,] { { 0, 0, 1, 1 } });

        var neuronAblation = new NeuronFeatureAblation(model, "lin1", neuronSelector: 3);
        using var result = neuronAblation.Attribute(x, new NeuronFeatureAblationOptions { Baselines = 0.0, FeatureMask = mask });

        // Neuron 3 of lin1 is W1[3] x + b1[3]: zeroing a group drops it by the group's share of W1[3] x.
        var share = model.Lin1.weight![3] * x;
        var first = share[.., ..2].sum(1, keepdim: true).expand(3, 2);
        var second = share[.., 2..].sum(1, keepdim: true).expand(3, 2);
        TensorAssert.AllClose(result.Attribution, torch.cat([first, second], 1), 1e-6, 1e-5);
    }

    // ---------------------------------------------------------------- metrics

    [Fact]
    public void MethodsDoc_Infidelity_Runs()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearModel(4, 3, seed: 53);
        var x = TestModels.Normal(54, 3, 4);

        using var ig = new IntegratedGradients(model).Attribute(x, new IntegratedGradientsOptions { Target = 0 });
        var noise = Infidelity.FromPerturbedInputs((inputs, baselines, generator) =>
            [inputs[0] - (torch.randn(inputs[0].shape, generator: generator).to(inputs[0].device) * 0.1)]);
        Tensor infidelity = Infidelity.Compute(model, noise, x, ig.Attribution, new InfidelityOptions
        {
            Target = 0,
            PerturbSamples = 20,
            Seed = 1,
        });

        // Integrated Gradients is exact for a linear model: it predicts every change of the output.
        Assert.Equal(new long[] { 3 }, infidelity.shape);
        Assert.True(infidelity.max().item<float>() < 1e-8, $"infidelity {infidelity.max().item<float>()}");
    }

    [Fact]
    public void MethodsDoc_SensitivityMax_Runs()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearModel(4, 3, seed: 55);
        var x = TestModels.Normal(56, 3, 4);

        var explainIg = Explanations.Of(new IntegratedGradients(model), new IntegratedGradientsOptions { Steps = 20 });
        ExplanationFunction explainSaliency = (inputs, arguments, cancellationToken) =>
            new Saliency(model).Attribute(inputs, new SaliencyOptions { Target = arguments.Target }, cancellationToken).Attributions;
        var options = new SensitivityMaxOptions { Target = 1, PerturbRadius = 0.05, PerturbSamples = 8, Seed = 2 };
        Tensor igSensitivity = SensitivityMax.Compute(explainIg, x, options);
        Tensor saliencySensitivity = SensitivityMax.Compute(explainSaliency, x, options);

        // A linear model's gradient never changes; input times gradient moves with the input.
        Assert.Equal(new long[] { 3 }, igSensitivity.shape);
        TensorAssert.AllClose(saliencySensitivity, torch.zeros(3), 1e-7, 0);
        Assert.True((igSensitivity > 0).all().item<bool>());
        Assert.True((igSensitivity < 1).all().item<bool>());
    }

    [Fact]
    public void MethodsDoc_Summarizer_Runs()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearModel(4, 3, seed: 57);
        var x = TestModels.Normal(58, 6, 4);
        var y = torch.tensor(new long[] { 0, 1, 0, 2, 1, 0 });
        var batches = new[] { (x.narrow(0, 0, 3), y.narrow(0, 0, 3)), (x.narrow(0, 3, 3), y.narrow(0, 3, 3)) };

        using var perClass = new ClassSummarizer<long>(Stat.CommonStats());
        foreach (var (images, labels) in batches)
        {
            using var attributions = new Saliency(model).Attribute(images, new SaliencyOptions { Target = labels });
            perClass.Update(attributions.Attribution, labels.data<long>().ToArray());
        }

        Tensor meanOfClass0 = perClass.ClassSummary(0)["mean"]!;           // [4]: one image's shape
        Tensor spread = perClass.Summary()["sample_std_dev"]!;               // over every example

        // A linear model's saliency is |W[target]|, the same for every example of a class.
        using var weights = new Saliency(model).Attribute(x.narrow(0, 0, 1), new SaliencyOptions { Target = 0 });
        TensorAssert.AllClose(meanOfClass0, weights.Attribution[0], 1e-6, 1e-6);
        Assert.Equal(new long[] { 4 }, spread.shape);
    }

    // ---------------------------------------------------------------- the guide itself

    [Fact]
    public void MethodsDoc_Examples_AreTheTestedCode()
    {
        var root = GettingStartedDocTests.RepositoryRoot();
        var doc = File.ReadAllText(Path.Combine(root, "docs", "methods.md")).ReplaceLineEndings("\n");
        var source = Normalize(File.ReadAllText(Path.Combine(root, "tests", "Captum.Tests", "Docs", "MethodsDocTests.cs")));

        var snippets = CSharpBlock().Matches(doc).Select(m => m.Groups["code"].Value).ToList();
        Assert.True(snippets.Count >= 27, $"docs/methods.md has {snippets.Count} csharp blocks; expected one per method");
        foreach (var snippet in snippets)
        {
            var code = Normalize(DocExamples.WithoutUsings(snippet));
            Assert.True(code.Length > 0, "an empty csharp block");
            Assert.True(source.Contains(code, StringComparison.Ordinal), "not in MethodsDocTests.cs:\n" + code);
        }
    }

    [Fact]
    public void MethodsDoc_Table_ListsEveryAttributionClass()
    {
        var root = GettingStartedDocTests.RepositoryRoot();
        var doc = File.ReadAllText(Path.Combine(root, "docs", "methods.md")).ReplaceLineEndings("\n");
        var table = string.Join("\n", doc.Split('\n').Where(l => l.StartsWith('|')));

        // Every attribution class (the contract's IAttribution), and the metrics.
        var methods = typeof(IntegratedGradients).Assembly.GetExportedTypes()
            .Where(t => t.IsClass && !t.IsAbstract && typeof(IAttribution).IsAssignableFrom(t))
            .Select(t => t.Name.Split('`')[0])
            .Concat(["Infidelity", "SensitivityMax", "LayerAttribution"])
            .Distinct()
            .ToList();
        Assert.True(methods.Count >= 27, string.Join(", ", methods));
        foreach (var name in methods)
        {
            Assert.True(table.Contains("`" + name, StringComparison.Ordinal), $"the table of docs/methods.md does not list {name}");
        }
    }

    /// <summary>Code without comments and indentation, one line per statement line.</summary>
    private static string Normalize(string code) => string.Join(
        "\n",
        code.ReplaceLineEndings("\n").Split('\n')
            .Select(l => (l.IndexOf("//", StringComparison.Ordinal) is var c and >= 0 ? l[..c] : l).Trim())
            .Where(l => l.Length > 0));

    [GeneratedRegex(@"```csharp\n(?<code>.*?)```", RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();

    /// <summary>
    /// conv1 (1 to 4 channels, 3x3, padding 1), ReLU, conv2 (4 to 4), ReLU, the mean over positions, linear to 3
    /// classes. It reads only the left half (columns 0-3) of its [n, 1, 8, 8] image.
    /// </summary>
    private sealed class TinyCnn : nn.Module<Tensor, Tensor>
    {
        private readonly Conv2d conv1;
        private readonly ReLU relu1;
        private readonly Conv2d conv2;
        private readonly ReLU relu2;
        private readonly Linear fc;

        public TinyCnn(int seed)
            : base(nameof(TinyCnn))
        {
            torch.manual_seed(seed);
            conv1 = nn.Conv2d(1, 4, 3, padding: 1);
            relu1 = nn.ReLU();
            conv2 = nn.Conv2d(4, 4, 3, padding: 1);
            relu2 = nn.ReLU();
            fc = nn.Linear(4, 3);
            RegisterComponents();
            eval();
        }

        public Linear Fc => fc;

        /// <summary>conv2's output, [n, 4, 8, 4].</summary>
        public Tensor Features(Tensor x) => conv2.call(relu1.call(conv1.call(x.narrow(3, 0, 4))));

        public override Tensor forward(Tensor x) => fc.call(relu2.call(Features(x)).mean([2, 3]));
    }
}
