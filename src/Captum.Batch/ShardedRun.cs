using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using Parquet;
using Parquet.Serialization;

namespace Captum.Batch;

/// <summary>
/// A row of a <see cref="ShardedRun"/>: the result of one unit of work (an example, a scene), which it names by its
/// index. Its public properties are its Parquet columns (named as their <c>JsonPropertyName</c>s); implement
/// <see cref="HasError"/> explicitly so that it is no column.
/// </summary>
public interface IShardRow
{
    /// <summary>The unit's index in the run, in [0, count).</summary>
    int Index { get; }

    /// <summary>Whether the row records a unit that failed (it still counts as done); counted in <see cref="ShardPart.Errors"/>.</summary>
    bool HasError { get; }
}

/// <summary>How <see cref="ShardedRun.RunShardAsync"/> writes and reports.</summary>
public sealed record ShardedRunOptions
{
    /// <summary>
    /// Units per part file (one Parquet row group each), written and recorded as soon as they are done (or sooner: see
    /// <see cref="FlushAfter"/>); a worker killed at any moment recomputes at most this many units. Default 16.
    /// </summary>
    public int RowGroupSize { get; init; } = 16;

    /// <summary>
    /// The longest a finished unit waits unwritten: when the oldest unit not yet in a part finished this long ago, the
    /// units done are written as a part even if fewer than <see cref="RowGroupSize"/> (so that a worker killed while
    /// computing slow units loses at most this much finished work). Default 30 seconds; <see cref="Timeout.InfiniteTimeSpan"/>
    /// writes parts by size only.
    /// </summary>
    public TimeSpan FlushAfter { get; init; } = DefaultFlushAfter;

    /// <summary>Receives the shard's progress after every unit.</summary>
    public IProgress<DatasetProgress>? Progress { get; init; }

    /// <summary>The default of <see cref="FlushAfter"/>: 30 seconds.</summary>
    public static TimeSpan DefaultFlushAfter { get; } = TimeSpan.FromSeconds(30);

    /// <summary>Creates a file to write (tests simulate a full disk with it); a new <see cref="FileStream"/> when null.</summary>
    internal Func<string, Stream>? CreateFile { get; init; }

    /// <summary>The clock of <see cref="FlushAfter"/> (tests give a fake one); the system's when null.</summary>
    internal TimeProvider? Time { get; init; }
}

/// <summary>
/// Where the shards of a run's output folder stand (<see cref="ShardedRun.Check"/>): which units are missing, and
/// the complete parts in unit order to read with <see cref="ShardedRun.ReadRowsAsync"/>.
/// </summary>
public sealed class ShardedRunStatus
{
    internal ShardedRunStatus(int count, int shardCount, string units, int present, int missing, IReadOnlyList<string> problems, IReadOnlyList<(string Path, ShardPart Part)> parts)
    {
        (Count, ShardCount, Units, Present, Missing, Problems, Parts) = (count, shardCount, units, present, missing, problems, parts);
    }

    /// <summary>The units' name in messages, plural ("examples", "scenes").</summary>
    public string Units { get; }

    /// <summary>The run's number of units.</summary>
    public int Count { get; }

    /// <summary>The run's number of shards.</summary>
    public int ShardCount { get; }

    /// <summary>Units some complete part holds.</summary>
    public int Present { get; }

    /// <summary>Units no complete part holds.</summary>
    public int Missing { get; }

    /// <summary>Whether every unit of every shard is present.</summary>
    public bool Complete => Missing == 0;

    /// <summary>One line per incomplete shard, naming the missing units (index ranges), e.g. "shard 1: not started, examples 4-7 missing".</summary>
    public IReadOnlyList<string> Problems { get; }

    /// <summary>Rows with an error in the complete parts (<see cref="IShardRow.HasError"/>).</summary>
    public int Errors => Parts.Sum(p => p.Part.Errors);

    /// <summary>The complete parts, shard by shard in unit order: the full path and the manifest's entry.</summary>
    public IReadOnlyList<(string Path, ShardPart Part)> Parts { get; }
}

