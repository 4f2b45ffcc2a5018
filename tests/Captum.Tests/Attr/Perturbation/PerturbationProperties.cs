using Captum.Attr;
using FsCheck.Xunit;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Perturbation;

/// <summary>The laws of the perturbation methods, on random models, inputs and settings.</summary>
public sealed class PerturbationProperties
{
    [Property(MaxTest = 30)]
    public void Occlusion_WindowOfOneFeature_EqualsFeatureAblation(int seed, byte perEvalChoice, bool tokenInput)
    {
        using var scope = torch.NewDisposeScope();
        var perEval = 1 + (perEvalChoice % 9);
        torch.manual_seed(seed);
        if (tokenInput)
        {
            var text = new BagOfWords(seed);
            var tokens = torch.randint(1, 12, [3, 5], ScalarType.Int64);
            using var occluded = new Occlusion(text).Attribute(tokens, new OcclusionOptions { SlidingWindowShapes = new long[] { 1 }, Target = 1, PerturbationsPerEval = perEval });
            using var ablated = new FeatureAblation(text).Attribute(tokens, new FeatureAblationOptions { Target = 1 });
            TensorAssert.AllClose(occluded.Attribution, ablated.Attribution, 1e-6, 1e-5);
            return;
        }

        var model = new LinearImageModel(2, 3, 4, 3, seed);
        var mlp = TestModels.SmoothMlp(seed, inputs: 24);
        Func<Tensor, Tensor> f = x => mlp.call(torch.tanh(model.call(x)).repeat(1, 8));
        var images = torch.randn(2, 2, 3, 4);
        var baseline = torch.randn(1, 2, 3, 4);

        using var occlusion = new Occlusion(f).Attribute(images, new OcclusionOptions
        {
            SlidingWindowShapes = new long[] { 1, 1, 1 },
            Baselines = baseline,
            Target = new[] { 2, 0 },
            PerturbationsPerEval = perEval,
        });
        using var ablation = new FeatureAblation(f).Attribute(images, new FeatureAblationOptions { Baselines = baseline, Target = new[] { 2, 0 } });

        TensorAssert.AllClose(occlusion.Attribution, ablation.Attribution, 1e-6, 1e-5);
    }

    [Property(MaxTest = 30)]
    public void ShapleyValueSampling_AdditiveModel_EqualsEachFeaturesContribution(int seed, byte sampleChoice, byte perEvalChoice)
    {
        using var scope = torch.NewDisposeScope();
        var samples = 1 + (sampleChoice % 12);
        var perEval = 1 + (perEvalChoice % 8);
        var model = new AdditiveModel(6, seed);
        var generator = new torch.Generator((ulong)(uint)seed);
        var x = torch.randn([3, 6], generator: generator) * 2;
        var baseline = torch.randn([1, 6], generator: generator);

        using var result = new ShapleyValueSampling(model).Attribute(x, new ShapleyValueSamplingOptions
        {
            Baselines = baseline,
            Samples = samples,
            PerturbationsPerEval = perEval,
            Seed = seed,
        });

        using var noGrad = torch.no_grad();
        TensorAssert.AllClose(result.Attribution, model.Contributions(x, baseline), 1e-5, 1e-4);
    }

    [Property(MaxTest = 20)]
    public void FeatureAblation_AnyPerturbationsPerEvalAndMask_EqualsOnePerEval(int seed, byte perEvalChoice, byte groups)
    {
        using var scope = torch.NewDisposeScope();
        var perEval = 1 + (perEvalChoice % 12);
        var model = TestModels.SmoothMlp(seed, inputs: 6);
        torch.manual_seed(seed);
        var x = torch.randn(3, 6);
        var mask = torch.randint(0, 1 + (groups % 6), [1, 6], ScalarType.Int64);
        var options = new FeatureAblationOptions { Target = 1, FeatureMask = mask };

        using var one = new FeatureAblation(model).Attribute(x, options);
        using var many = new FeatureAblation(model).Attribute(x, options with { PerturbationsPerEval = perEval });

        TensorAssert.AllClose(many.Attribution, one.Attribution, 1e-6, 1e-5);
    }

