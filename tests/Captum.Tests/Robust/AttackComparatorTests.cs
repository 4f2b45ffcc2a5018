using Captum.Attr;
using Captum.Forward;
using Captum.Robust;
using FsCheck.Xunit;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Robust;

/// <summary>
/// AttackComparator: the per-attempt metric summarised as Captum does, grouping into forward passes, the running
/// summary and reset, preprocessing before or after the attack, the batch's arguments reaching the attacks, and the
/// checks of its arguments.
/// </summary>
public sealed class AttackComparatorTests
{
    /// <summary>The softmax probability of each example's label: one value per example.</summary>
    private static Tensor Confidence(Tensor output, long[] labels) =>
        torch.nn.functional.softmax(output, 1).gather(1, torch.tensor(labels).unsqueeze(1)).squeeze(1);

    /// <summary>A deterministic "random" attack: attempt k (counted over the perturbation's life) shifts by k × size.</summary>
    private static IPerturbation<double> Drift()
    {
        var calls = 0;
        return Perturbation.FromFunction<double>((t, size) => t + (calls++ * size));
    }

    [Fact]
    public void Evaluate_SeveralAttempts_MeanMinMaxEqualTheMetricPerAttemptByHand()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(41);
        var x = TestModels.Normal(42, 5, 4);
        long[] labels = [0, 1, 2, 0, 1];
        using var comparator = new AttackComparator<long[]>(model, (output, y) => Confidence(output, y));
        comparator.AddAttack(Drift(), 0.3, "Drift", numAttempts: 4);
        comparator.AddAttack(t => t * 0.5, "Halve");

        using var results = comparator.Evaluate(x, labels);