/// <summary>
/// The engine of a sharded, crash-safe, resumable run: one worker computes its shard (<see cref="ShardAssignment"/>)
/// of <c>count</c> units into an output folder as Parquet part files of rows (any <see cref="IShardRow"/> type);
/// <see cref="Check"/> and <see cref="ReadRowsAsync"/> check that every shard is complete and read the rows
/// back in unit order. <see cref="DatasetAttribution"/> (rows: <see cref="AttributionRow"/>) runs on it, and so
/// can any other per-unit computation.
/// </summary>
/// <remarks>
/// Per shard the output folder holds <c>shard-NNNNN/</c> with part files <c>part-NNNNNNNNN.parquet</c> (one row group
/// of consecutive units each, written to a temporary name, flushed to disk and renamed), <c>manifest.json</c>
/// (<see cref="ShardManifest"/>: the complete parts, replaced atomically after each), and <c>worker.lock</c> (the
/// running worker's claim; a second live worker is refused). A restarted worker keeps every listed part, adopts a
/// renamed part the manifest missed, deletes temporary files, and computes the rest. What the run computes
/// (<c>run.json</c>) is the caller's: record or check it with <see cref="RunSpecFile"/> before
/// <see cref="RunShardAsync"/>.
/// </remarks>
public static partial class ShardedRun
{
    /// <summary>
    /// Refuses an output file that would overwrite one of the run's own files in <paramref name="folder"/>: its
    /// <c>run.json</c> or anything in a <c>shard-NNNNN</c> folder (parts, manifests, locks), which a report or merge
    /// reads and a worker resuming the run writes. Paths are compared after resolving <c>..</c> and symbolic links, so
    /// <c>link-to-folder/run.json</c> is refused too. For a command's check of its outputs before any work (e.g.
    /// <c>merge-results --out</c>, <c>vqa-eval --from F --json</c>).
    /// </summary>
    /// <param name="option">The option that gave the file, without dashes (e.g. "json"); the error names it as "--json".</param>
    /// <param name="file">The output file as the user gave it, or null (nothing to check).</param>
    /// <param name="folder">The run's output folder.</param>
    /// <param name="usedBy">What reads and writes the run's files, for the message (e.g. "merge-results reads and attribute-dataset writes").</param>
    /// <param name="output">What the command writes, for the message (e.g. "the merged file").</param>
    /// <exception cref="ArgumentException">The file is one of the run's own; the message names <paramref name="option"/>, and <see cref="ArgumentException.ParamName"/> is <paramref name="option"/>.</exception>
    public static void CheckNotRunFile(string option, string? file, string folder, string usedBy, string output)
    {
        ArgumentException.ThrowIfNullOrEmpty(option);
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        if (!string.IsNullOrWhiteSpace(file) && FilePaths.Inside(file, folder) is { } relative && IsRunFile(relative))
        {
            throw new ArgumentException(
                $"--{option}: {file} is one of the run's own files in {folder} ({relative}; run.json and the shard-NNNNN folders are what {usedBy}); write {output} elsewhere, e.g. beside them in {folder}.",
                option);
        }
    }

