using Captum.Attr;
using Captum.Forward;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Perturbation;

public sealed class ShapleyValuesTests
{
    /// <summary>
    /// Shapley values by their coalition formula, independent of any order of the features:
    /// φ_j = Σ over coalitions S without j of |S|! (f - |S| - 1)! / f! * (v(S ∪ {j}) - v(S)), where
    /// <paramref name="value"/> gives v(S) per example for the features switched on.
    /// </summary>
    internal static Tensor[] ByCoalitions(int features, Func<bool[], Tensor> value)
    {
        double Factorial(int k) => Enumerable.Range(1, k).Aggregate(1.0, (a, b) => a * b);
        var values = new Dictionary<int, Tensor>();
        Tensor V(int coalition) => values.TryGetValue(coalition, out var v)
            ? v
            : values[coalition] = value(Enumerable.Range(0, features).Select(k => (coalition & (1 << k)) != 0).ToArray()).to(ScalarType.Float64);

        var phi = new Tensor[features];
        for (var j = 0; j < features; j++)
        {
            var total = torch.zeros_like(V(0));
            for (var coalition = 0; coalition < 1 << features; coalition++)
            {
                if ((coalition & (1 << j)) != 0)
                {
                    continue;
                }

                var size = int.PopCount(coalition);
                var weight = Factorial(size) * Factorial(features - size - 1) / Factorial(features);
                total += weight * (V(coalition | (1 << j)) - V(coalition));
            }

            phi[j] = total;
        }

        return phi;
    }

    /// <summary>The inputs with the columns of the features switched on taken from x and the others from the baseline.</summary>
    internal static Tensor Mixed(Tensor x, Tensor baseline, long[] mask, bool[] on)
    {
        var keep = torch.tensor(mask.Select(id => on[id]).ToArray());
        return torch.where(keep, x, baseline.expand_as(x));
    }

    [Fact]
    public void Attribute_NonlinearModel_EqualsTheCoalitionFormula()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(1, inputs: 4);
        var x = TestModels.Normal(2, 3, 4);
        var baseline = TestModels.Normal(3, 1, 4);

        using var result = new ShapleyValues(model).Attribute(x, new ShapleyValuesOptions { Baselines = baseline, Target = 1 });

