using System.Runtime.InteropServices;
using Captum.Batch;
using Captum.Explain;
using Captum.Plugins;
using Captum.Plugins.Vqa;
using Xunit;
using static Captum.Tests.Batch.BatchTestSupport;

namespace Captum.Tests.Batch;

/// <summary>One bad example: an error row for it and the shard goes on, so a restarted worker never meets it again.</summary>
public sealed class DatasetAttributionFailureTests(ScenesModelFixture scenes) : IClassFixture<ScenesModelFixture>
{
    private readonly VqaModel model = scenes.Model;

    [Fact]
    public async Task RunShard_ModelOrLibtorchThrowsOnOneExample_WritesErrorRowsAndCompletesTheShard()
    {
        using var temp = new TempFolder();
        var strategy = new FaultyStrategy((call, e) => call switch
        {
            1 => throw new InvalidOperationException("the model met a state it cannot handle"),
            2 => throw new ExternalException("shape '[1, 7]' is invalid for input of size 6"),
            _ => e,
        });

        var result = await RunWith(temp.Path, strategy, 4);
        var rows = await MergedOrFail(temp.Path);

        Assert.Equal((4, 2), (result.Computed, result.Errors));
        Assert.Equal([null, "InvalidOperationException: the model met a state it cannot handle", "ExternalException: shape '[1, 7]' is invalid for input of size 6", null], rows.Select(r => r.Error));
        Assert.Null(rows[1].Prediction);
        Assert.NotNull(rows[3].Prediction);
    }

    [Fact]
    public async Task RunShard_OutOfMemory_StopsTheWorkerWithoutRecordingTheExampleButWritesTheFinishedOnes()
    {
        // The two finished rows wait in a row group of 10: they are written before the worker stops.
        using var temp = new TempFolder();
        var strategy = new FaultyStrategy((call, e) => call == 2 ? throw new OutOfMemoryException() : e);

        await Assert.ThrowsAsync<OutOfMemoryException>(() => RunWith(temp.Path, strategy, 4, rowGroupSize: 10));

        var manifest = ShardManifest.Read(Path.Combine(temp.Path, "shard-00000"))!;
        Assert.Equal((2, false), (manifest.Rows, manifest.Complete));
    }

    [Fact]
    public async Task RunShard_CancelledDuringAnExample_CancelsWithoutRecordingItAndKeepsTheExamplesDone()
    {
        using var temp = new TempFolder();
        using var cancel = new CancellationTokenSource();
        var strategy = new FaultyStrategy((call, e) =>
        {
            if (call == 1)
            {
                cancel.Cancel();
                cancel.Token.ThrowIfCancellationRequested();
            }

            return e;
        });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => RunWith(temp.Path, strategy, 3, rowGroupSize: 1, cancel.Token));

        var manifest = ShardManifest.Read(Path.Combine(temp.Path, "shard-00000"))!;
        Assert.Equal((1, 0, false), (manifest.Rows, manifest.Parts.Sum(p => p.Errors), manifest.Complete));
    }

    [Theory]
    [InlineData("probability", "probability is NaN")]
    [InlineData("delta", "delta is NaN")]
    [InlineData("infinite delta", "delta is -Infinity")]
    [InlineData("score", "score 1 is Infinity")]
    public async Task RunShard_NonFiniteValue_GivesAnErrorRowNamingIt(string value, string expected)
    {
        using var temp = new TempFolder();
        var strategy = new FaultyStrategy((call, e) => call != 0 ? e : value switch
        {
            "probability" => e with { Probability = double.NaN },
            "delta" => e with { Delta = double.NaN },
            "infinite delta" => e with { Delta = double.NegativeInfinity },
            _ => e with { Inputs = [.. e.Inputs.Select(i => i.TokenAttributions is { } t ? i with { TokenAttributions = [t[0], float.PositiveInfinity, .. t.Skip(2)] } : i)] },
        });

        var result = await RunWith(temp.Path, strategy, 2);
        var rows = await MergedOrFail(temp.Path);

        Assert.Equal(1, result.Errors);
        Assert.Contains($"the attribution of example {rows[0].ExampleId} is not finite: ", rows[0].Error);
        Assert.EndsWith(expected + ".", rows[0].Error);
        Assert.Equal((null, null, 0), (rows[0].Probability, rows[0].Delta, rows[0].Inputs.Count));
        Assert.Null(rows[1].Error);
        Assert.True(double.IsFinite(rows[1].Delta!.Value));
    }

    [Fact]
    public async Task RunShard_NaNDeltaOfAMethodWithoutOne_IsNoDeltaNotAnError()
    {
        using var temp = new TempFolder();
        var strategy = new FaultyStrategy((_, e) => e with { Delta = double.NaN }, hasDelta: false);

        var result = await RunWith(temp.Path, strategy, 1);
        var row = Assert.Single(await MergedOrFail(temp.Path));

        Assert.Equal(0, result.Errors);
        Assert.Null(row.Error);
        Assert.Null(row.Delta);
        Assert.NotNull(row.Probability);
    }

    [Fact]
    public void HasConvergenceDelta_BuiltInStrategies_IsWhetherTheirExplanationHasAFiniteDelta()
    {
        using var scope = TorchSharp.torch.NewDisposeScope();
        using var dataset = Scenes(1);
        var prepared = model.Prepare(dataset.Get(0).Inputs);

        foreach (var strategy in ExplanationStrategies.BuiltIn.Strategies)
        {
            using var explanation = strategy.Explain(model, prepared, new ExplanationOptions { Steps = Steps });
            Assert.True(strategy.HasConvergenceDelta == double.IsFinite(explanation.Delta), $"{strategy.Name}: HasConvergenceDelta is {strategy.HasConvergenceDelta}, its delta {explanation.Delta}");
        }
    }

    private async Task<ShardResult> RunWith(string folder, IExplanationStrategy strategy, int count, int rowGroupSize = 16, CancellationToken cancellationToken = default)
    {
        using var dataset = Scenes(count);
        return await DatasetAttribution.RunShardAsync(folder, Spec(count), ShardAssignment.Single, dataset, model, strategy, new() { RowGroupSize = rowGroupSize }, cancellationToken);
    }

    private static async Task<IList<AttributionRow>> MergedOrFail(string folder)
    {
        var merged = Path.Combine(folder, "merged.parquet");
        var report = await ResultMerger.MergeAsync(folder, merged);
        Assert.True(report.Complete, string.Join("; ", report.Problems));
        return await DatasetAttribution.ReadPartAsync(merged);
    }

    /// <summary>layer-ig, with <c>fault</c> (given the call's number, from 0) applied to each explanation.</summary>
    private sealed class FaultyStrategy(Func<int, Explanation, Explanation> fault, bool hasDelta = true) : IExplanationStrategy
    {
        private readonly IExplanationStrategy inner = ExplanationStrategies.LayerIntegratedGradients;
        private int calls;

        public string Name => inner.Name;

        public string Description => inner.Description;

        public bool HasConvergenceDelta => hasDelta;

        public Explanation Explain(IInterpretableModel model, PreparedInput input, ExplanationOptions options, CancellationToken cancellationToken = default)
        {
            var explanation = inner.Explain(model, input, options, cancellationToken);
            try
            {
                return fault(calls++, explanation);
            }
            catch
            {
                explanation.Dispose();
                throw;
            }
        }
    }
}