    /// <summary>Whether <paramref name="relative"/>, a path inside a run's folder, is <c>run.json</c> or lies in a shard folder.</summary>
    private static bool IsRunFile(string relative)
    {
        var first = relative.Split(Path.DirectorySeparatorChar)[0];
        return string.Equals(relative, RunSpecFile.FileName, FilePaths.Comparison) || ShardFolder().IsMatch(first);
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^shard-[0-9]{5,}$", System.Text.RegularExpressions.RegexOptions.IgnoreCase)]
    private static partial System.Text.RegularExpressions.Regex ShardFolder();

    /// <summary>
    /// Computes every unit of <paramref name="shard"/> not yet complete in <paramref name="outFolder"/> and records it.
    /// Cancelling writes the units already done, then throws <see cref="OperationCanceledException"/>.
    /// </summary>
    /// <typeparam name="TRow">The row type; <paramref name="compute"/>'s row for unit i must have <see cref="IShardRow.Index"/> i.</typeparam>
    /// <param name="outFolder">The output folder (created when missing).</param>
    /// <param name="shard">This worker's shard.</param>
    /// <param name="count">The run's number of units.</param>
    /// <param name="compute">Computes the row of a unit; an exception other than one it turns into an error row stops the worker (the units done stay written).</param>
    /// <param name="options">Row group size, flush time and progress.</param>
    /// <param name="cancellationToken">Stops the work after writing what is done; also passed to <paramref name="compute"/>.</param>
    /// <exception cref="ArgumentException">The shard index is out of range, the count negative, the row group size below 1, or the flush time not positive.</exception>
    /// <exception cref="InvalidOperationException">Another worker holds the shard, or <paramref name="compute"/> returned a row of another index.</exception>
    /// <exception cref="IOException">A write failed (the parts written before it stay complete and readable).</exception>
    public static async Task<ShardResult> RunShardAsync<TRow>(
        string outFolder,
        ShardAssignment shard,
        int count,
        Func<int, CancellationToken, TRow> compute,
        ShardedRunOptions? options = null,
        CancellationToken cancellationToken = default)
        where TRow : class, IShardRow, new()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(outFolder);
        ArgumentNullException.ThrowIfNull(shard);
        ArgumentNullException.ThrowIfNull(compute);
        options ??= new ShardedRunOptions();
        CheckArguments(shard, count, options.RowGroupSize, options.FlushAfter);
        var folder = Path.Combine(outFolder, shard.FolderName);
        Directory.CreateDirectory(folder);
        using var claim = ShardLock.Acquire(folder, shard);
        var (first, end) = (shard.First(count), shard.End(count));
        var (manifest, damaged) = await RecoverAsync<TRow>(folder, shard, first, end).ConfigureAwait(false);
        var done = new bool[end - first];
        foreach (var part in manifest.Parts)
        {
            Array.Fill(done, true, part.First - first, part.Rows);
        }

        var resumed = manifest.Rows;
        var (computed, errors) = (0, 0);
        var watch = Stopwatch.StartNew();
        var buffer = new List<TRow>(options.RowGroupSize);
        var create = options.CreateFile ?? (path => new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16));
        var time = options.Time ?? TimeProvider.System;

        // The buffer and the manifest are shared with the timer that writes a part when its oldest unit has waited
        // FlushAfter (units are computed on this thread, which libtorch's thread count is set for): the gate guards
        // them, and is not held while a unit is computed.
        using var gate = new SemaphoreSlim(1, 1);
        long oldest = 0; // the time provider's monotonic timestamp of the buffer's oldest unit: a wall clock step moves no age
        ExceptionDispatchInfo? timedFailure = null;
        var stopped = false;
        var writeFailed = false;
        ITimer? timer = null; // set before any unit is computed, so before the local functions use it

        async Task Flush()
        {
            if (buffer.Count == 0)
            {
                return;
            }

            try
            {
                var part = await WritePartAsync(folder, buffer, create).ConfigureAwait(false);
                manifest = manifest with { Parts = [.. manifest.Parts, part] };
                manifest.Write(folder);
            }
            catch
            {
                writeFailed = true;
                throw;
            }

            buffer.Clear();
        }

        // The timer is set when a unit enters an empty buffer; a call for a buffer written since finds it empty, or
        // its oldest unit younger (and the timer set anew for it).
        void FlushIfDue()
        {
            gate.Wait();
            try
            {
                var age = time.GetElapsedTime(oldest);
                if (stopped || buffer.Count == 0 || timedFailure is not null)
                {
                    return;
                }

                if (age >= options.FlushAfter)
                {
                    Flush().GetAwaiter().GetResult();
                }
                else
                {
                    // Clamped to [0, FlushAfter]: a due time beyond the timer's maximum would throw and stop the worker.
                    var due = options.FlushAfter - age;
                    timer?.Change(due < TimeSpan.Zero ? TimeSpan.Zero : due > options.FlushAfter ? options.FlushAfter : due, Timeout.InfiniteTimeSpan);
                }
            }
            catch (Exception ex)
            {
                // A write that fails here (a full disk) stops the worker at its next unit, as a write on its own thread would.
                timedFailure = ExceptionDispatchInfo.Capture(ex);
            }
            finally
            {
                gate.Release();
            }
        }

