using System.Text.Json.Serialization;
using Captum.Batch;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Captum.Tests.Batch;

/// <summary>The shard engine with a row type of its own (no model): shards, resume, completeness, order, refusals.</summary>
public sealed class ShardedRunTests
{
    [Fact]
    public async Task RunShardAsync_OwnRowTypeInThreeShards_ReadsBackEveryUnitOnceInOrder()
    {
        using var temp = new TempFolder();
        var computed = new List<int>();

        for (var i = 0; i < 3; i++)
        {
            await ShardedRun.RunShardAsync(temp.Path, new ShardAssignment(i, 3), 7, (index, _) =>
            {
                computed.Add(index);
                return Square(index);
            }, new() { RowGroupSize = 2 });
        }

        var status = ShardedRun.Check(temp.Path, 7, 3, "numbers");
        var rows = new List<SquareRow>();
        await foreach (var row in ShardedRun.ReadRowsAsync<SquareRow>(status))
        {
            rows.Add(row);
        }

        Assert.True(status.Complete);
        Assert.Equal(1, status.Errors);
        Assert.Equal(Enumerable.Range(0, 7), computed);
        Assert.Equal(Enumerable.Range(0, 7).Select(i => (i, (long)i * i)), rows.Select(r => (r.Index, r.Square)));
        Assert.Equal(["three is unlucky"], rows.Where(r => r.Error is not null).Select(r => r.Error));
    }

    [Fact]
    public async Task RunShardAsync_RunAgainAfterCompletion_ComputesNothing()
    {
        using var temp = new TempFolder();
        await ShardedRun.RunShardAsync(temp.Path, ShardAssignment.Single, 3, (index, _) => Square(index));

        var again = await ShardedRun.RunShardAsync<SquareRow>(temp.Path, ShardAssignment.Single, 3, (_, _) => throw new InvalidOperationException("recomputed"));

        Assert.Equal((3, 0), (again.Resumed, again.Computed));
    }

    [Fact]
    public async Task Check_OneShardOfTwoMissing_NamesItsUnitsAndReadRowsRefuses()
    {
        using var temp = new TempFolder();
        await ShardedRun.RunShardAsync(temp.Path, new ShardAssignment(0, 2), 4, (index, _) => Square(index));

        var status = ShardedRun.Check(temp.Path, 4, 2, "numbers");

        Assert.False(status.Complete);
        Assert.Equal((2, 2), (status.Present, status.Missing));
        Assert.Equal("shard 1: not started, numbers 2-3 missing", Assert.Single(status.Problems));
        await Assert.ThrowsAsync<ArgumentException>(async () =>
        {
            await foreach (var _ in ShardedRun.ReadRowsAsync<SquareRow>(status))
            {
            }
        });
    }

    [Fact]
    public async Task RunShardAsync_RowOfAnotherIndex_ThrowsAndKeepsTheRowsBefore()
    {
        using var temp = new TempFolder();

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            ShardedRun.RunShardAsync(temp.Path, ShardAssignment.Single, 3, (index, _) => Square(index == 1 ? 2 : index), new() { RowGroupSize = 1 }));

