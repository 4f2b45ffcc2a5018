using Captum.Attr;
using Captum.Forward;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Perturbation;

public sealed class FeaturePermutationTests
{
    /// <summary>The values of a tensor the method passes to the model (the tensor itself is freed by the method).</summary>
    private static (float[] Data, long[] Shape) Kept(Tensor t) => (t.data<float>().ToArray(), t.shape);

    private static Tensor Restored((float[] Data, long[] Shape) kept) => torch.tensor(kept.Data, kept.Shape);

    /// <summary>Moves every example's feature values to the next example (the last one's to the first).</summary>
    private static Tensor Rolled(Tensor x, Tensor featureMask, Generator generator) => torch.where(featureMask, x.roll(1, 0), x);

    /// <summary>By hand: <paramref name="x"/> with the given columns rolled by one example.</summary>
    private static Tensor WithColumnsRolled(Tensor x, params long[] columns)
    {
        var permuted = x.clone();
        foreach (var c in columns)
        {
            permuted[.., c] = x[.., c].roll(1, 0);
        }

        return permuted;
    }

    [Fact]
    public void Attribute_FixedCustomPermutation_EqualsOutputMinusOutputWithTheFeatureRolled()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(1, inputs: 4);
        var x = TestModels.Normal(2, 5, 4);

        using var result = new FeaturePermutation(model, Rolled).Attribute(x, new FeaturePermutationOptions { Target = 2 });

        // By hand: column j of every example replaced by the previous example's column j.
        using var noGrad = torch.no_grad();
        var full = model.call(x)[.., 2];
        var expected = torch.zeros(5, 4);
        for (var j = 0; j < 4; j++)
        {
            expected[.., j] = full - model.call(WithColumnsRolled(x, j))[.., 2];
        }

