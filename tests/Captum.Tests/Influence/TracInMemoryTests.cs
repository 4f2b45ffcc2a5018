using Captum.Influence;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Influence;

/// <summary>
/// TracInCP and TracInCPFast hold no training batch's intermediates past the batch: counted in this thread's live
/// tensors as each batch of a streamed training set is handed out, each batch leaves at most its slice of the result.
/// </summary>
public sealed class TracInMemoryTests
{
    private const int BatchCount = 6;

    /// <summary>
    /// Fresh batches, each freed when the enumeration moves on (a stream from disk), noting this thread's live tensors
    /// before each batch is made.
    /// </summary>
    private sealed class CountingSource : IEnumerable<InfluenceBatch>
    {
        public List<long> LiveBefore { get; } = [];

        public IEnumerator<InfluenceBatch> GetEnumerator()
        {
            using var generator = new torch.Generator(8);
            for (var b = 0; b < BatchCount; b++)
            {
                LiveBefore.Add(DisposeScopeManager.Statistics.ThreadTotalLiveCount);
                var x = torch.randn(4, 5, generator: generator);
                var y = torch.randint(0, 3, 4, generator: generator);
                try
                {
                    yield return new InfluenceBatch(x, y);
                }
                finally
                {
                    x.Dispose();
                    y.Dispose();
                }
            }
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    public static TheoryData<string> Calls => ["TracInCP.Influence", "TracInCP.SelfInfluence", "TracInCPFast.Influence", "TracInCPFast.SelfInfluence"];

    [Theory]
    [MemberData(nameof(Calls))]
    public void Call_StreamedTrainingSet_EachBatchLeavesAtMostItsSliceOfTheResult(string call)
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(6);
        var model = nn.Sequential(("hidden", nn.Linear(5, 6)), ("act", nn.Tanh()), ("fc", nn.Linear(6, 3)));
        var checkpoints = new[] { 0.5, 0.25 }.Select(rate => TrainingCheckpoint.FromStateDict(
            model.state_dict().ToDictionary(p => p.Key, p => p.Value.detach().clone()), rate)).ToList();
        var test = new InfluenceBatch(torch.randn(3, 5), torch.tensor(new long[] { 2, 1, 0 }));
        var source = new CountingSource();
        TracInCPBase tracin = call.StartsWith("TracInCPFast", StringComparison.Ordinal)
            ? new TracInCPFast(model, "fc", source, checkpoints)
            : new TracInCP(model, source, checkpoints);
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;

        using (var result = call.EndsWith("SelfInfluence", StringComparison.Ordinal) ? tracin.SelfInfluence() : tracin.Influence(test))
        {
            Assert.Equal(before + 1, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        }

        // One pass over the batches per checkpoint; within a pass, the live tensors grow by the finished batch's slice.
        Assert.Equal(checkpoints.Count * BatchCount, source.LiveBefore.Count);
        foreach (var pass in source.LiveBefore.Chunk(BatchCount))
        {
            var growth = pass.Zip(pass.Skip(1), (a, b) => b - a).ToList();
            Assert.All(growth, g => Assert.InRange(g, 0, 1));
        }
    }
}
