using Captum.Attr;
using FsCheck.Xunit;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Attr.Summary;

/// <summary>Summarizer and ClassSummarizer: the streamed statistics equal those of the whole stack at once.</summary>
public sealed class SummarizerTests
{
    private static readonly Stat[] Everything =
        [Stat.Count(), Stat.Mean(), Stat.MSE(), Stat.Var(), Stat.Var(1), Stat.StdDev(), Stat.StdDev(1), Stat.Min(), Stat.Max(), Stat.Sum()];

    [Property(MaxTest = 30)]
    public void Summary_AnyStream_EqualsTheStatisticsOfTheStack(int seed, byte countChoice)
    {
        using var scope = torch.NewDisposeScope();
        var count = 1 + (countChoice % 9);
        var samples = TestModels.Normal(seed, count, 2, 3).to_type(ScalarType.Float64);
        using var summarizer = new Summarizer(Everything);

        for (var i = 0; i < count; i++)
        {
            summarizer.Update(samples[i]);
        }

        var summary = summarizer.Summary();
        var population = samples.var([0L], unbiased: false);
        Assert.Equal(count, summary["count"]!.item<long>());
        TensorAssert.AllClose(summary["mean"]!, samples.mean([0]), 1e-12, 1e-10);
        TensorAssert.AllClose(summary["mse"]!, population * count, 1e-12, 1e-10);
        TensorAssert.AllClose(summary["variance"]!, population, 1e-12, 1e-10);
        TensorAssert.AllClose(summary["std_dev"]!, population.sqrt(), 1e-12, 1e-10);
        TensorAssert.AllClose(summary["sample_variance"]!, count > 1 ? samples.var([0L]) : torch.zeros(2, 3, ScalarType.Float64), 1e-12, 1e-10);
        TensorAssert.AllClose(summary["sample_std_dev"]!, count > 1 ? samples.std([0L]) : torch.zeros(2, 3, ScalarType.Float64), 1e-12, 1e-10);
        TensorAssert.AllClose(summary["min"]!, samples.amin([0]), 0, 0);
        TensorAssert.AllClose(summary["max"]!, samples.amax([0]), 0, 0);
        TensorAssert.AllClose(summary["sum"]!, samples.sum([0L]), 1e-12, 1e-10);
    }

    [Fact]
    public void Summary_CommonStatsOfTwoInputs_AreKeyedByCaptumsNames()
    {
        using var scope = torch.NewDisposeScope();
        using var summarizer = new Summarizer(Stat.CommonStats());
        Assert.All(summarizer.Summary().Values, Assert.Null);

        summarizer.Update([torch.ones(3), torch.zeros(2)]);
        summarizer.Update([torch.ones(3) * 3, torch.ones(2)]);

        Assert.Equal(["mean", "sample_variance", "sample_std_dev", "min", "max"], summarizer.Summary(1).Keys);
        TensorAssert.AllClose(summarizer.Summary(0)["mean"]!, torch.full(3, 2f), 0, 0);
        TensorAssert.AllClose(summarizer.Summary(1)["sample_variance"]!, torch.full(2, 0.5, ScalarType.Float64), 1e-12, 0);
        Assert.Equal("x", Assert.Throws<ArgumentException>(() => summarizer.Update(torch.ones(3))).ParamName);
        Assert.Equal("x", Assert.Throws<ArgumentException>(() => summarizer.Update([torch.ones(4), torch.ones(2)])).ParamName);
    }