        async Task Locked(Func<Task> action)
        {
            await gate.WaitAsync().ConfigureAwait(false);
            try
            {
                timedFailure?.Throw();
                await action().ConfigureAwait(false);
            }
            finally
            {
                gate.Release();
            }
        }

        timer = time.CreateTimer(_ => FlushIfDue(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        try
        {
            try
            {
                for (var index = first; index < end; index++)
                {
                    if (done[index - first])
                    {
                        await Locked(Flush).ConfigureAwait(false);
                        continue;
                    }

                    cancellationToken.ThrowIfCancellationRequested();
                    var row = compute(index, cancellationToken);
                    if (row is null || row.Index != index)
                    {
                        throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"the row computed for unit {index} has index {row?.Index.ToString(CultureInfo.InvariantCulture) ?? "none"}."));
                    }

                    await Locked(async () =>
                    {
                        buffer.Add(row);
                        if (buffer.Count == options.RowGroupSize)
                        {
                            await Flush().ConfigureAwait(false);
                        }
                        else if (buffer.Count == 1)
                        {
                            oldest = time.GetTimestamp();
                            timer?.Change(options.FlushAfter, Timeout.InfiniteTimeSpan);
                        }
                    }).ConfigureAwait(false);
                    computed++;
                    errors += row.HasError ? 1 : 0;
                    options.Progress?.Report(new DatasetProgress(shard, resumed + computed, end - first, resumed, watch.Elapsed));
                }
            }
            finally
            {
                // No timed write starts after this, and DisposeAsync waits for a timer call under way.
                await gate.WaitAsync().ConfigureAwait(false);
                stopped = true;
                gate.Release();
                await timer.DisposeAsync().ConfigureAwait(false);
            }

            timedFailure?.Throw();
            await Flush().ConfigureAwait(false);
        }
        catch (Exception) when (writeFailed)
        {
            // A timed write that failed on the timer's thread is the cause to report, not what stopped the loop after it.
            timedFailure?.Throw();
            throw;
        }
        catch (Exception stop)
        {
            // Whatever stops the worker (cancellation, out of memory, a row of another unit), the rows it finished are
            // written first, unless a write is what failed (a full disk: not tried again). A failure of this last write
            // is reported for a cancellation, and gives way to the stopping exception otherwise.
            try
            {
                await Flush().ConfigureAwait(false);
            }
            catch (Exception) when (stop is not OperationCanceledException)
            {
            }

            throw;
        }

