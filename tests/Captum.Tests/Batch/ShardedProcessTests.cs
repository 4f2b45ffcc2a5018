using System.Diagnostics;
using Captum.Batch;
using Captum.Tests.Plugins.Vqa.Commands;
using Xunit;
using static Captum.Tests.Batch.BatchTestSupport;

namespace Captum.Tests.Batch;

/// <summary>
/// A Kubernetes Indexed Job simulated with real processes of the built captum command, one per completion index,
/// one of them killed (SIGKILL) in the middle of its shard and started again, then merged and compared row by
/// row with a single-process run; and a worker stopped by SIGTERM, as Kubernetes and Slurm stop one.
/// </summary>
public sealed class ShardedProcessTests(ScenesModelFixture scenes) : IClassFixture<ScenesModelFixture>
{
    // Enough examples per shard (row groups of one) that the first part is written well before the shard ends: with
    // 4 per shard a fast machine finished the victim's shard within the poll that was to kill it.
    private const int Count = 32;

    [Fact]
    public async Task IndexedJob_WorkerKilledMidShardAndRestarted_MergesToTheSingleProcessRun()
    {
        using var temp = new TempFolder();
        var job = Path.Combine(temp.Path, "job");
        var (atKill, firstExit, restartedExit, restartedOutput) = await IndexedJobWorker.RunWithShardOneKilledAsync(Arguments(job, Count), job);

        Assert.False(atKill.Complete, "the worker finished its shard before it could be killed");
        Assert.Equal(0, firstExit);
        Assert.Equal(0, restartedExit);
        Assert.Contains($"({atKill.Rows} resumed, {Count / 2 - atKill.Rows} computed, 0 with errors)", restartedOutput);
        var (code, output, error) = BundledCli.Run("merge-results", job, "--out", Path.Combine(temp.Path, "job.parquet"));
        Assert.True(code == 0, output + error);
        Assert.Equal($"rows={Count} shards=2 missing=0", output.TrimEnd().Split('\n')[^1]);

        var single = Path.Combine(temp.Path, "single");
        await Run(single, Spec(Count), ShardAssignment.Single, scenes.Model, new() { RowGroupSize = 3 });
        Assert.Equal(await MergedRows(single, Path.Combine(temp.Path, "single.parquet")), (await DatasetAttribution.ReadPartAsync(Path.Combine(temp.Path, "job.parquet"))).Select(Canonical));
    }

    [Fact]
    public async Task Worker_Terminated_WritesTheExamplesDoneAndExits130()
    {
        using var temp = new TempFolder();
        var firstExample = new TaskCompletionSource();
        var errors = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var worker = Worker(temp.Path, 0, count: 200, stderr: line =>
        {
            errors.Enqueue(line);
            if (line.Contains("examples", StringComparison.Ordinal))
            {
                firstExample.TrySetResult();
            }
        });

        await firstExample.Task.WaitAsync(TimeSpan.FromMinutes(3));
        using (var kill = Process.Start("kill", ["-TERM", $"{worker.Id}"]))
        {
            await kill.WaitForExitAsync();
        }

        await worker.WaitForExitAsync();
        var manifest = ShardManifest.Read(Path.Combine(temp.Path, "shard-00000"))!;

        Assert.Equal(130, worker.ExitCode);
        // The signal handler ran after the work had disposed its token source: an unhandled ObjectDisposedException, exit 134 when it won the race.
        Assert.DoesNotContain(errors, line => line.Contains("Unhandled exception", StringComparison.Ordinal));
        Assert.False(manifest.Complete);
        Assert.True(manifest.Rows >= 1, "the example done before the signal was not written");
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(temp.Path, "shard-00000"), "*.tmp"));
    }

    private static Process Worker(string output, int index, int count = Count, Action<string>? stderr = null) =>
        IndexedJobWorker.Start(Arguments(output, count), index, 2, stderr);

    private static string[] Arguments(string output, int count) =>
        ["attribute-dataset", "--dataset", "scenes", "--count", $"{count}", "--steps", $"{Steps}", "--out", output, "--row-group-size", "1"];
}