        Assert.Contains("unit 1 has index 2", ex.Message, StringComparison.Ordinal);
        Assert.Equal(1, ShardManifest.Read(Path.Combine(temp.Path, "shard-00000"))!.Rows);
    }

    [Fact]
    public async Task RunShardAsync_ShardIndexOutOfRange_ThrowsBeforeWriting()
    {
        using var temp = new TempFolder();

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => ShardedRun.RunShardAsync(temp.Path, new ShardAssignment(2, 2), 3, (index, _) => Square(index)));

        Assert.Equal("shard", ex.ParamName);
        Assert.Empty(Directory.EnumerateFileSystemEntries(temp.Path));
    }

    [Theory]
    [InlineData(100)] // truncated: not a Parquet file any more
    [InlineData(-1)] // one byte changed in the middle: still Parquet, other contents
    public async Task ReadRowsAndResume_PartDamagedAfterWriting_MergeNamesTheFileAndAResumeComputesItsUnitsAgain(int truncateTo)
    {
        using var temp = new TempFolder();
        await ShardedRun.RunShardAsync(temp.Path, ShardAssignment.Single, 6, (index, _) => Square(index), new() { RowGroupSize = 2 });
        var part = Path.Combine(temp.Path, ShardAssignment.Single.FolderName, ShardPart.NameFor(2));
        Damage(part, truncateTo);

        var status = ShardedRun.Check(temp.Path, 6, 1, "numbers");
        var ex = await Assert.ThrowsAsync<InvalidDataException>(async () =>
        {
            await foreach (var _ in ShardedRun.ReadRowsAsync<SquareRow>(status))
            {
            }
        });
        Assert.Contains(part, ex.Message, StringComparison.Ordinal);
        Assert.Contains("run its shard's worker again", ex.Message, StringComparison.Ordinal);

        var recomputed = new List<int>();
        var resumed = await ShardedRun.RunShardAsync(temp.Path, ShardAssignment.Single, 6, (index, _) =>
        {
            recomputed.Add(index);
            return Square(index);
        }, new() { RowGroupSize = 2 });
        Assert.Equal([2, 3], recomputed);
        Assert.Equal((4, 2, 1), (resumed.Resumed, resumed.Computed, resumed.DamagedParts));
        var rows = new List<SquareRow>();
        await foreach (var row in ShardedRun.ReadRowsAsync<SquareRow>(ShardedRun.Check(temp.Path, 6, 1, "numbers")))
        {
            rows.Add(row);
        }

        Assert.Equal(Enumerable.Range(0, 6).Select(i => (long)i * i), rows.Select(r => r.Square));
    }

    [Theory]
    [InlineData(true)] // an absolute path: Path.Combine would give it as it is
    [InlineData(false)] // a name climbing out of the shard's folder
    public async Task ResumeAndCheck_ManifestListingAFileOutsideItsPartFiles_AreRefusedAndTheFileIsLeftAlone(bool absolute)
    {
        using var temp = new TempFolder();
        await ShardedRun.RunShardAsync(temp.Path, ShardAssignment.Single, 6, (index, _) => Square(index), new() { RowGroupSize = 2 });
        var victim = Path.Combine(temp.Path, "precious.txt");
        File.WriteAllText(victim, "mine");
        var shardFolder = Path.Combine(temp.Path, ShardAssignment.Single.FolderName);
        var manifest = ShardManifest.Read(shardFolder)!;
        (manifest with { Parts = [.. manifest.Parts, new ShardPart(absolute ? victim : "../precious.txt", 6, 1, 0, new string('0', 64))] }).Write(shardFolder);

        var resume = await Assert.ThrowsAsync<InvalidDataException>(() =>
            ShardedRun.RunShardAsync(temp.Path, ShardAssignment.Single, 6, (index, _) => Square(index), new() { RowGroupSize = 2 }));
        var check = Assert.Throws<InvalidDataException>(() => ShardedRun.Check(temp.Path, 6, 1, "numbers"));

        Assert.All([resume, check], ex => Assert.Contains("which is not the part file of example 6 (part-000000006.parquet)", ex.Message, StringComparison.Ordinal));
        Assert.Equal("mine", File.ReadAllText(victim));
    }

    [Theory]
    [InlineData(4, 4, "lies outside the shard's [0, 6)")]
    [InlineData(1, 1, "overlaps another part")]
    public async Task Check_ManifestListingAPartOutsideTheShardOrOverlappingAnother_IsRefusedAsDamaged(int first, int rows, string why)
    {
        using var temp = new TempFolder();
        await ShardedRun.RunShardAsync(temp.Path, ShardAssignment.Single, 6, (index, _) => Square(index), new() { RowGroupSize = 2 });
        var shardFolder = Path.Combine(temp.Path, ShardAssignment.Single.FolderName);
        var manifest = ShardManifest.Read(shardFolder)!;
        var edited = manifest.Parts.Select(p => p.First == 4 ? p with { First = first, Rows = rows, File = ShardPart.NameFor(first) } : p).ToList();
        (manifest with { Parts = edited }).Write(shardFolder);

        var ex = Assert.Throws<InvalidDataException>(() => ShardedRun.Check(temp.Path, 6, 1, "numbers"));

        Assert.Contains($"examples [{first}, {first + rows}), which {why}", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(30, new[] { 0 })] // unit 0 waited the flush time while unit 1 ran: written before the worker died
    [InlineData(29, new int[0])] // not yet: kept for its row group of 16, and lost with the worker
    public async Task RunShardAsync_WorkerDiesAfterASlowUnit_HasWrittenTheUnitsThatWaitedFlushAfter(int slowSeconds, int[] written)
    {
        using var temp = new TempFolder();
        var clock = new FakeTimeProvider();

        // Unit 1 takes slowSeconds while unit 0 waits unwritten; the worker is then killed during unit 2.
        var rows = await WrittenWhenKilledDuringUnit(
            temp.Path, 2, index => clock.Advance(index == 1 ? TimeSpan.FromSeconds(slowSeconds) : TimeSpan.Zero), new() { RowGroupSize = 16, FlushAfter = TimeSpan.FromSeconds(30), Time = clock });

        Assert.Equal(written, rows);
    }

    [Fact]
    public async Task RunShardAsync_WallClockStepsBack50DaysDuringASlowUnit_WritesTheUnitThatWaitedFlushAfter()
    {
        using var temp = new TempFolder();
        var clock = new SteppingWallClock();

        // Unit 1 takes 30 s of monotonic time, during which the wall clock is set back 50 days; the worker is then killed during unit 2.
        var rows = await WrittenWhenKilledDuringUnit(
            temp.Path,
            2,
            index =>
            {
                if (index == 1)
                {
                    clock.WallStep = TimeSpan.FromDays(-50);
                    clock.Advance(TimeSpan.FromSeconds(30));
                }
            },
            new() { RowGroupSize = 16, FlushAfter = TimeSpan.FromSeconds(30), Time = clock });

        Assert.Equal([0], rows);
    }

    [Fact]
    public async Task RunShardAsync_UnitThrows_WritesTheFinishedUnitsOfItsRowGroupBeforeStopping()
    {
        using var temp = new TempFolder();

        // Units 0 and 1 wait for a row group of 16 when unit 2 fails (out of memory, a bug): they are not lost with it.
        await Assert.ThrowsAsync<InvalidOperationException>(() => ShardedRun.RunShardAsync(
            temp.Path, ShardAssignment.Single, 6, (index, _) => index == 2 ? throw new InvalidOperationException("failed") : Square(index), new() { RowGroupSize = 16 }));

        Assert.Equal([0, 1], await WrittenIndexes(temp.Path));
        Assert.False(ShardManifest.Read(Path.Combine(temp.Path, ShardAssignment.Single.FolderName))!.Complete);
    }

    /// <summary>
    /// What a worker killed during unit <paramref name="dying"/> leaves written (kill -9 runs no handler): the units on
    /// disk when it starts that unit. <paramref name="beforeUnit"/> runs first in every unit.
    /// </summary>
    private static async Task<List<int>> WrittenWhenKilledDuringUnit(string outFolder, int dying, Action<int> beforeUnit, ShardedRunOptions options)
    {
        using var reached = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        using var cancel = new CancellationTokenSource();
        var run = Task.Run(() => ShardedRun.RunShardAsync(outFolder, ShardAssignment.Single, 6, (index, token) =>
        {
            beforeUnit(index);
            if (index == dying)
            {
                reached.Set();
                release.Wait(CancellationToken.None);
                token.ThrowIfCancellationRequested();
            }

            return Square(index);
        }, options, cancel.Token));
        Assert.True(reached.Wait(TimeSpan.FromSeconds(60)), $"the worker never reached unit {dying}");

        var written = await WrittenIndexes(outFolder);

        await cancel.CancelAsync();
        release.Set();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        return written;
    }

    /// <summary>The indexes of the units the single shard's parts hold, in order.</summary>
    private static async Task<List<int>> WrittenIndexes(string outFolder)
    {
        var folder = Path.Combine(outFolder, ShardAssignment.Single.FolderName);
        var rows = new List<int>();
        foreach (var part in ShardManifest.Read(folder)!.Parts)
        {
            rows.AddRange((await ShardedRun.ReadPartAsync<SquareRow>(Path.Combine(folder, part.File))).Select(r => r.Index));
        }

        return rows;
    }

    /// <summary>A fake clock whose wall time (GetUtcNow) can be stepped apart from its monotonic time and its timers.</summary>
    private sealed class SteppingWallClock : FakeTimeProvider
    {
        private long elapsedTicks;

        public TimeSpan WallStep { get; set; }

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + WallStep;

        public override long GetTimestamp() => elapsedTicks;

        public new void Advance(TimeSpan delta)
        {
            elapsedTicks += delta.Ticks;
            base.Advance(delta);
        }
    }

    [Fact]
    public async Task RunShardAsync_TimedWriteFails_StopsTheWorkerWithTheWriteError()
    {
        using var temp = new TempFolder();
        var clock = new FakeTimeProvider();
        var computed = new List<int>();

        var ex = await Assert.ThrowsAsync<IOException>(() => ShardedRun.RunShardAsync(temp.Path, ShardAssignment.Single, 6, (index, _) =>
        {
            computed.Add(index);
            clock.Advance(index == 1 ? TimeSpan.FromSeconds(30) : TimeSpan.Zero);
            return Square(index);
        }, new() { RowGroupSize = 16, FlushAfter = TimeSpan.FromSeconds(30), Time = clock, CreateFile = _ => throw new IOException("disk full") }));

        Assert.Equal("disk full", ex.Message);
        Assert.Equal([0, 1], computed);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    public async Task RunShardAsync_FlushAfterNotPositive_ThrowsBeforeWriting(int seconds)
    {
        using var temp = new TempFolder();

        var ex = await Assert.ThrowsAsync<ArgumentException>(() =>
            ShardedRun.RunShardAsync(temp.Path, ShardAssignment.Single, 3, (index, _) => Square(index), new() { FlushAfter = TimeSpan.FromSeconds(seconds) }));

        Assert.Contains("flush time must be positive", ex.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(temp.Path));
    }

    [Fact]
    public void Describe_ShardWithNoUnits_SaysSoInsteadOfAnEmptyRange()
    {
        var result = new ShardResult(new ShardAssignment(3, 4), 2, 2, 0, 0, 0);

        Assert.Equal("shard 3 of 4: no examples (the run has fewer examples than shards), complete", result.Describe());
        Assert.Equal("shard 3 of 4: scenes 2-5 complete (1 resumed, 3 computed, 1 damaged part found and computed again)", (result with { End = 6, Resumed = 1, Computed = 3, DamagedParts = 1 }).Describe("scenes", withErrors: false));
    }

    /// <summary>Truncates the file to <paramref name="length"/> bytes, or with -1 flips the bits of its middle byte.</summary>
    private static void Damage(string path, int length)
    {
        if (length >= 0)
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Write);
            stream.SetLength(length);
            return;
        }

        var bytes = File.ReadAllBytes(path);
        bytes[bytes.Length / 2] ^= 0xFF;
        File.WriteAllBytes(path, bytes);
    }

    private static SquareRow Square(int index) => new() { Index = index, Square = (long)index * index, Error = index == 3 ? "three is unlucky" : null };

    public sealed class SquareRow : IShardRow
    {
        [JsonPropertyName("index")]
        public int Index { get; set; }

        [JsonPropertyName("square")]
        public long Square { get; set; }

        [JsonPropertyName("error")]
        public string? Error { get; set; }

        bool IShardRow.HasError => Error is not null;
    }
}