        using var noGrad = torch.no_grad();
        var perAttempt = torch.stack(Enumerable.Range(0, 4).Select(k => Confidence(model.call(x + (k * 0.3)), labels)).ToArray());
        Assert.Equal(["Original", "Drift", "Halve"], results.Keys);
        TensorAssert.AllClose(results.Original.Mean.Value, Confidence(model.call(x), labels), 1e-7, 0);
        Assert.Null(results.Original.Min);
        TensorAssert.AllClose(results["Drift"].Mean.Value, perAttempt.mean([0]), 1e-6, 0);
        TensorAssert.AllClose(results["Drift"].Min!.Value, perAttempt.min(0).values, 0, 0);
        TensorAssert.AllClose(results["Drift"].Max!.Value, perAttempt.max(0).values, 0, 0);
        TensorAssert.AllClose(results["Halve"].Mean.Value, Confidence(model.call(x * 0.5), labels), 1e-7, 0);
        Assert.Null(results["Halve"].Min);
        Assert.Null(results["Halve"].Max);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(7)]
    public void Evaluate_SaliencyInTheForwardFunction_EqualsTheAttributionsOfEachPerturbationByHand(int perturbationsPerEval)
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(45);
        var x = TestModels.Normal(46, 5, 4);
        long[] labels = [0, 1, 2, 0, 1];
        var saliency = new Saliency(model);
        // The labels are an additional forward argument, so the comparator repeats them for perturbations sharing a pass.
        var explain = (ForwardFunction)((Func<Tensor, Tensor, Tensor>)((input, y) => saliency.Attribute(input, new SaliencyOptions { Target = y }).Attribution));
        Tensor Map(Tensor input) => saliency.Attribute(input, new SaliencyOptions { Target = labels }).Attribution;
        Tensor Kept(Tensor map, Tensor clean) => torch.nn.functional.cosine_similarity(map, clean, 1);
        var fgsm = new FGSM(model, AttackLosses.CrossEntropy);
        var cleanMap = Map(x);
        using var comparator = new AttackComparator<Tensor>(explain, (map, clean) => Kept(map, clean));
        comparator.AddAttack(fgsm, new FGSMOptions { Epsilon = 0.2, Target = labels }, "FGSM");
        comparator.AddAttack(Drift(), 0.3, "Drift", numAttempts: 3);

        using var results = comparator.Evaluate(x, cleanMap, new AttackEvaluationOptions { AdditionalForwardArgs = [torch.tensor(labels)], PerturbationsPerEval = perturbationsPerEval });

        using var attacked = fgsm.Perturb(x, new FGSMOptions { Epsilon = 0.2, Target = labels });
        var fgsmKept = Kept(Map(attacked.Perturbed), cleanMap);
        var driftKept = torch.stack(Enumerable.Range(0, 3).Select(k => Kept(Map(x + (k * 0.3)), cleanMap)).ToArray());
        TensorAssert.AllClose(results.Original.Mean.Value, torch.ones(5), 1e-6, 0);
        TensorAssert.AllClose(results["FGSM"].Mean.Value, fgsmKept, 1e-6, 1e-6);
        Assert.True(fgsmKept.lt(0.9999).any().item<bool>(), "FGSM moves some saliency map");
        TensorAssert.AllClose(results["Drift"].Mean.Value, driftKept.mean([0]), 1e-6, 1e-6);
        TensorAssert.AllClose(results["Drift"].Min!.Value, driftKept.min(0).values, 1e-6, 1e-6);
        TensorAssert.AllClose(results["Drift"].Max!.Value, driftKept.max(0).values, 1e-6, 1e-6);
    }

    [Property(MaxTest = 12)]
    public void Evaluate_AnyPerturbationsPerEval_EqualsOneEvaluationPerPass(int seed)
    {
        using var scope = torch.NewDisposeScope();
        var random = new Random(seed);
        var perEval = random.Next(1, 9);
        var model = TestModels.SmoothMlp(seed);
        var x = TestModels.Normal(seed + 1, 3, 4);
        var weights = TestModels.Normal(seed + 2, 3, 4);
        long[] labels = [2, 0, 1];
        var forward = (ForwardFunction)((Func<Tensor, Tensor, Tensor>)((input, w) => model.call(input * w)));

        AttackComparison Run(int perturbationsPerEval, List<AttributionProgress> reports)
        {
            var comparator = new AttackComparator<long[]>(forward, (output, y) => MetricValues.Named(("confidence", Confidence(output, y)), ("top", output.max().unsqueeze(0))));
            comparator.AddAttack(Drift(), 0.2, "Drift", numAttempts: 3);
            comparator.AddAttack(Drift(), -0.1, "Back", numAttempts: 2, applyBeforePreproc: false);
            comparator.AddAttack(t => -t, "Negate");
            return comparator.Evaluate(x, labels, new AttackEvaluationOptions
            {
                AdditionalForwardArgs = [weights],
                PerturbationsPerEval = perturbationsPerEval,
                Progress = new SynchronousProgress(reports.Add),
            });
        }

        var oneByOne = new List<AttributionProgress>();
        var grouped = new List<AttributionProgress>();
        using var expected = Run(1, oneByOne);
        using var actual = Run(perEval, grouped);

        Assert.Equal(7, oneByOne.Count);
        Assert.Equal((7 + perEval - 1) / perEval, grouped.Count);
        Assert.Equal(expected.Keys, actual.Keys);
        foreach (var (key, summary) in expected)
        {
            Assert.Equal(["confidence", "top"], actual[key].Mean.Names!);
            foreach (var (e, a) in new[] { (summary.Mean, actual[key].Mean), (summary.Min, actual[key].Min), (summary.Max, actual[key].Max) })
            {
                Assert.Equal(e is null, a is null);
                for (var i = 0; e is not null && i < e.Count; i++)
                {
                    TensorAssert.AllClose(a![i], e[i], 1e-6, 0, $"{key} value {i}");
                }
            }
        }
    }

    [Fact]
    public void Summary_SeveralBatches_IsTheMeanOfEachBatchsMeanAndResetClearsIt()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(43);
        var first = TestModels.Normal(44, 5, 4);
        var second = TestModels.Normal(45, 3, 4);
        using var comparator = new AttackComparator<long[]>(model, (output, y) => output.argmax(1) == torch.tensor(y));
        comparator.AddAttack(Drift(), 0.4, "Drift", numAttempts: 3);

        Assert.Empty(comparator.Summary());
        using var a = comparator.Evaluate(first, [0, 1, 2, 0, 1]);
        using var b = comparator.Evaluate(second, [2, 2, 0]);
        using var summary = comparator.Summary();

        Tensor MeanOfBatchMeans(Func<AttackComparison, Tensor> pick) => (pick(a).mean([0]) + pick(b).mean([0])) / 2;
        Assert.Equal(ScalarType.Float64, a.Original.Mean.Value.dtype);
        Assert.Equal(["Original", "Drift"], summary.Keys);
        TensorAssert.AllClose(summary.Original.Mean.Value, MeanOfBatchMeans(r => r.Original.Mean.Value), 1e-12, 0);
        TensorAssert.AllClose(summary["Drift"].Mean.Value, MeanOfBatchMeans(r => r["Drift"].Mean.Value), 1e-12, 0);
        TensorAssert.AllClose(summary["Drift"].Min!.Value, MeanOfBatchMeans(r => r["Drift"].Min!.Value.to_type(ScalarType.Float64)), 1e-12, 0);
        TensorAssert.AllClose(summary["Drift"].Max!.Value, MeanOfBatchMeans(r => r["Drift"].Max!.Value.to_type(ScalarType.Float64)), 1e-12, 0);

        comparator.Reset();
        Assert.Empty(comparator.Summary());
        using var c = comparator.Evaluate(second, [2, 2, 0]);
        using var afterReset = comparator.Summary();
        TensorAssert.AllClose(afterReset.Original.Mean.Value, c.Original.Mean.Value.mean([0]), 1e-12, 0);
        TensorAssert.AllClose(afterReset["Drift"].Max!.Value, c["Drift"].Max!.Value.to_type(ScalarType.Float64).mean([0]), 1e-12, 0);
    }

    [Fact]
    public void Evaluate_FourThreadsOnOneComparator_EachBatchAsAloneAndTheSummaryOfAll()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(46);
        var batches = Enumerable.Range(0, 64).Select(i => TestModels.Normal(47 + i, 4, 4)).ToList();
        long[] labels = [0, 1, 2, 0];
        AttackComparator<long[]> Comparator()
        {
            var comparator = new AttackComparator<long[]>(model, (output, y) => Confidence(output, y));
            comparator.AddAttack(t => t * 0.5, "Halve");
            comparator.AddAttack(new FGSM(model), new FGSMOptions { Epsilon = 0.1 }, "FGSM", withArguments: (o, y) => o with { Target = y });
            return comparator;
        }

        using var alone = Comparator();
        var serial = batches.Select(b => alone.Evaluate(b, labels)).ToList();
        using var serialSummary = alone.Summary();
        using var shared = Comparator();
        var concurrent = new AttackComparison[batches.Count];
        var threads = Enumerable.Range(0, 4).Select(t => new Thread(() =>
        {
            for (var i = t; i < batches.Count; i += 4)
            {
                using var threadScope = torch.NewDisposeScope();
                concurrent[i] = shared.Evaluate(batches[i], labels);
                foreach (var tensor in concurrent[i].Values.SelectMany(v => v.Tensors))
                {
                    tensor.MoveToOuterDisposeScope();
                }
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        using var summary = shared.Summary();

        for (var i = 0; i < batches.Count; i++)
        {
            foreach (var key in serial[i].Keys)
            {
                TensorAssert.AllClose(concurrent[i][key].Mean.Value, serial[i][key].Mean.Value, 0, 0, $"batch {i}, {key}");
            }
        }

        Assert.Equal(serialSummary.Keys, summary.Keys);
        foreach (var key in summary.Keys)
        {
            // The float32 batch means are added in another order: equal to float32 rounding of 64 terms.
            TensorAssert.AllClose(summary[key].Mean.Value, serialSummary[key].Mean.Value, 1e-6, 1e-6, key);
        }
    }

    [Fact]
    public void Summary_AttackAddedLaterAndScalarMetric_StartsWithItsFirstBatch()
    {
        using var scope = torch.NewDisposeScope();
        var x = TestModels.Normal(46, 4, 2);
        using var comparator = new AttackComparator<object?>((Func<Tensor, Tensor>)(t => t * 1), (output, _) => output.sum().item<float>());
        using (comparator.Evaluate(x, null))
        {
        }

        comparator.AddAttack(t => t + 1, "Shift");
        using (comparator.Evaluate(x * 3, null))
        {
        }

        using var summary = comparator.Summary();
        using var noGrad = torch.no_grad();
        Assert.Equal(["Original", "Shift"], summary.Keys);
        Assert.Equal(ScalarType.Float32, summary.Original.Mean.Value.dtype);
        Assert.Equal(((x.sum() + (x * 3).sum()) / 2).item<float>(), summary.Original.Mean.Value.item<float>(), 4);
        Assert.Equal(((x * 3) + 1).sum().item<float>(), summary["Shift"].Mean.Value.item<float>(), 4);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Evaluate_ApplyBeforePreproc_AttacksTheRawOrThePreprocessedInputs(bool before)
    {
        using var scope = torch.NewDisposeScope();
        var x = TestModels.Normal(47, 3, 2);
        using var comparator = new AttackComparator<object?>((Func<Tensor, Tensor>)(t => t * 1), (output, _) => output, inputs => inputs.Tensors[0] * 2);
        comparator.AddAttack(t => t + 1, "Shift", applyBeforePreproc: before);

        using var results = comparator.Evaluate(x, null);

        TensorAssert.AllClose(results.Original.Mean.Value, x * 2, 0, 0);
        TensorAssert.AllClose(results["Shift"].Mean.Value, before ? (x + 1) * 2 : (x * 2) + 1, 1e-7, 0);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Evaluate_FGSMGivenTheBatchsLabels_EqualsTheMetricOfFGSMByHandAndLeavesTheCallersTensors(bool requiresGrad)
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(48);
        var x = TestModels.Normal(49, 5, 4).requires_grad_(requiresGrad);
        var copy = x.detach().clone();
        long[] labels = [1, 1, 0, 2, 0];
        var fgsm = new FGSM(model, AttackLosses.CrossEntropy);
        using var comparator = new AttackComparator<long[]>(model, (output, y) => Confidence(output, y));
        comparator.AddAttack(fgsm, new FGSMOptions { Epsilon = 0.2 }, withArguments: (o, y) => o with { Target = y });

        using var results = comparator.Evaluate(x, labels);

        using var byHand = fgsm.Perturb(x, new FGSMOptions { Epsilon = 0.2, Target = labels });
        using var noGrad = torch.no_grad();
        Assert.Equal(["Original", "FGSM"], results.Keys);
        TensorAssert.AllClose(results["FGSM"].Mean.Value, Confidence(model.call(byHand.Perturbed), labels), 1e-7, 0);
        Assert.True((results["FGSM"].Mean.Value < results.Original.Mean.Value).all().item<bool>(), "FGSM lowers the label's probability");
        TensorAssert.Untouched(x, copy, requiresGrad);
    }

    [Fact]
    public void AddAttack_NoName_TakesCaptumsClassNameOrFunction()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(50);
        using var comparator = new AttackComparator<object?>(model, (output, _) => output);

        comparator.AddAttack(new PGD(model), new PGDOptions { Radius = 0.1, StepSize = 0.05, StepNum = 1, Target = 0 });
        comparator.AddAttack(t => t);

        Assert.Equal(["PGD", "function"], comparator.AttackNames);
        Assert.Equal("name", Assert.Throws<ArgumentException>(() => comparator.AddAttack(Perturbation.FromFunction<int>((t, _) => t), 0)).ParamName);
    }

    [Fact]
    public void Evaluate_TokenCancelledAtTheFirstPass_ThrowsAndKeepsNoSummary()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(51);
        var x = TestModels.Normal(52, 3, 4);
        using var cancel = new CancellationTokenSource();
        using var comparator = new AttackComparator<object?>(model, (output, _) => output);
        comparator.AddAttack(Drift(), 0.1, "Drift", numAttempts: 2);
        var options = new AttackEvaluationOptions { Progress = new SynchronousProgress(_ => cancel.Cancel()) };

        Assert.Throws<OperationCanceledException>(() => comparator.Evaluate(x, null, options, cancel.Token));

        Assert.Empty(comparator.Summary());
    }

    [Fact]
    public void Evaluate_ResultsDisposed_LeavesNoLiveTensorsBeyondTheRunningSummary()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(55);
        var x = TestModels.Normal(56, 4, 4);
        long[] labels = [0, 1, 2, 0];
        using var comparator = new AttackComparator<long[]>(model, (output, y) => MetricValues.Of(Confidence(output, y), output.sum()), inputs => inputs.Tensors[0] * 2);
        comparator.AddAttack(new FGSM(model), new FGSMOptions { Epsilon = 0.1 }, withArguments: (o, y) => o with { Target = y });
        comparator.AddAttack(Drift(), 0.1, "Drift", numAttempts: 3, applyBeforePreproc: false);
        var options = new AttackEvaluationOptions { PerturbationsPerEval = 2 };
        using (comparator.Evaluate(x, labels, options))
        {
        }

        var live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        using (comparator.Evaluate(x, labels, options))
        {
        }

        using (comparator.Summary())
        {
        }

        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void BadArguments_ThrowNamingTheArgumentBeforeAnyWork()
    {
        using var scope = torch.NewDisposeScope();
        var model = TestModels.SmoothMlp(53);
        var forwardCalls = 0;
        var attackCalls = 0;
        var forward = (ForwardFunction)((Func<Tensor, Tensor>)(t =>
        {
            forwardCalls++;
            return model.call(t);
        }));
        using var comparator = new AttackComparator<object?>(forward, (output, _) => output);
        comparator.AddAttack(t => t + (attackCalls++ * 0), "Noise");

        Assert.Equal("name", Assert.Throws<ArgumentException>(() => comparator.AddAttack(t => t, "Noise")).ParamName);
        Assert.Equal("name", Assert.Throws<ArgumentException>(() => comparator.AddAttack(t => t, "Original")).ParamName);
        Assert.Equal("name", Assert.Throws<ArgumentException>(() => comparator.AddAttack(t => t, " ")).ParamName);
        Assert.Equal("numAttempts", Assert.ThrowsAny<ArgumentException>(() => comparator.AddAttack(t => t, "Other", numAttempts: 0)).ParamName);
        Assert.Equal(["Noise"], comparator.AttackNames);

        var x = TestModels.Normal(54, 3, 4);
        var zero = new AttackEvaluationOptions { PerturbationsPerEval = 0 };
        Assert.Equal("PerturbationsPerEval", Assert.ThrowsAny<ArgumentException>(() => comparator.Evaluate(x, null, zero)).ParamName);
        Assert.Equal("inputs", Assert.Throws<ArgumentException>(() => comparator.Evaluate(new[] { x, torch.ones(2, 4) }, null)).ParamName);
        Assert.Equal(0, forwardCalls);
        Assert.Equal(0, attackCalls);

        using var pooled = new AttackComparator<object?>((Func<Tensor, Tensor>)(t => t.sum()), (output, _) => output);
        pooled.AddAttack(t => t, "Same");
        var two = new AttackEvaluationOptions { PerturbationsPerEval = 2 };
        Assert.Equal("PerturbationsPerEval", Assert.Throws<ArgumentException>(() => pooled.Evaluate(x, null, two)).ParamName);
    }
}
