using Captum.Concept;
using FsCheck.Xunit;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Concepts;

using Concept = Captum.Concept.Concept;

/// <summary>CAV files, the default concept classifier and the Welch test of the significance call.</summary>
public sealed class CAVAndClassifierTests
{
    [Property(MaxTest = 25)]
    public void SaveThenLoad_AnyCav_GivesTheSameWeightsConceptsAndAccuracy(int seed, byte classCount, byte featureCount, bool withAccuracy)
    {
        using var scope = torch.NewDisposeScope();
        var random = new Random(seed);
        var classes = 2 + (classCount % 3);
        var ids = Enumerable.Range(0, classes).Select(_ => random.Next(-5, 1000)).Distinct().ToList();
        var concepts = ids.Select(id => new Concept(id, $"concept {id}/ü", (IEnumerable<Tensor>?)null)).ToList();
        var weights = torch.randn(ids.Count, 1 + (featureCount % 40), generator: new torch.Generator((ulong)(uint)seed));
        var order = ids.Select(i => (long)i).OrderBy(_ => random.Next()).ToArray();
        double? accuracy = withAccuracy ? random.NextDouble() : null;
        using var cav = new CAV(concepts, "layer.sub-1", weights, order, accuracy);
        var path = Path.Combine(Path.GetTempPath(), $"cav-{Guid.NewGuid():N}.safetensors");
        try
        {
            cav.Save(path);
            using var loaded = CAV.Load(path);

            Assert.Equal(cav.Concepts.Select(c => (c.Id, c.Name)), loaded.Concepts.Select(c => (c.Id, c.Name)));
            Assert.All(loaded.Concepts, c => Assert.False(c.HasExamples));
            Assert.Equal(cav.Layer, loaded.Layer);
            Assert.Equal(cav.Classes, loaded.Classes);
            Assert.Equal(cav.Accuracy, loaded.Accuracy);
            Assert.True((loaded.Weights == weights).all().item<bool>());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Load_ASafetensorsFileWithoutACav_SaysSo()
    {
        using var scope = torch.NewDisposeScope();
        var path = Path.Combine(Path.GetTempPath(), $"not-a-cav-{Guid.NewGuid():N}.safetensors");
        try
        {
            Captum.Checkpoints.SafeTensors.Save(new Dictionary<string, Tensor> { ["weights"] = torch.ones(2, 3) }, path);
            var e = Assert.Throws<InvalidDataException>(() => CAV.Load(path));
            Assert.Contains("without a CAV", e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void TrainAndEvaluate_SameData_GivesTheSameWeights_AndTwoClassesGiveOppositeRows()
    {
        using var scope = torch.NewDisposeScope();
        var (x, y) = Clusters(3, 40, 5, 1.0);
        var classifier = new LinearConceptClassifier();

        using var first = classifier.TrainAndEvaluate(x[..80], y[..80]);
        using var second = classifier.TrainAndEvaluate(x[..80], y[..80]);

        Assert.True((first.Weights == second.Weights).all().item<bool>());
        Assert.Equal([0L, 1L], first.Classes);
        Assert.True((first.Weights[0] == -first.Weights[1]).all().item<bool>());
        Assert.Equal(ScalarType.Float32, first.Weights.dtype);
    }

    [Fact]
    public void TrainAndEvaluate_ThreeSeparableClasses_OneRowEachAndHeldOutAccuracyOne()
    {
        using var scope = torch.NewDisposeScope();
        var (x, y) = Clusters(3, 40, 5, 0.2);

        using var result = new LinearConceptClassifier().TrainAndEvaluate(x, y);

        Assert.Equal([0L, 1L, 2L], result.Classes);
        Assert.Equal([3L, 5L], result.Weights.shape);
        Assert.Equal(1.0, result.Accuracy);

        // Each class's row points most at its own cluster's centre.
        var centres = torch.stack(Enumerable.Range(0, 3).Select(c => x[y == c].mean([0])).ToArray());
        Assert.Equal([0L, 1L, 2L], result.Weights.matmul(centres.t()).argmax(0).data<long>().ToArray());
    }

    [Fact]
    public void TrainAndEvaluate_AccuracyIsMeasuredOnTheHeldOutThird()
    {
        using var scope = torch.NewDisposeScope();

        // Labels unrelated to the activations: no classifier can do much better than chance on held-out rows.
        var x = torch.randn(300, 4, generator: new torch.Generator(3));
        var y = torch.randint(0, 2, [300], ScalarType.Int64, generator: new torch.Generator(4));
        using var result = new LinearConceptClassifier().TrainAndEvaluate(x, y);
        Assert.InRange(result.Accuracy!.Value, 0.35, 0.65);

        // 99 held out of 300: the accuracy is a multiple of 1/99.
        Assert.Equal(0, (result.Accuracy.Value * 99) - Math.Round(result.Accuracy.Value * 99), 6);

        using var noTest = new LinearConceptClassifier { TestSplitRatio = 0 }.TrainAndEvaluate(x, y);
        Assert.Null(noTest.Accuracy);
    }

    [Fact]
    public void TrainAndEvaluate_LargeHighDimensionalActivations_LearnsASeparatingVector()
    {
        using var scope = torch.NewDisposeScope();

        // Activations like a convolutional layer's: thousands of features of large values, few examples. Unscaled
        // full-batch steps overshoot so far there that no iterate beats w = 0 (a zero CAV scores 0 for everything),
        // and an intercept stepped at the weights' scale never reaches the threshold between the concepts.
        var generator = new torch.Generator(9);
        var x = 20 * torch.randn(60, 2000, generator: generator);
        x[..30] += 10;
        var y = torch.cat([torch.zeros(30, ScalarType.Int64), torch.ones(30, ScalarType.Int64)]);

        using var result = new LinearConceptClassifier().TrainAndEvaluate(x, y);

        Assert.True(result.Weights.norm().item<float>() > 0);
        Assert.True(result.Accuracy >= 0.9, $"accuracy {result.Accuracy}");
    }

    [Fact]
    public void TrainAndEvaluate_BadArguments_NameThem()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.randn(6, 3);
        var classifier = new LinearConceptClassifier();
        Assert.Equal("labels", Assert.Throws<ArgumentException>(() => classifier.TrainAndEvaluate(x, torch.zeros(6, ScalarType.Int64))).ParamName);
        Assert.Equal("labels", Assert.Throws<ArgumentException>(() => classifier.TrainAndEvaluate(x, torch.zeros(5, ScalarType.Int64))).ParamName);
        Assert.Equal("activations", Assert.Throws<ArgumentException>(() => classifier.TrainAndEvaluate(torch.randn(6), torch.zeros(6, ScalarType.Int64))).ParamName);
        Assert.Equal("Alpha", Assert.Throws<ArgumentOutOfRangeException>(() => new LinearConceptClassifier { Alpha = 0 }.TrainAndEvaluate(x, torch.tensor(new long[] { 0, 1, 0, 1, 0, 1 }))).ParamName);
        Assert.Equal("TestSplitRatio", Assert.Throws<ArgumentOutOfRangeException>(() => new LinearConceptClassifier { TestSplitRatio = 1 }.TrainAndEvaluate(x, torch.tensor(new long[] { 0, 1, 0, 1, 0, 1 }))).ParamName);
    }

    [Theory]

    // Expected values: Welch's t and degrees of freedom by hand, the p-value by integrating Student's t density
    // numerically in Python (Simpson's rule, 200,000 intervals), independently of MathNet.Numerics.
    [InlineData(new[] { 1.0, 2, 3, 4, 5 }, new[] { 2.0, 4, 6, 8, 10, 12 }, -2.3763541031440183, 6.9722557297949335, 0.04928433820672915)]
    [InlineData(new[] { 0.9, 1, 1, 1 }, new[] { 0.5, 0.4, 0.6, 0.5, 0.7, 0.3 }, 7.549834435270749, 6.660516605166053, 0.00016879906473187925)]
    [InlineData(new[] { 0.55, 0.6, 0.45, 0.5 }, new[] { 0.5, 0.4, 0.6, 0.5, 0.7, 0.3, 0.5, 0.5 }, 0.47016234598162565, 9.78193548387097, 0.6485458025342009)]
    public void Welch_KnownSamples_GivesTheIntegratedPValue(double[] a, double[] b, double t, double df, double p)
    {
        var (actualT, actualDf, actualP) = Welch.Test(a, b);
        Assert.Equal(t, actualT, 10);
        Assert.Equal(df, actualDf, 10);
        Assert.Equal(p, actualP, 8);
    }

    [Fact]
    public void NewObservation_KnownSample_GivesStudentsPredictionTest()
    {
        // Sample 0, 1, 2: mean 1, sd 1; value 3: t = 2 / √(4/3) = √3 with 2 degrees of freedom, where Student's t has
        // the closed form P(|T| > t) = 1 - t / √(2 + t²) = 1 - √(3/5).
        var (t, df, p) = Welch.NewObservation(3, [0.0, 1.0, 2.0]);
        Assert.Equal(Math.Sqrt(3), t, 12);
        Assert.Equal(2, df);
        Assert.Equal(1 - Math.Sqrt(3.0 / 5), p, 10);
        Assert.Equal(p, Welch.NewObservation(-1, [0.0, 1.0, 2.0]).PValue, 12);
    }

    [Fact]
    public void NewObservation_SampleConstantUpToRounding_GivesTheExchangeablePValue()
    {
        // Seven random concepts that each won 3 of their 7 pairs, one of them summed in another order and so one bit
        // off 3/7: an exact zero test saw a spread of 1e-17 there and called the concept certain (t 1e16, p 0).
        var sample = Enumerable.Repeat(3.0 / 7, 7).ToList();
        sample[3] = Math.BitIncrement(3.0 / 7);

        var (t, _, p) = Welch.NewObservation(1, sample);

        Assert.NotEqual(sample[3], sample[0]);
        Assert.Equal(double.PositiveInfinity, t);
        Assert.Equal(1.0 / 8, p, 12);
        Assert.Equal(1, Welch.NewObservation(3.0 / 7, sample).PValue);
        Assert.Equal(2.0 / 3432, Welch.Test(sample, Enumerable.Repeat(1.0, 7).ToList()).PValue, 12);
    }

    [Fact]
    public void NewObservation_ConstantSample_GivesTheExchangeablePValue()
    {
        Assert.Equal(0.25, Welch.NewObservation(1, [0.5, 0.5, 0.5]).PValue, 12);
        Assert.Equal(double.NegativeInfinity, Welch.NewObservation(0, [0.5, 0.5, 0.5]).T);
        Assert.Equal(1, Welch.NewObservation(0.5, [0.5, 0.5, 0.5]).PValue);
    }

    [Fact]
    public void Welch_ConstantGroups_GiveTheExactPermutationPValue()
    {
        // Two a side: 6 relabellings, of which the split and its mirror are as extreme: 1/3, never significant.
        Assert.Equal(1.0 / 3, Welch.Test([1.0, 1.0], [0.5, 0.5]).PValue, 12);
        // Nine a side: 2 / C(18, 9) = 2 / 48620.
        Assert.Equal(2.0 / 48620, Welch.Test(Enumerable.Repeat(1.0, 9).ToList(), Enumerable.Repeat(0.5, 9).ToList()).PValue, 15);
        // Unequal sides have no mirror: 1 / C(5, 2).
        Assert.Equal(0.1, Welch.Test([0.0, 0.0], [1.0, 1.0, 1.0]).PValue, 12);
        Assert.Equal(1, Welch.Test([0.5, 0.5], [0.5, 0.5]).PValue);
    }

    /// <summary>Gaussian clusters around the corners of a scaled simplex, <paramref name="perClass"/> rows each, labels 0..classes-1.</summary>
    private static (Tensor X, Tensor Y) Clusters(int classes, int perClass, int features, double noise)
    {
        var generator = new torch.Generator(7);
        var centres = 3 * torch.eye(classes, features);
        var x = torch.cat(Enumerable.Range(0, classes).Select(c => centres[c].unsqueeze(0) + (noise * torch.randn(perClass, features, generator: generator))).ToArray(), 0);
        var y = torch.arange(classes, dtype: ScalarType.Int64).repeat_interleave(perClass);
        return (x, y);
    }
}