    [Property(MaxTest = 25)]
    public void ClassSummarizer_AnyLabelledStream_EachClassEqualsTheStatisticsOfItsRows(int seed, byte rowsChoice, byte batchChoice)
    {
        using var scope = torch.NewDisposeScope();
        var rows = 2 + (rowsChoice % 15);
        var batch = 1 + (batchChoice % 4);
        var samples = TestModels.Normal(seed, rows, 3).to_type(ScalarType.Float64);
        var random = new Random(seed);
        var labels = Enumerable.Range(0, rows).Select(_ => (long)random.Next(3)).ToArray();
        using var summarizer = new ClassSummarizer<long>(Everything);

        for (var start = 0; start < rows; start += batch)
        {
            var length = Math.Min(batch, rows - start);
            summarizer.Update(samples.narrow(0, start, length), labels[start..(start + length)]);
        }

        Assert.Equal(labels.Distinct().Order(), summarizer.Classes.Order());
        Assert.Equal(rows, summarizer.Summary()["count"]!.item<long>());
        TensorAssert.AllClose(summarizer.Summary()["mean"]!, samples.mean([0]), 1e-12, 1e-10);
        foreach (var label in summarizer.Classes)
        {
            var own = samples.index_select(0, torch.tensor(Enumerable.Range(0, rows).Where(i => labels[i] == label).Select(i => (long)i).ToArray()));
            var summary = summarizer.ClassSummary(label);
            Assert.Equal(own.shape[0], summary["count"]!.item<long>());
            TensorAssert.AllClose(summary["mean"]!, own.mean([0]), 1e-12, 1e-10);
            TensorAssert.AllClose(summary["variance"]!, own.var([0L], unbiased: false), 1e-12, 1e-10);
            TensorAssert.AllClose(summary["min"]!, own.amin([0]), 0, 0);
            TensorAssert.AllClose(summary["max"]!, own.amax([0]), 0, 0);
            TensorAssert.AllClose(summary["sum"]!, own.sum([0L]), 1e-12, 1e-10);
        }
    }

    [Fact]
    public void ClassSummarizer_Batches_SummariseEachClassAndAll()
    {
        using var scope = torch.NewDisposeScope();
        using var summarizer = new ClassSummarizer<long>([Stat.Mean(), Stat.Count()]);
        var x = torch.tensor(new float[,] { { 1, 2 }, { 3, 4 }, { 5, 6 }, { 7, 8 } });

        summarizer.Update(x, [0L, 1L, 0L, 1L]);
        summarizer.Update(x.narrow(0, 0, 1), [2L]);

        Assert.Equal([0L, 1L, 2L], summarizer.Classes);
        TensorAssert.AllClose(summarizer.ClassSummary(0)["mean"]!, torch.tensor(new float[] { 3, 4 }), 0, 0);
        TensorAssert.AllClose(summarizer.ClassSummary(1)["mean"]!, torch.tensor(new float[] { 5, 6 }), 0, 0);
        Assert.Equal(5, summarizer.Summary()["count"]!.item<long>());
        Assert.Equal("labels", Assert.Throws<ArgumentException>(() => summarizer.Update(x, [0L, 1L])).ParamName);
        Assert.Throws<KeyNotFoundException>(() => summarizer.ClassSummary(9));
    }

    [Fact]
    public void ClassSummarizer_UpdateWithoutLabels_AddsOneSampleToTheOverallSummaryOnly()
    {
        using var scope = torch.NewDisposeScope();
        using var summarizer = new ClassSummarizer<long>([Stat.Mean(), Stat.Count()]);
        var x = torch.tensor(new float[,] { { 1, 2 }, { 3, 4 }, { 5, 6 }, { 7, 8 } });

        summarizer.Update(x, [0L, 1L, 0L, 1L]);
        summarizer.Update(torch.tensor(new float[] { 9, 10 }));

        Assert.Equal([0L, 1L], summarizer.Classes);
        Assert.Equal(5, summarizer.Summary()["count"]!.item<long>());
        TensorAssert.AllClose(summarizer.Summary()["mean"]!, torch.tensor(new float[] { 5, 6 }), 0, 0);
        Assert.Equal(2, summarizer.ClassSummary(0)["count"]!.item<long>());
        Assert.Equal(2, summarizer.ClassSummary(1)["count"]!.item<long>());

        // Captum's update(x) without labels does not split x into rows: a batch is one sample of its own shape.
        Assert.Equal("x", Assert.Throws<ArgumentException>(() => summarizer.Update(x)).ParamName);
        using var batches = new ClassSummarizer<long>([Stat.Mean(), Stat.Count()]);
        batches.Update(x);
        batches.Update(x + 2);
        Assert.Equal(2, batches.Summary()["count"]!.item<long>());
        TensorAssert.AllClose(batches.Summary()["mean"]!, x + 1, 0, 0);
        Assert.Empty(batches.Classes);
    }
}
