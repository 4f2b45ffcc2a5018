using Captum.Attr;
using FsCheck.Xunit;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Layer;

/// <summary>The law of Layer Feature Permutation: Feature Permutation of the rest of the model, fed the layer's output.</summary>
public sealed class LayerFeaturePermutationProperties
{
    [Property(MaxTest = 20)]
    public void LayerFeaturePermutation_AnyBatchMaskAndPerEval_EqualsFeaturePermutationOfTheRestOfTheModel(int seed, byte batchChoice, byte perEvalChoice, byte groupChoice, bool masked)
    {
        using var scope = torch.NewDisposeScope();
        var batch = 2 + (batchChoice % 5);
        var perEval = 1 + (perEvalChoice % 4);
        var model = GradientTestModels.Mlp(seed, "tanh", inputs: 4, hidden: 6);
        var generator = new torch.Generator((ulong)(uint)seed);
        var x = torch.randn([batch, 4], generator: generator);
        var before = x.clone();
        var mask = masked ? (FeatureMask)torch.randint(0, 1 + (groupChoice % 4), [1, 6], generator: generator) : default;
        var target = Enumerable.Range(0, batch).Select(i => (i + (seed & 0xff)) % 3).ToArray();
        var permutationSeed = seed & 0xffff;

        using var layer = new LayerFeaturePermutation(model, "lin1").Attribute(x, new LayerFeaturePermutationOptions
        {
            Target = target,
            LayerMask = mask,
            PerturbationsPerEval = perEval,
            Seed = permutationSeed,
        });

        Tensor Rest(Tensor h) => model.Lin3.call(torch.tanh(model.Lin2.call(torch.tanh(h))));
        using var noGrad = torch.no_grad();
        using var expected = new FeaturePermutation((Func<Tensor, Tensor>)Rest).Attribute(model.Lin1.call(x), new FeaturePermutationOptions
        {
            Target = target,
            FeatureMask = mask,
            PerturbationsPerEval = perEval,
            Seed = permutationSeed,
        });
        TensorAssert.AllClose(layer.Attribution, expected.Attribution, 1e-6, 1e-5);
        Assert.Equal(new long[] { batch, 6 }, layer.Attribution.shape);
        TensorAssert.AllClose(x, before, 0, 0);
    }
}