        using var noGrad = torch.no_grad();
        long[] columns = [0, 1, 2, 3];
        var phi = ByCoalitions(4, on => model.call(Mixed(x, baseline, columns, on))[.., 1]);
        TensorAssert.AllClose(result.Attribution, torch.stack(phi, 1), 1e-6, 1e-5);
    }

    [Fact]
    public void Attribute_MaskAcrossTwoInputs_EqualsTheCoalitionFormulaAndSumsToTheGap()
    {
        using var scope = torch.NewDisposeScope();
        var model = new TwoInputModel(4);
        var a = TestModels.Normal(5, 3, 2);
        var b = TestModels.Normal(6, 3, 3);
        var scale = torch.rand(3, 1) + 0.5;
        long[] maskA = [7, 2];
        long[] maskB = [4, 4, 2];

        using var result = new ShapleyValues(model).Attribute(Inputs.Of(a, b), new ShapleyValuesOptions
        {
            Baselines = new BaselineValue[] { 0.5, -0.25 },
            Target = 0,
            AdditionalForwardArgs = [scale],
            FeatureMask = FeatureMask.Of(torch.tensor(maskA).reshape(1, 2), torch.tensor(maskB).reshape(1, 3)),
            PerturbationsPerEval = 2,
        });

        // Features in ascending id order: 2 (a1, b2), 4 (b0, b1), 7 (a0).
        using var noGrad = torch.no_grad();
        var baseA = torch.full(1, 2, 0.5f);
        var baseB = torch.full(1, 3, -0.25f);
        long[] Index(long[] mask) => mask.Select(id => id switch { 2 => 0L, 4 => 1L, _ => 2L }).ToArray();
        var phi = ByCoalitions(3, on => model.call(Mixed(a, baseA, Index(maskA), on), Mixed(b, baseB, Index(maskB), on), scale)[.., 0]);
        TensorAssert.AllClose(result[0], torch.stack([phi[2], phi[0]], 1), 1e-6, 1e-5);
        TensorAssert.AllClose(result[1], torch.stack([phi[1], phi[1], phi[0]], 1), 1e-6, 1e-5);

        var gap = model.call(a, b, scale)[.., 0] - model.call(baseA.expand(3, 2), baseB.expand(3, 3), scale)[.., 0];
        TensorAssert.AllClose(phi[0] + phi[1] + phi[2], gap, 1e-6, 1e-5);
    }

    [Fact]
    public void Attribute_EveryOrderOfShapleyValueSampling_AveragesToShapleyValues()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(7, inputs: 3);
        var x = TestModels.Normal(8, 2, 3);

        using var exact = new ShapleyValues(model).Attribute(x, new ShapleyValuesOptions { Target = 2 });

        // One sample is the credits of one random order; the distinct results over many seeds are the 3! orders'.
        var method = new ShapleyValueSampling(model);
        var orders = new List<Tensor>();
        for (var seed = 0; seed < 300 && orders.Count < 6; seed++)
        {
            using var one = method.Attribute(x, new ShapleyValueSamplingOptions { Target = 2, Samples = 1, Seed = seed });
            if (!orders.Any(o => o.allclose(one.Attribution, 1e-6, 0)))
            {
                orders.Add(one.Attribution.clone());
            }
        }

        Assert.Equal(6, orders.Count);
        TensorAssert.AllClose(exact.Attribution, torch.stack(orders).mean([0]), 1e-6, 1e-5);
    }

    [Fact]
    public void Attribute_ProductOfTwoFeatures_SplitsTheProductEvenly()
    {
        using var scope = torch.NewDisposeScope();
        ForwardFunction product = (Func<Tensor, Tensor>)(x => x[.., 0] * x[.., 1]);
        var x = torch.tensor(new float[,] { { 1, 1 }, { 2, 3 } });

        using var result = new ShapleyValues(product).Attribute(x);

        // v({}) = v({0}) = v({1}) = 0 and v({0, 1}) = x0 x1: each order credits the product to the feature added last.
        var half = (x[.., 0] * x[.., 1] / 2).unsqueeze(1);
        TensorAssert.AllClose(result.Attribution, torch.cat([half, half], 1), 1e-7, 0);
    }

    [Fact]
    public void Attribute_OneValueForTheWholeBatch_GivesOneRowThatSumsToTheGap()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(9, inputs: 3);
        var x = TestModels.Normal(10, 4, 3);
        ForwardFunction total = (Func<Tensor, Tensor>)(batch => model.call(batch)[.., 0].sum());

        using var result = new ShapleyValues(total).Attribute(x);

        using var noGrad = torch.no_grad();
        long[] columns = [0, 1, 2];
        var zeros = torch.zeros(1, 3);
        var phi = ByCoalitions(3, on => total.Invoke(Mixed(x, zeros, columns, on)).reshape(1));
        TensorAssert.AllClose(result.Attribution, torch.stack(phi, 1), 1e-5, 1e-5);
        Assert.Equal(new long[] { 1, 3 }, result.Attribution.shape);
    }

    [Fact]
    public void Attribute_MoreThanMaxFeatures_ThrowsNamingFeatureMaskBeforeAnyEvaluation()
    {
        using var scope = torch.NewDisposeScope();
        var calls = 0;
        ForwardFunction counted = (Func<Tensor, Tensor>)(batch =>
        {
            calls++;
            return batch.sum(dim: 1);
        });
        var x = torch.randn(2, ShapleyValues.MaxFeatures + 1);
        var method = new ShapleyValues(counted);

        var unmasked = Assert.Throws<ArgumentException>(() => method.Attribute(x));
        var masked = Assert.Throws<ArgumentException>(() => method.Attribute(x, new ShapleyValuesOptions
        {
            FeatureMask = torch.arange(ShapleyValues.MaxFeatures + 1).reshape(1, -1) * 3,
        }));

        Assert.Equal("FeatureMask", unmasked.ParamName);
        Assert.Equal("FeatureMask", masked.ParamName);
        Assert.Contains("ShapleyValueSampling", masked.Message, StringComparison.Ordinal);
        Assert.Equal(0, calls);

        // Grouped into few features, the same input is accepted: for a sum, each group's value is its own sum.
        var groups = torch.arange(ShapleyValues.MaxFeatures + 1).reshape(1, -1) % 3;
        using var grouped = method.Attribute(x, new ShapleyValuesOptions { FeatureMask = groups });
        var groupSums = torch.stack(Enumerable.Range(0, 3).Select(g => (x * (groups == g)).sum(dim: 1)).ToArray(), 1);
        TensorAssert.AllClose(grouped.Attribution, groupSums.index_select(1, groups[0]), 1e-6, 1e-6);
    }
}
