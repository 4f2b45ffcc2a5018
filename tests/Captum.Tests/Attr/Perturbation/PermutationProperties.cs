using Captum.Attr;
using FsCheck.Xunit;
using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Perturbation;

/// <summary>The laws of the methods built on orders of the features or of the batch, on random models and settings.</summary>
public sealed class PermutationProperties
{
    [Property(MaxTest = 25)]
    public void ShapleyValues_RandomModelAndMask_EqualsTheCoalitionFormulaAndSumsToTheGap(int seed, byte perEvalChoice, byte groupChoice)
    {
        using var scope = torch.NewDisposeScope();
        var perEval = 1 + (perEvalChoice % 5);
        var groups = 1 + (groupChoice % 5);
        var model = TestModels.SmoothMlp(seed, inputs: 6);
        var generator = new torch.Generator((ulong)(uint)seed);
        var x = torch.randn([3, 6], generator: generator);
        var baseline = torch.randn([1, 6], generator: generator);
        var mask = torch.randint(0, groups, [1, 6], generator: generator);

        using var result = new ShapleyValues(model).Attribute(x, new ShapleyValuesOptions
        {
            Baselines = baseline,
            Target = 0,
            FeatureMask = mask,
            PerturbationsPerEval = perEval,
        });

        // The coalition formula over the ids present, each element holding its feature's value.
        using var noGrad = torch.no_grad();
        var ids = mask.unique().Item1.data<long>().ToArray();
        var position = mask[0].data<long>().Select(id => (long)Array.IndexOf(ids, id)).ToArray();
        var phi = ShapleyValuesTests.ByCoalitions(ids.Length, on => model.call(ShapleyValuesTests.Mixed(x, baseline, position, on))[.., 0]);
        TensorAssert.AllClose(result.Attribution, torch.stack(phi, 1).index_select(1, torch.tensor(position)), 1e-6, 1e-5);

        var gap = model.call(x)[.., 0] - model.call(baseline)[.., 0];
        TensorAssert.AllClose(phi.Aggregate((a, b) => a + b), gap, 1e-6, 1e-5);
    }

    [Property(MaxTest = 25)]
    public void FeaturePermutation_AdditiveModel_EachFeatureSumsToZeroOverTheBatchForAnyBatching(int seed, byte perEvalChoice, byte batchChoice)
    {
        using var scope = torch.NewDisposeScope();
        var perEval = 1 + (perEvalChoice % 6);
        var n = 2 + (batchChoice % 5);
        var model = new AdditiveModel(5, seed);
        var x = torch.randn([n, 5], generator: new torch.Generator((ulong)(uint)seed)) * 2;
        var method = new FeaturePermutation(model);

        using var one = method.Attribute(x, new FeaturePermutationOptions { Seed = seed });
        using var batched = method.Attribute(x, new FeaturePermutationOptions { Seed = seed, PerturbationsPerEval = perEval });

        // Permuting a feature of an additive model moves its contributions among the examples: the drops cancel.
        TensorAssert.AllClose(one.Attribution.sum(dim: 0), torch.zeros(5), 1e-5, 0);
        TensorAssert.AllClose(batched.Attribution, one.Attribution, 1e-6, 1e-5);
    }
}