        manifest = manifest with { Complete = true };
        manifest.Write(folder);
        return new ShardResult(shard, first, end, resumed, computed, errors, damaged);
    }

    /// <summary>
    /// Refuses what <see cref="RunShardAsync"/> refuses, for a caller that checks before recording its run.json: a
    /// shard index out of range, a negative count, a row group size below 1, a flush time not positive (nor infinite) or
    /// longer than a timer takes (<see cref="MaxFlushAfter"/>).
    /// </summary>
    /// <param name="shard">The worker's shard.</param>
    /// <param name="count">The run's number of units.</param>
    /// <param name="rowGroupSize">Units per part file.</param>
    /// <param name="flushAfter">The run's <see cref="ShardedRunOptions.FlushAfter"/>.</param>
    /// <exception cref="ArgumentException">One of them is out of range; the message says which.</exception>
    public static void CheckArguments(ShardAssignment shard, int count, int rowGroupSize, TimeSpan flushAfter)
    {
        ArgumentNullException.ThrowIfNull(shard);
        if (shard.Index < 0 || shard.Index >= shard.Count)
        {
            throw new ArgumentException($"the shard index {shard.Index} is out of range for {shard.Count} shards: it must be in [0, {shard.Count - 1}].", nameof(shard));
        }

        if (count < 0)
        {
            throw new ArgumentException($"the run's count must be 0 or more, not {count}.", nameof(count));
        }

        if (rowGroupSize < 1)
        {
            throw new ArgumentException($"the row group size must be at least 1, not {rowGroupSize}.", "options");
        }

        if ((flushAfter <= TimeSpan.Zero || flushAfter > MaxFlushAfter) && flushAfter != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"the flush time must be positive and at most 49 days, not {flushAfter.TotalSeconds} s."), "options");
        }
    }

    /// <summary>The longest <see cref="ShardedRunOptions.FlushAfter"/> a timer takes: 2^32 - 2 ms, about 49 days.</summary>
    public static TimeSpan MaxFlushAfter { get; } = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    /// <summary>
    /// The value of a command's <c>--flush-seconds</c> option as a <see cref="ShardedRunOptions.FlushAfter"/>, checked
    /// before the command writes anything.
    /// </summary>
    /// <param name="seconds">The option's value.</param>
    /// <exception cref="ArgumentException">It is below 1 or above <see cref="MaxFlushAfter"/>; the message names --flush-seconds.</exception>
    public static TimeSpan FlushSecondsOption(long seconds) =>
        seconds >= 1 && seconds <= (long)MaxFlushAfter.TotalSeconds
            ? TimeSpan.FromSeconds(seconds)
            : throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"--flush-seconds must be at least 1 and at most {(long)MaxFlushAfter.TotalSeconds} (about 49 days), not {seconds}."), "flush-seconds");

    private static async Task<ShardPart> WritePartAsync<TRow>(string folder, List<TRow> rows, Func<string, Stream> create)
        where TRow : class, IShardRow, new()
    {
        var name = ShardPart.NameFor(rows[0].Index);
        var final = Path.Combine(folder, name);
        var temp = AtomicFile.TempName(final);
        string digest;
        try
        {
            var stream = create(temp);
            await using (stream.ConfigureAwait(false))
            {
                await ParquetSerializer.SerializeAsync(rows, stream, new ParquetOptions { RowGroupSize = rows.Count }).ConfigureAwait(false);
                await stream.FlushAsync().ConfigureAwait(false);
                if (stream is FileStream file)
                {
                    file.Flush(flushToDisk: true);
                }
            }

            digest = ContentDigest.OfPath(temp);
            File.Move(temp, final, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }

        return new ShardPart(name, rows[0].Index, rows.Count, rows.Count(r => r.HasError), digest);
    }

    /// <summary>
    /// The shard folder's manifest after a possible crash: temporary files deleted, listed parts checked to exist and
    /// to be intact (<see cref="IsIntactAsync"/>; a damaged one is deleted, so that its examples are computed again),
    /// a part renamed into place but not yet listed adopted when it reads back whole and fits, otherwise deleted.
    /// </summary>
    private static async Task<(ShardManifest Manifest, int Damaged)> RecoverAsync<TRow>(string folder, ShardAssignment shard, int first, int end)
        where TRow : class, IShardRow, new()
    {
        foreach (var temp in Directory.EnumerateFiles(folder, "*" + AtomicFile.TempSuffix))
        {
            TryDelete(temp);
        }

        var manifest = ShardManifest.Read(folder) ?? new ShardManifest { ShardIndex = shard.Index, ShardCount = shard.Count, First = first, End = end };
        if (manifest.ShardIndex != shard.Index || manifest.First != first || manifest.End != end)
        {
            throw new InvalidDataException($"{Path.Combine(folder, ShardManifest.FileName)} is of shard {manifest.ShardIndex} [{manifest.First}, {manifest.End}), not of {shard} [{first}, {end}).");
        }

        var parts = new List<ShardPart>();
        var damaged = 0;
        foreach (var part in manifest.Parts.Where(p => File.Exists(Path.Combine(folder, p.File))))
        {
            if (await IsIntactAsync<TRow>(Path.Combine(folder, part.File), part).ConfigureAwait(false))
            {
                parts.Add(part);
            }
            else
            {
                TryDelete(Path.Combine(folder, part.File));
                damaged++;
            }
        }

        var listed = parts.Select(p => p.File).ToHashSet(StringComparer.Ordinal);
        foreach (var path in Directory.EnumerateFiles(folder, "part-*.parquet").Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(path);
            if (listed.Contains(name))
            {
                continue;
            }

            var rows = await TryReadAsync<TRow>(path).ConfigureAwait(false);
            var fits = rows is { Count: > 0 }
                && ShardPart.NameFor(rows[0].Index) == name
                && rows.Select((r, i) => r.Index == rows[0].Index + i).All(x => x)
                && rows[0].Index >= first && rows[^1].Index < end
                && !parts.Any(p => p.First <= rows[^1].Index && rows[0].Index < p.First + p.Rows);
            if (fits)
            {
                parts.Add(new ShardPart(name, rows![0].Index, rows.Count, rows.Count(r => r.HasError), ContentDigest.OfPath(path)));
            }
            else
            {
                TryDelete(path);
            }
        }

        var recovered = manifest with { Parts = [.. parts.OrderBy(p => p.First)] };
        recovered = recovered with { Complete = recovered.Missing().Count == 0 };
        if (recovered.Complete != manifest.Complete || !recovered.Parts.SequenceEqual(manifest.Parts) || !File.Exists(Path.Combine(folder, ShardManifest.FileName)))
        {
            recovered.Write(folder);
        }

        return (recovered, damaged);
    }

    /// <summary>
    /// Whether the part file at <paramref name="path"/> is the one its manifest entry describes: the same SHA-256 when
    /// the manifest recorded one, otherwise (older manifests) readable with the consecutive rows it lists.
    /// </summary>
    private static async Task<bool> IsIntactAsync<TRow>(string path, ShardPart part)
        where TRow : class, IShardRow, new()
    {
        if (part.Sha256 is not null)
        {
            return string.Equals(ContentDigest.OfPath(path), part.Sha256, StringComparison.Ordinal);
        }

        var rows = await TryReadAsync<TRow>(path).ConfigureAwait(false);
        return rows is not null && rows.Count == part.Rows && rows.Select((r, i) => r.Index == part.First + i).All(ok => ok);
    }

    /// <summary>The rows of a part file; null when it is not readable as <typeparamref name="TRow"/>s.</summary>
    internal static async Task<IList<TRow>?> TryReadAsync<TRow>(string path)
        where TRow : class, IShardRow, new()
    {
        try
        {
            return await ReadPartAsync<TRow>(path).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or NotSupportedException or ArgumentException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>Reads the rows of a part file (or any Parquet file of <typeparamref name="TRow"/>s).</summary>
    /// <typeparam name="TRow">The row type the file was written with.</typeparam>
    /// <param name="path">The file.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    public static async Task<IList<TRow>> ReadPartAsync<TRow>(string path, CancellationToken cancellationToken = default)
        where TRow : class, new()
    {
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        await using (stream.ConfigureAwait(false))
        {
            return (await ParquetSerializer.DeserializeAsync<TRow>(stream, cancellationToken: cancellationToken).ConfigureAwait(false)).Data;
        }
    }

    /// <summary>
    /// Checks every shard of a run's output folder from the shards' manifests: which units no complete part holds.
    /// Reads no part file.
    /// </summary>
    /// <param name="folder">The run's output folder.</param>
    /// <param name="count">The run's number of units (from its run.json).</param>
    /// <param name="shardCount">The run's number of shards (from its run.json).</param>
    /// <param name="units">The units' name in <see cref="ShardedRunStatus.Problems"/>, plural ("examples", "scenes").</param>
    /// <exception cref="InvalidDataException">A manifest is not readable.</exception>
    public static ShardedRunStatus Check(string folder, int count, int shardCount, string units = "examples")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        ArgumentOutOfRangeException.ThrowIfLessThan(shardCount, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var problems = new List<string>();
        var parts = new List<(string Path, ShardPart Part)>();
        var (missing, present) = (0, 0);
        for (var i = 0; i < shardCount; i++)
        {
            var shard = new ShardAssignment(i, shardCount);
            var (first, end) = (shard.First(count), shard.End(count));
            var shardFolder = Path.Combine(folder, shard.FolderName);
            var manifest = Directory.Exists(shardFolder) ? ShardManifest.Read(shardFolder) : null;
            if (manifest is null)
            {
                if (end > first)
                {
                    problems.Add(string.Create(CultureInfo.InvariantCulture, $"shard {i}: not started, {units} {Ranges([(first, end)])} missing"));
                    missing += end - first;
                }

                continue;
            }

            var existing = manifest with { Parts = [.. manifest.Parts.Where(p => File.Exists(Path.Combine(shardFolder, p.File)))] };
            var gaps = existing.Missing();
            if (gaps.Count > 0)
            {
                var gap = gaps.Sum(g => g.End - g.First);
                problems.Add(string.Create(CultureInfo.InvariantCulture, $"shard {i}: incomplete, {gap} {units} missing: {Ranges(gaps)}"));
                missing += gap;
            }

            present += existing.Rows;
            parts.AddRange(existing.Parts.OrderBy(p => p.First).Select(p => (Path.Combine(shardFolder, p.File), p)));
        }

        return new ShardedRunStatus(count, shardCount, units, present, missing, problems, parts);
    }

    /// <summary>
    /// The rows of a complete run (<see cref="ShardedRunStatus.Complete"/>) in unit order, part by part, each part
    /// checked to hold the consecutive units its manifest says.
    /// </summary>
    /// <typeparam name="TRow">The run's row type.</typeparam>
    /// <param name="status">The run's status from <see cref="Check"/>.</param>
    /// <param name="cancellationToken">Cancels the reading.</param>
    /// <exception cref="ArgumentException">The run is not complete.</exception>
    /// <exception cref="InvalidDataException">A part file is unreadable, does not hold the units its manifest says, or the parts do not add up to the run.</exception>
    public static async IAsyncEnumerable<TRow> ReadRowsAsync<TRow>(ShardedRunStatus status, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        where TRow : class, IShardRow, new()
    {
        ArgumentNullException.ThrowIfNull(status);
        if (!status.Complete)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"the run is incomplete: {status.Missing} {status.Units} missing ({string.Join("; ", status.Problems)})."), nameof(status));
        }

        var next = 0;
        foreach (var (path, part) in status.Parts)
        {
            var rows = await ReadIntactPartAsync<TRow>(path, part, status.Units, cancellationToken).ConfigureAwait(false);
            if (rows.Count != part.Rows || part.First != next || rows.Select((r, i) => r.Index == part.First + i).Any(ok => !ok))
            {
                throw new InvalidDataException(string.Create(
                    CultureInfo.InvariantCulture,
                    $"{path} does not hold {status.Units} {part.First}-{part.First + part.Rows - 1} as its manifest says (or overlaps the part before it, which ended at {next - 1})."));
            }

            next += rows.Count;
            foreach (var row in rows)
            {
                yield return row;
            }
        }

        if (next != status.Count)
        {
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture, $"the parts hold {next} {status.Units}, the run has {status.Count}."));
        }
    }

    /// <summary>The rows of a listed part, refused naming the file and the repair when it is not the file its manifest describes.</summary>
    private static async Task<IList<TRow>> ReadIntactPartAsync<TRow>(string path, ShardPart part, string units, CancellationToken cancellationToken)
        where TRow : class, IShardRow, new()
    {
        var repair = $"run its shard's worker again with the same options: it recomputes damaged parts (their {part.Rows} {units}), then merge again.";
        if (part.Sha256 is not null && !string.Equals(ContentDigest.OfPath(path), part.Sha256, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{path} is damaged: its SHA-256 differs from the one its manifest recorded when it was written; {repair}");
        }

        try
        {
            return await ReadPartAsync<TRow>(path, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or NotSupportedException or ArgumentException or InvalidOperationException && ex is not FileNotFoundException)
        {
            throw new InvalidDataException($"{path} is not readable ({ErrorMessages.OneLine(ex)}); {repair}", ex);
        }
    }

    private static string Ranges(IEnumerable<(int First, int End)> ranges) =>
        string.Join(", ", ranges.Select(r => r.End - r.First == 1
            ? r.First.ToString(CultureInfo.InvariantCulture)
            : string.Create(CultureInfo.InvariantCulture, $"{r.First}-{r.End - 1}")));

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
