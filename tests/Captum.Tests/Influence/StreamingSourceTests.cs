using Captum.Influence;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Influence;

/// <summary>
/// Every influence method over a source that frees each batch once the enumeration moves past it (as a stream from
/// disk or the scenes plugin's does) gives what it gives over the same batches held in memory.
/// </summary>
public sealed class StreamingSourceTests
{
    /// <summary>Copies of the batches, each disposed when the enumeration moves on or stops.</summary>
    private sealed class FreeingSource(IReadOnlyList<InfluenceBatch> batches) : IEnumerable<InfluenceBatch>
    {
        public IEnumerator<InfluenceBatch> GetEnumerator()
        {
            foreach (var batch in batches)
            {
                var copy = new InfluenceBatch(batch.Inputs.Select(t => t.clone()).ToList(), batch.Labels.clone());
                try
                {
                    yield return copy;
                }
                finally
                {
                    foreach (var t in copy.Inputs.Append(copy.Labels))
                    {
                        t.Dispose();
                    }
                }
            }
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    private static (nn.Module<Tensor, Tensor> Model, IReadOnlyList<InfluenceBatch> Train, InfluenceBatch Test, TrainingCheckpoint[] Checkpoints) Setup()
    {
        torch.manual_seed(4);
        var model = nn.Sequential(("hidden", nn.Linear(5, 6)), ("act", nn.Tanh()), ("fc", nn.Linear(6, 3)));
        var x = torch.randn(10, 5);
        var y = torch.tensor(new long[] { 0, 1, 2, 0, 1, 2, 0, 1, 2, 0 });
        var test = new InfluenceBatch(torch.randn(3, 5), torch.tensor(new long[] { 2, 1, 0 }));
        var state = model.state_dict().ToDictionary(p => p.Key, p => p.Value.detach().clone());
        return (model, InfluenceData.Batches(x, y, 4), test, [TrainingCheckpoint.FromStateDict(state, 0.5)]);
    }

    [Fact]
    public void TracInCP_FreeingSource_GivesTheScoresOfTheBatchesInMemory()
    {
        using var scope = torch.NewDisposeScope();
        var (model, train, test, checkpoints) = Setup();

        TensorAssert.AllClose(
            new TracInCP(model, new FreeingSource(train), checkpoints).Influence(test),
            new TracInCP(model, train, checkpoints).Influence(test),
            0,
            0);
    }

    [Fact]
    public void TracInCPFastRandProj_FreeingSource_GivesTheScoresOfTheBatchesInMemory()
    {
        using var scope = torch.NewDisposeScope();
        var (model, train, test, checkpoints) = Setup();
        var options = new TracInCPFastRandProjOptions { ProjectionDim = 4, Seed = 3 };

        using var streamed = new TracInCPFastRandProj(model, "fc", new FreeingSource(train), checkpoints, options);
        using var held = new TracInCPFastRandProj(model, "fc", train, checkpoints, options);

        TensorAssert.AllClose(streamed.Influence(test), held.Influence(test), 0, 0);
    }

    [Fact]
    public void NaiveInfluenceFunction_FreeingSource_GivesTheScoresOfTheBatchesInMemory()
    {
        using var scope = torch.NewDisposeScope();
        var (model, train, test, checkpoints) = Setup();

        using var streamed = new NaiveInfluenceFunction(model, new FreeingSource(train), checkpoints[0], new NaiveInfluenceFunctionOptions { Layers = ["fc"] });
        using var held = new NaiveInfluenceFunction(model, train, checkpoints[0], new NaiveInfluenceFunctionOptions { Layers = ["fc"] });

        TensorAssert.AllClose(streamed.Influence(test), held.Influence(test), 1e-6, 1e-5);
    }

    [Fact]
    public void SimilarityInfluence_FreeingSource_GivesTheNeighboursOfTheBatchesInMemory()
    {
        using var scope = torch.NewDisposeScope();
        var (model, train, test, _) = Setup();

        using var streamed = new SimilarityInfluence(model, ["hidden"], new FreeingSource(train).Select(b => b.Inputs)).MostSimilar(test.Inputs, 3);
        using var held = new SimilarityInfluence(model, ["hidden"], train.Select(b => b.Inputs)).MostSimilar(test.Inputs, 3);

        Assert.Equal(held["hidden"].Indices.data<long>().ToArray(), streamed["hidden"].Indices.data<long>().ToArray());
    }
}