    [Property(MaxTest = 20)]
    public void KernelShapAndLime_SeededRuns_RepeatExactly(int seed, byte perEvalChoice, bool batch)
    {
        using var scope = torch.NewDisposeScope();
        var perEval = 1 + (perEvalChoice % 6);
        var model = TestModels.SmoothMlp(seed, inputs: 5);
        torch.manual_seed(seed);
        var x = torch.randn(batch ? 2 : 1, 5);
        var kernelShap = new KernelShap(model);
        var lime = new Lime(model);

        using var shap1 = kernelShap.Attribute(x, new KernelShapOptions { Target = 2, Samples = 20, Seed = seed, PerturbationsPerEval = perEval });
        using var shap2 = kernelShap.Attribute(x, new KernelShapOptions { Target = 2, Samples = 20, Seed = seed, PerturbationsPerEval = perEval });
        using var lime1 = lime.Attribute(x, new LimeOptions { Target = 2, Samples = 20, Seed = seed, PerturbationsPerEval = perEval });
        using var lime2 = lime.Attribute(x, new LimeOptions { Target = 2, Samples = 20, Seed = seed, PerturbationsPerEval = perEval });
        using var limeOnePerPass = lime.Attribute(x, new LimeOptions { Target = 2, Samples = 20, Seed = seed });

        TensorAssert.AllClose(shap2.Attribution, shap1.Attribution, 0, 0);
        TensorAssert.AllClose(lime2.Attribution, lime1.Attribution, 0, 0);

        // Batching the evaluations does not change the draws, only float rounding of the outputs.
        TensorAssert.AllClose(limeOnePerPass.Attribution, lime1.Attribution, 1e-4, 1e-3);
    }

    [Property(MaxTest = 10)]
    public void EveryMethod_AfterAttribution_ModelOutputsAndInputsUnchanged(int seed)
    {
        using var scope = torch.NewDisposeScope();
        var model = new TwoInputModel(seed);
        torch.manual_seed(seed);
        var a = torch.randn(2, 2).requires_grad_(true);
        var b = torch.randn(2, 3);
        var scale = torch.rand(2, 1) + 0.5;
        var inputs = Inputs.Of(a, b);
        var copies = new[] { a.detach().clone(), b.clone(), scale.clone() };
        var parameters = model.parameters().Select(p => p.detach().clone()).ToArray();
        Tensor Forward()
        {
            using var noGrad = torch.no_grad();
            return model.call(a, b, scale);
        }

        var before = Forward();
        object?[] args = [scale];

        new FeatureAblation(model).Attribute(inputs, new FeatureAblationOptions { Target = 0, AdditionalForwardArgs = args, PerturbationsPerEval = 2 }).Dispose();
        new Occlusion(model).Attribute(inputs, new OcclusionOptions { SlidingWindowShapes = new[] { new long[] { 2 }, new long[] { 2 } }, Target = 0, AdditionalForwardArgs = args }).Dispose();
        new ShapleyValueSampling(model).Attribute(inputs, new ShapleyValueSamplingOptions { Target = 0, AdditionalForwardArgs = args, Samples = 2, Seed = seed }).Dispose();
        new Lime(model).Attribute(inputs, new LimeOptions { Target = 0, AdditionalForwardArgs = args, Samples = 6, Seed = seed }).Dispose();
        new KernelShap(model).Attribute(inputs, new KernelShapOptions { Target = 0, AdditionalForwardArgs = args, Samples = 6, Seed = seed, PerturbationsPerEval = 3 }).Dispose();
        new FeaturePermutation(model).Attribute(inputs, new FeaturePermutationOptions { Target = 0, AdditionalForwardArgs = args, Seed = seed, PerturbationsPerEval = 2 }).Dispose();
        new ShapleyValues(model).Attribute(inputs, new ShapleyValuesOptions { Target = 0, AdditionalForwardArgs = args, PerturbationsPerEval = 5 }).Dispose();
        new LayerFeatureAblation(model, "lin").Attribute(inputs, new LayerFeatureAblationOptions { Target = 0, AdditionalForwardArgs = args, PerturbationsPerEval = 2 }).Dispose();
        new NeuronFeatureAblation(model, "lin", neuronSelector: 1).Attribute(inputs, new NeuronFeatureAblationOptions { AdditionalForwardArgs = args, AttributeToNeuronInput = true }).Dispose();

        TensorAssert.AllClose(Forward(), before, 0, 0);
        Assert.True(a.requires_grad);
        Assert.False(b.requires_grad);
        TensorAssert.AllClose(a.detach(), copies[0], 0, 0);
        TensorAssert.AllClose(b, copies[1], 0, 0);
        TensorAssert.AllClose(scale, copies[2], 0, 0);
        var after = model.parameters().ToArray();
        Assert.Equal(parameters.Length, after.Length);
        for (var i = 0; i < after.Length; i++)
        {
            TensorAssert.AllClose(after[i].detach(), parameters[i], 0, 0);
            Assert.Null(after[i].grad);
        }
    }
}
