using Captum.Attr;
using Captum.Forward;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Perturbation;

public sealed class FeatureAblationTests
{
    [Fact]
    public void Attribute_LinearModel_EqualsWeightTimesDifferencePerFeature()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearModel(5, 3, seed: 1);
        var x = torch.randn(4, 5);
        var baseline = torch.randn(1, 5);

        using var result = new FeatureAblation(model).Attribute(x, new FeatureAblationOptions { Baselines = baseline, Target = 2 });

        TensorAssert.AllClose(result.Attribution, model.Lin.weight![2] * (x - baseline), 1e-5, 1e-4);
    }

    [Fact]
    public void Attribute_FeatureMaskGroups_EveryElementGetsItsGroupsJointDrop()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearModel(5, 2, seed: 2);
        var x = torch.randn(3, 5);
        var mask = torch.tensor(new long[] { 7, 7, 3, 3, 9 }).reshape(1, 5);

        using var result = new FeatureAblation(model).Attribute(x, new FeatureAblationOptions { Target = 1, FeatureMask = mask });

        var perElement = model.Lin.weight![1] * x;
        var group7 = perElement[.., 0..2].sum(dim: 1, keepdim: true);
        var group3 = perElement[.., 2..4].sum(dim: 1, keepdim: true);
        var expected = torch.cat([group7, group7, group3, group3, perElement[.., 4..5]], 1);
        TensorAssert.AllClose(result.Attribution, expected, 1e-5, 1e-4);
    }

    [Fact]
    public void Attribute_PerExampleMask_GroupsEachExampleByItsRow()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearModel(4, 1, seed: 3);
        var x = torch.randn(2, 4);
        var mask = torch.tensor(new long[,] { { 0, 0, 1, 1 }, { 0, 1, 1, 1 } });

        using var result = new FeatureAblation(model).Attribute(x, new FeatureAblationOptions { Target = 0, FeatureMask = mask });

        var e = model.Lin.weight![0] * x;
        var row0 = torch.stack([e[0, 0..2].sum(), e[0, 0..2].sum(), e[0, 2..4].sum(), e[0, 2..4].sum()]);
        var row1 = torch.stack([e[1, 0], e[1, 1..4].sum(), e[1, 1..4].sum(), e[1, 1..4].sum()]);
        TensorAssert.AllClose(result.Attribution, torch.stack([row0, row1]), 1e-5, 1e-4);
    }

    [Fact]
    public void Attribute_SameIdInTwoInputsByDefault_AblatesEachInputsFeatureSeparately()
    {
        using var scope = torch.NewDisposeScope();
        var model = new TwoInputModel(seed: 4);
        var a = torch.randn(2, 2);
        var b = torch.randn(2, 3);
        var scale = torch.ones(2, 1);
        var options = new FeatureAblationOptions
        {
            Target = 1,
            AdditionalForwardArgs = [scale],
            FeatureMask = new[] { torch.zeros(1, 2, ScalarType.Int64), torch.zeros(1, 3, ScalarType.Int64) },
        };

        using var perInput = new FeatureAblation(model).Attribute(Inputs.Of(a, b), options);
        using var spanning = new FeatureAblation(model).Attribute(Inputs.Of(a, b), options with { EnableCrossTensorAttribution = true });

        using var noGrad = torch.no_grad();
        Tensor F(Tensor pa, Tensor pb) => model.call(pa, pb, scale)[.., 1];
        var full = F(a, b);
        TensorAssert.AllClose(perInput[0], (full - F(torch.zeros_like(a), b)).unsqueeze(1).expand(2, 2), 1e-6, 1e-5);
        TensorAssert.AllClose(perInput[1], (full - F(a, torch.zeros_like(b))).unsqueeze(1).expand(2, 3), 1e-6, 1e-5);
        var both = (full - F(torch.zeros_like(a), torch.zeros_like(b))).unsqueeze(1);
        TensorAssert.AllClose(spanning[0], both.expand(2, 2), 1e-6, 1e-5);
        TensorAssert.AllClose(spanning[1], both.expand(2, 3), 1e-6, 1e-5);
    }

    [Fact]
    public void Attribute_MaskIdSharedByTwoInputs_AblatesBothPartsInOnePass()
    {
        using var scope = torch.NewDisposeScope();
        var model = new TwoInputModel(seed: 4);
        var a = torch.randn(2, 2);
        var b = torch.randn(2, 3);
        var scale = torch.tensor(new[] { 1f, 2f }).reshape(2, 1);
        var maskA = torch.tensor(new long[] { 0, 1 }).reshape(1, 2);
        var maskB = torch.tensor(new long[] { 1, 2, 2 }).reshape(1, 3);

        using var result = new FeatureAblation(model).Attribute(Inputs.Of(a, b), new FeatureAblationOptions
        {
            Target = new[] { 0, 2 },
            AdditionalForwardArgs = [scale],
            FeatureMask = new[] { maskA, maskB },
            EnableCrossTensorAttribution = true,
        });

        using var noGrad = torch.no_grad();
        Tensor Out(Tensor pa, Tensor pb) => model.call(pa, pb, scale).gather(1, torch.tensor(new long[] { 0, 2 }).reshape(2, 1)).squeeze(1);
        var full = Out(a, b);
        var drop0 = full - Out(torch.cat([torch.zeros(2, 1), a[.., 1..2]], 1), b);
        var drop1 = full - Out(torch.cat([a[.., 0..1], torch.zeros(2, 1)], 1), torch.cat([torch.zeros(2, 1), b[.., 1..3]], 1));
        var drop2 = full - Out(a, torch.cat([b[.., 0..1], torch.zeros(2, 2)], 1));
        TensorAssert.AllClose(result[0], torch.stack([drop0, drop1], 1), 1e-6, 1e-5);
        TensorAssert.AllClose(result[1], torch.stack([drop1, drop2, drop2], 1), 1e-6, 1e-5);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(100)]
    public void Attribute_PerturbationsPerEval_SameResultFewerPasses(int perEval)
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(5, inputs: 7);
        var x = torch.randn(3, 7);
        var counting = new CountingForward(model.call);
        var options = new FeatureAblationOptions { Target = 1, Baselines = 0.5, PerturbationsPerEval = 1 };

        using var one = new FeatureAblation(model).Attribute(x, options);
        using var many = new FeatureAblation((Func<Tensor, Tensor>)counting.Invoke).Attribute(x, options with { PerturbationsPerEval = perEval });

        TensorAssert.AllClose(many.Attribution, one.Attribution, 1e-6, 1e-5);
        Assert.Equal(1 + ((7 + Math.Min(perEval, 7) - 1) / Math.Min(perEval, 7)), counting.BatchSizes.Count);
        Assert.Equal(3L * Math.Min(perEval, 7), counting.BatchSizes.Skip(1).Max());
    }

    [Fact]
    public void Attribute_PerturbationsPerEvalNotGiven_UnperturbedRowsRideAlongThenEveryFeatureInOnePass()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(5, inputs: 7);
        var x = torch.randn(3, 7);
        var counting = new CountingForward(model.call);
        var options = new FeatureAblationOptions { Target = 1, Baselines = 0.5 };

        using var one = new FeatureAblation(model).Attribute(x, options with { PerturbationsPerEval = 1 });
        using var chosen = new FeatureAblation((Func<Tensor, Tensor>)counting.Invoke).Attribute(x, options);

        TensorAssert.AllClose(chosen.Attribution, one.Attribution, 1e-6, 1e-5);
        // 32 rows per pass fit 10 perturbations of 3 examples: all 7 features and the 3 unperturbed rows in one pass,
        // then the first perturbation alone, to check that rows do not depend on each other.
        Assert.Equal(new long[] { 3, 3 * 8, 3 }, counting.BatchSizes);
    }

    [Fact]
    public void Attribute_RowsDependOnTheBatchAndPerturbationsPerEvalNotGiven_GoesOnOnePerPassWithTheSameResult()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(5, inputs: 7);
        var x = torch.randn(3, 7);
        Tensor Centred(Tensor t)
        {
            var y = model.call(t);
            return y - y.mean([0], keepdim: true);
        }

        var counting = new CountingForward(Centred);
        var options = new FeatureAblationOptions { Target = 1, Baselines = 0.5 };

        using var one = new FeatureAblation((Func<Tensor, Tensor>)Centred).Attribute(x, options with { PerturbationsPerEval = 1 });
        using var chosen = new FeatureAblation((Func<Tensor, Tensor>)counting.Invoke).Attribute(x, options);

        TensorAssert.AllClose(chosen.Attribution, one.Attribution, 0, 0);
        Assert.Equal(new long[] { 3, 3 * 8, 3, 3, 3, 3, 3, 3, 3, 3 }, counting.BatchSizes);
    }

    [Fact]
    public void Attribute_OutputScaledByTheBatchMaximumAndPerturbationsPerEvalNotGiven_SameAsOnePerPass()
    {
        // The perturbations lower the output, so the unperturbed rows stay the batch's maximum and alone cannot show
        // that the rows depend on each other; the first perturbation evaluated alone does.
        using var scope = torch.NewDisposeScope();
        var x = torch.rand(1, 5, generator: new Generator(2)) + 1;
        Func<Tensor, Tensor> relative = t =>
        {
            var y = t.sum(dim: 1);
            return y / y.max();
        };

        using var one = new FeatureAblation(relative).Attribute(x, new FeatureAblationOptions { PerturbationsPerEval = 1 });
        using var chosen = new FeatureAblation(relative).Attribute(x, new FeatureAblationOptions());

        TensorAssert.AllClose(chosen.Attribution, one.Attribution, 1e-6, 1e-5);
    }

    [Fact]
    public void Attribute_ScalarForOneExampleAndPerturbationsPerEvalNotGiven_SameAsOnePerPass()
    {
        // One value for a batch of one looks like one value per example until a shared pass returns one value for
        // all its rows: the call goes on one perturbation per pass instead of failing.
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(5, inputs: 7);
        var x = torch.randn(1, 7, generator: new Generator(1));
        Func<Tensor, Tensor> scalar = t => model.call(t).sum();

        using var one = new FeatureAblation(scalar).Attribute(x, new FeatureAblationOptions { PerturbationsPerEval = 1 });
        using var chosen = new FeatureAblation(scalar).Attribute(x, new FeatureAblationOptions());
        var windows = new OcclusionOptions { SlidingWindowShapes = new long[] { 2 } };
        using var occludedOne = new Occlusion(scalar).Attribute(x, windows with { PerturbationsPerEval = 1 });
        using var occludedChosen = new Occlusion(scalar).Attribute(x, windows);

        TensorAssert.AllClose(chosen.Attribution, one.Attribution, 1e-6, 1e-5);
        TensorAssert.AllClose(occludedChosen.Attribution, occludedOne.Attribution, 1e-6, 1e-5);
    }

    [Fact]
    public void Attribute_ChosenPerturbationsPerEvalFallingBack_ProgressNeverDecreasesAndEndsAtItsTotal()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(5, inputs: 7);
        var x = torch.randn(3, 7);
        var reports = new List<AttributionProgress>();
        Func<Tensor, Tensor> centred = t =>
        {
            var y = model.call(t);
            return y - y.mean([0], keepdim: true);
        };

        using var result = new FeatureAblation(centred).Attribute(x, new FeatureAblationOptions { Target = 1, Progress = new SynchronousProgress<AttributionProgress>(reports.Add) });

        for (var i = 1; i < reports.Count; i++)
        {
            Assert.True(reports[i].CompletedSteps >= reports[i - 1].CompletedSteps);
        }

        // The unperturbed pass, the shared pass and its check, then the 7 features one by one.
        Assert.Equal(new AttributionProgress(10, 10), reports[^1]);
    }

    [Fact]
    public void Attribute_MemoryBudgetOfOneByte_OnePerturbationPerPass()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(5, inputs: 7);
        var x = torch.randn(3, 7);
        var counting = new CountingForward(model.call);

        AttributionResult result;
        using (MemoryBudget.WithDefaultBytes(1))
        {
            result = new FeatureAblation((Func<Tensor, Tensor>)counting.Invoke).Attribute(x, new FeatureAblationOptions { Target = 1 });
        }

        using (result)
        {
            Assert.Equal(Enumerable.Repeat(3L, 8), counting.BatchSizes);
            Assert.Equal(1, result.PerturbationsPerEval);
            Assert.Equal("one perturbation", result.MemoryBudgetOverrun?.Pass);
            Assert.Equal(1, result.MemoryBudgetOverrun?.BudgetBytes);
        }
    }

    [Fact]
    public void Attribute_NoPerturbationsPerEvalAndAnAmpleBudget_ReportsThePerturbationsPerPassItChose()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(5, inputs: 7);

        using var chosen = new FeatureAblation(model).Attribute(torch.randn(3, 7), new FeatureAblationOptions { Target = 1, MaxMemoryBytes = 64L << 30 });
        using var given = new FeatureAblation(model).Attribute(torch.randn(3, 7), new FeatureAblationOptions { Target = 1, PerturbationsPerEval = 2 });

        // At most 32 rows a pass: 10 perturbations of the 3 examples, capped by the 7 features.
        Assert.Equal(7, chosen.PerturbationsPerEval);
        Assert.Null(chosen.MemoryBudgetOverrun);
        Assert.Equal(2, given.PerturbationsPerEval);
    }

    [Fact]
    public void Attribute_MemoryBudgetNotPositive_ThrowsNamingMaxMemoryBytes()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(5, inputs: 7);

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new FeatureAblation(model).Attribute(torch.randn(3, 7), new FeatureAblationOptions { Target = 1, MaxMemoryBytes = 0 }));

        Assert.Equal("MaxMemoryBytes", error.ParamName);
    }

    [Fact]
    public void Attribute_ForwardReturnsScalarForBatch_BatchwiseAttributionsOfFirstDimensionOne()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearModel(4, 2, seed: 6);
        var x = torch.randn(3, 4);
        ForwardFunction total = ForwardFunction.FromDelegate((Tensor[] t) => model.call(t[0])[.., 1].sum());

        using var result = new FeatureAblation(total).Attribute(x);

        Assert.Equal([1L, 4L], result.Attribution.shape);
        var expected = (model.Lin.weight![1] * x).sum(dim: 0, keepdim: true);
        TensorAssert.AllClose(result.Attribution, expected, 1e-5, 1e-4);
    }

    [Fact]
    public void Attribute_ForwardReturnsFixedVectorForBatch_OneRowPerOutput()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearModel(4, 3, seed: 7);
        var x = torch.randn(2, 4);
        ForwardFunction perClass = ForwardFunction.FromDelegate((Tensor[] t) => model.call(t[0]).sum(dim: 0));

        using var result = new FeatureAblation(perClass).Attribute(x);

        Assert.Equal([3L, 4L], result.Attribution.shape);
        TensorAssert.AllClose(result.Attribution, model.Lin.weight! * x.sum(dim: 0), 1e-5, 1e-4);
    }

    [Fact]
    public void Attribute_IntegerTokenIds_AblatesEachPositionWithThePaddingId()
    {
        using var scope = torch.NewDisposeScope();
        var model = new BagOfWords(seed: 8);
        var tokens = torch.tensor(new long[,] { { 3, 5, 7, 2 }, { 1, 1, 9, 4 } });
        var copy = tokens.clone();

        using var result = new FeatureAblation(model).Attribute(tokens, new FeatureAblationOptions { Target = 2 });

        Assert.Equal(ScalarType.Float32, result.Attribution.dtype);
        Assert.Equal(ScalarType.Int64, tokens.dtype);
        TensorAssert.AllClose(tokens, copy, 0, 0);
        using var noGrad = torch.no_grad();
        var full = model.call(tokens)[.., 2];
        for (var p = 0; p < 4; p++)
        {
            var ablated = tokens.clone();
            ablated[.., p] = torch.tensor(0L);
            TensorAssert.AllClose(result.Attribution[.., p], full - model.call(ablated)[.., 2], 1e-6, 1e-5, $"position {p}");
        }
    }

    [Fact]
    public void Attribute_InputThatRequiresGrad_LeftUnchangedAndStillRequiringGrad()
    {
        using var scope = torch.NewDisposeScope();
        var model = new LinearModel(3, 2, seed: 9);
        var x = torch.randn(2, 3).requires_grad_(true);
        var before = x.detach().clone();

        using var result = new FeatureAblation(model).Attribute(x, new FeatureAblationOptions { Target = 0 });

        Assert.True(x.requires_grad);
        Assert.False(result.Attribution.requires_grad);
        TensorAssert.AllClose(x.detach(), before, 0, 0);
    }

    [Fact]
    public void Attribute_Progress_ReportsEveryEvaluationUpToTheTotal()
    {
        using var scope = torch.NewDisposeScope();
        var reports = new List<AttributionProgress>();
        var progress = new SynchronousProgress(reports.Add);

        using var result = new FeatureAblation(new LinearModel(5, 1, seed: 10)).Attribute(torch.randn(2, 5), new FeatureAblationOptions
        {
            Target = 0,
            PerturbationsPerEval = 2,
            Progress = progress,
        });

        Assert.Equal(Enumerable.Range(1, 4), reports.Select(r => r.CompletedSteps));
        Assert.All(reports, r => Assert.Equal(4, r.TotalSteps));
    }

    [Fact]
    public void Attribute_CancelledAfterFirstEvaluation_ThrowsAndFreesEverything()
    {
        var model = new LinearModel(5, 1, seed: 11);
        var x = torch.randn(2, 5);
        using var cancel = new CancellationTokenSource();
        var live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;

        Assert.Throws<OperationCanceledException>(() => new FeatureAblation(model).Attribute(x, new FeatureAblationOptions
        {
            Target = 0,
            Progress = new SynchronousProgress(_ => cancel.Cancel()),
        }, cancel.Token));

        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
