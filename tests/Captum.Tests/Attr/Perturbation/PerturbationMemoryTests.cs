using Captum.Attr;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Perturbation;

/// <summary>The perturbation methods leave no live tensors behind except the results the caller owns.</summary>
[Collection(SerialCollection.Name)]
public sealed class PerturbationMemoryTests
{
    [Fact]
    public void Attribute_EveryMethodRepeatedly_LeavesNoLiveTensors()
    {
        var model = new TwoInputModel(1);
        var a = torch.randn(3, 2);
        var b = torch.randn(3, 3);
        var scale = torch.rand(3, 1);
        var inputs = Inputs.Of(a, b);
        object?[] args = [scale];
        var image = torch.randn(2, 2, 6, 6);
        var imageModel = new LinearImageModel(2, 6, 6, 4, seed: 2);
        var groups = FeatureMask.Of(torch.tensor(new long[,] { { 0, 1 } }), torch.tensor(new long[,] { { 1, 2, 2 } }));

        void Call()
        {
            using var ablation = new FeatureAblation(model).Attribute(inputs, new FeatureAblationOptions { Target = 1, AdditionalForwardArgs = args, PerturbationsPerEval = 2 });
            using var occlusion = new Occlusion(imageModel).Attribute(image, new OcclusionOptions { SlidingWindowShapes = new long[] { 2, 3, 3 }, Strides = new long[] { 2, 2, 1 }, Target = 3, PerturbationsPerEval = 3 });
            using var shapley = new ShapleyValueSampling(model).Attribute(inputs, new ShapleyValueSamplingOptions { Target = 1, AdditionalForwardArgs = args, Samples = 3, Seed = 1, PerturbationsPerEval = 2 });
            using var lime = new Lime(model).Attribute(inputs, new LimeOptions { Target = new[] { 0, 1, 2 }, AdditionalForwardArgs = args, Samples = 10, Seed = 1 });
            using var kernelShap = new KernelShap(model).Attribute(inputs, new KernelShapOptions { Target = 1, AdditionalForwardArgs = args, Samples = 10, Seed = 1, PerturbationsPerEval = 4 });
            using var permutation = new FeaturePermutation(model).Attribute(inputs, new FeaturePermutationOptions { Target = 1, AdditionalForwardArgs = args, Seed = 1, PerturbationsPerEval = 2 });
            using var exact = new ShapleyValues(model).Attribute(inputs, new ShapleyValuesOptions { Target = 1, AdditionalForwardArgs = args, FeatureMask = groups, PerturbationsPerEval = 2 });
            using var layer = new LayerFeatureAblation(model, "lin").Attribute(inputs, new LayerFeatureAblationOptions { Target = 1, AdditionalForwardArgs = args, PerturbationsPerEval = 2 });
            using var neuron = new NeuronFeatureAblation(model, "lin", neuronSelector: 2).Attribute(inputs, new NeuronFeatureAblationOptions { AdditionalForwardArgs = args, PerturbationsPerEval = 3 });
        }

        Call();
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (var i = 0; i < 20; i++)
        {
            Call();
        }

        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void Attribute_ShapleyWithManyFeatures_KeepsOnlyOneStatePerInputAlive()
    {
        // Every intermediate state of a permutation is freed once the next one replaces it: the peak number of
        // live tensors does not grow with the number of features.
        long Peak(int features)
        {
            var peak = 0L;
            var model = new AdditiveModel(features, seed: 3);
            var x = torch.randn(2, features);
            var progress = new SynchronousProgress(_ => peak = Math.Max(peak, DisposeScopeManager.Statistics.ThreadTotalLiveCount));
            var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
            using (new ShapleyValueSampling(model).Attribute(x, new ShapleyValueSamplingOptions { Samples = 2, Seed = 1, Progress = progress }))
            {
            }

            return peak - before;
        }

        var small = Peak(5);
        Assert.True(small > 0, "the progress callback should observe the live intermediates");
        Assert.Equal(small, Peak(40));
    }
}