        TensorAssert.AllClose(result.Attribution, expected, 1e-6, 1e-5);
    }

    [Fact]
    public void Attribute_FeatureMaskGroups_PermutesEachGroupTogether()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(3, inputs: 4);
        var x = TestModels.Normal(4, 3, 4);
        var mask = torch.tensor(new long[,] { { 5, 2, 5, 2 } });

        using var result = new FeaturePermutation(model, Rolled).Attribute(x, new FeaturePermutationOptions { Target = 0, FeatureMask = mask, PerturbationsPerEval = 2 });

        using var noGrad = torch.no_grad();
        var full = model.call(x)[.., 0];
        var even = (full - model.call(WithColumnsRolled(x, 0, 2))[.., 0]).unsqueeze(1);
        var odd = (full - model.call(WithColumnsRolled(x, 1, 3))[.., 0]).unsqueeze(1);
        TensorAssert.AllClose(result.Attribution, torch.cat([even, odd, even, odd], 1), 1e-6, 1e-5);
    }

    [Fact]
    public void Attribute_DefaultPermutation_EachPassPermutesOneFeatureAcrossTheBatchAndCreditsTheDrop()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(5, inputs: 3);
        var x = TestModels.Normal(6, 4, 3);
        var seen = new List<(float[] Data, long[] Shape)>();
        ForwardFunction recording = (Func<Tensor, Tensor>)(batch =>
        {
            seen.Add(Kept(batch));
            return model.call(batch);
        });

        using var result = new FeaturePermutation(recording).Attribute(x, new FeaturePermutationOptions { Target = 1, Seed = 7 });

        // One unperturbed pass, then one pass per feature: only that column changes, to a reordering of its values
        // that is not the identity, and the feature's attribution is the drop of the output on that batch.
        Assert.Equal(4, seen.Count);
        TensorAssert.AllClose(Restored(seen[0]), x, 0, 0);
        using var noGrad = torch.no_grad();
        for (var j = 0; j < 3; j++)
        {
            var batch = Restored(seen[j + 1]);
            var others = Enumerable.Range(0, 3).Where(c => c != j).Select(c => (long)c).ToArray();
            var keep = torch.tensor(others);
            TensorAssert.AllClose(batch.index_select(1, keep), x.index_select(1, keep), 0, 0);
            TensorAssert.AllClose(batch[.., j].sort().Values, x[.., j].sort().Values, 0, 0);
            Assert.False(batch[.., j].equal(x[.., j]).all().item<bool>(), $"feature {j} was not moved");
            TensorAssert.AllClose(result.Attribution[.., j], model.call(x)[.., 1] - model.call(batch)[.., 1], 1e-6, 1e-5);
        }
    }

    [Fact]
    public void Attribute_SeedOrGenerator_DrawsOneNonIdentityOrderPerFeatureFromIt()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(8, inputs: 3);
        var x = TestModels.Normal(9, 5, 3);
        var method = new FeaturePermutation(model);

        using var seeded = method.Attribute(x, new FeaturePermutationOptions { Target = 0, Seed = 11 });

        // The same draws by hand: feature by feature, torch.randperm(n) from a generator seeded 11, drawn again
        // while it is the identity.
        using var noGrad = torch.no_grad();
        var byHand = new torch.Generator(11);
        var identity = torch.arange(5L);
        var full = model.call(x)[.., 0];
        var expected = torch.stack(Enumerable.Range(0, 3).Select(j =>
        {
            var order = torch.randperm(5, generator: byHand);
            while (order.eq(identity).all().item<bool>())
            {
                order = torch.randperm(5, generator: byHand);
            }

            var permuted = x.clone();
            permuted[.., j] = x[.., j].index_select(0, order);
            return full - model.call(permuted)[.., 0];
        }).ToArray(), 1);
        TensorAssert.AllClose(seeded.Attribution, expected, 1e-6, 1e-5);

        // The caller's generator gives the same draws and advances past them.
        var generator = new torch.Generator(11);
        using var fromGenerator = method.Attribute(x, new FeaturePermutationOptions { Target = 0, Generator = generator });
        TensorAssert.AllClose(fromGenerator.Attribution, seeded.Attribution, 0, 0);
        Assert.Equal(byHand.get_state().data<byte>().ToArray(), generator.get_state().data<byte>().ToArray());
    }

    [Fact]
    public void Attribute_CustomRandomPermutation_DrawsFromTheCallsGenerator()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(29, inputs: 3);
        var x = TestModels.Normal(30, 6, 3);
        var method = new FeaturePermutation(model, (t, m, g) => torch.where(m, t.index_select(0, torch.randperm(t.shape[0], generator: g)), t));

        using var first = method.Attribute(x, new FeaturePermutationOptions { Target = 2, Seed = 5 });
        using var again = method.Attribute(x, new FeaturePermutationOptions { Target = 2, Seed = 5 });
        using var other = method.Attribute(x, new FeaturePermutationOptions { Target = 2, Seed = 6 });

        TensorAssert.AllClose(again.Attribution, first.Attribution, 0, 0);
        Assert.False(other.Attribution.allclose(first.Attribution, 1e-6, 1e-6), "another seed should give the function other draws");
    }

    [Fact]
    public void Attribute_LossForTheWholeBatch_GivesOneRowOfBatchWiseImportance()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearModel(3, 1, seed: 12);
        var x = TestModels.Normal(13, 6, 3);
        var labels = TestModels.Normal(14, 6);
        ForwardFunction loss = (Func<Tensor, Tensor>)(batch => (model.call(batch)[.., 0] - labels).pow(2).mean());

        using var result = new FeaturePermutation(loss, Rolled).Attribute(x);

        using var noGrad = torch.no_grad();
        var baseLoss = loss.Invoke(x);
        var expected = torch.stack(Enumerable.Range(0, 3).Select(j =>
        {
            return baseLoss - loss.Invoke(WithColumnsRolled(x, j));
        }).ToArray()).reshape(1, 3);
        TensorAssert.AllClose(result.Attribution, expected, 1e-6, 1e-5);
    }

    [Fact]
    public void Attribute_IdSharedByTwoInputsAcrossTensors_PermutesBothWithOneOrder()
    {
        using var scope = torch.NewDisposeScope();
        var model = new TwoInputModel(15);
        var a = TestModels.Normal(16, 4, 2);
        var b = TestModels.Normal(17, 4, 3);
        var scale = torch.ones(4, 1);
        var masks = FeatureMask.Of(torch.tensor(new long[,] { { 0, 1 } }), torch.tensor(new long[,] { { 1, 1, 0 } }));
        var calls = 0;
        Tensor Recording(Tensor t, Tensor featureMask, Generator generator)
        {
            calls++;
            return Rolled(t, featureMask, generator);
        }

        using var crossed = new FeaturePermutation(model, Recording).Attribute(Inputs.Of(a, b), new FeaturePermutationOptions
        {
            Target = 2,
            AdditionalForwardArgs = [scale],
            FeatureMask = masks,
            EnableCrossTensorAttribution = true,
        });

        // Feature 0 is a[:, 0] with b[:, 2]; feature 1 is a[:, 1] with b[:, 0..2]: each rolled in both inputs at once.
        using var noGrad = torch.no_grad();
        var full = model.call(a, b, scale)[.., 2];
        Tensor Drop(long[] aColumns, long[] bColumns) =>
            (full - model.call(WithColumnsRolled(a, aColumns), WithColumnsRolled(b, bColumns), scale)[.., 2]).unsqueeze(1);

        var f0 = Drop([0], [2]);
        var f1 = Drop([1], [0, 1]);
        TensorAssert.AllClose(crossed[0], torch.cat([f0, f1], 1), 1e-6, 1e-5);
        TensorAssert.AllClose(crossed[1], torch.cat([f1, f1, f0], 1), 1e-6, 1e-5);
        Assert.Equal(4, calls);   // once per feature and input it spans

        // With the default random orders, a feature spanning both inputs moves both parts with the same order.
        var seen = new List<((float[], long[]) A, (float[], long[]) B)>();
        ForwardFunction recording = (Func<Tensor, Tensor, Tensor>)((pa, pb) =>
        {
            seen.Add((Kept(pa), Kept(pb)));
            return model.call(pa, pb, torch.ones(pa.shape[0], 1));
        });
        var sixA = TestModels.Normal(18, 6, 2);
        var sixB = TestModels.Normal(19, 6, 3);
        using var random = new FeaturePermutation(recording).Attribute(Inputs.Of(sixA, sixB), new FeaturePermutationOptions
        {
            Target = 0,
            FeatureMask = masks,
            EnableCrossTensorAttribution = true,
            Seed = 5,
        });
        Assert.Equal(3, seen.Count);
        foreach (var (pass, aColumn, bColumn) in new[] { (seen[1], 0, 2), (seen[2], 1, 0) })
        {
            var pa = Restored(pass.A);
            var pb = Restored(pass.B);
            // The example each row came from, read off the a part, also explains the b part.
            var source = torch.stack(Enumerable.Range(0, 6).Select(i => (sixA[.., aColumn] == pa[i, aColumn]).nonzero()[0, 0]).ToArray());
            TensorAssert.AllClose(pb[.., bColumn], sixB[.., bColumn].index_select(0, source), 0, 0);
        }
    }

    [Fact]
    public void Attribute_TokenIds_PermutesTokensAcrossTheBatch()
    {
        using var scope = torch.NewDisposeScope();
        var model = new BagOfWords(20);
        var tokens = torch.tensor(new long[,] { { 1, 2, 3 }, { 4, 5, 6 }, { 7, 8, 9 } });

        using var result = new FeaturePermutation(model, Rolled).Attribute(tokens, new FeaturePermutationOptions { Target = 1 });

        using var noGrad = torch.no_grad();
        var full = model.call(tokens)[.., 1];
        var expected = torch.stack(Enumerable.Range(0, 3).Select(j =>
        {
            return full - model.call(WithColumnsRolled(tokens, j))[.., 1];
        }).ToArray(), 1);
        TensorAssert.AllClose(result.Attribution, expected, 1e-6, 1e-5);
        Assert.Equal(ScalarType.Int64, tokens.dtype);
    }

    [Fact]
    public void Attribute_OneExample_ThrowsNamingInputs()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(21);

        var ex = Assert.Throws<ArgumentException>(() => new FeaturePermutation(model).Attribute(torch.randn(1, 4), new FeaturePermutationOptions { Target = 0 }));

        Assert.Equal("inputs", ex.ParamName);
        Assert.Contains("at least 2 examples", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Attribute_MaskPerExample_ThrowsNamingFeatureMask()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(22);
        var mask = torch.tensor(new long[,] { { 0, 0, 1, 1 }, { 0, 1, 1, 1 } });

        var ex = Assert.Throws<ArgumentException>(() => new FeaturePermutation(model).Attribute(torch.randn(2, 4), new FeaturePermutationOptions { Target = 0, FeatureMask = mask }));

        Assert.Equal("FeatureMask", ex.ParamName);
    }

    [Fact]
    public void Attribute_PermFuncReturnsAnotherShape_ThrowsNamingPermFunc()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(24);

        var ex = Assert.Throws<ArgumentException>(() => new FeaturePermutation(model, (t, m, g) => t[..1]).Attribute(torch.randn(3, 4), new FeaturePermutationOptions { Target = 0 }));

        Assert.Equal("permFunc", ex.ParamName);
    }

    [Fact]
    public void Attribute_InputThatRequiresGrad_IsNeitherChangedNorDetached()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(27);
        var x = TestModels.Normal(28, 3, 4).requires_grad_(true);
        var before = x.detach().clone();

        using var result = new FeaturePermutation(model).Attribute(x, new FeaturePermutationOptions { Target = 0, Seed = 2 });

        Assert.True(x.requires_grad);
        Assert.False(result.Attribution.requires_grad);
        TensorAssert.AllClose(x.detach(), before, 0, 0);
    }
}
