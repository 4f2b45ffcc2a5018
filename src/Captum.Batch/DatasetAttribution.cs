using System.Diagnostics;
using System.Globalization;
using Captum.Explain;
using Captum.Plugins;
using Parquet;
using Parquet.Serialization;

namespace Captum.Batch;

/// <summary>How <see cref="DatasetAttribution.RunShardAsync"/> writes and reports.</summary>
public sealed record DatasetAttributionOptions
{
    /// <summary>
    /// Examples per part file (one Parquet row group each), written and recorded as soon as they are done; a
    /// worker killed at any moment recomputes at most this many examples. Default 16.
    /// </summary>
    public int RowGroupSize { get; init; } = 16;

    /// <summary>Receives the shard's progress after every example.</summary>
    public IProgress<DatasetProgress>? Progress { get; init; }

    /// <summary>Creates a file to write (tests simulate a full disk with it); a new <see cref="FileStream"/> when null.</summary>
    internal Func<string, Stream>? CreateFile { get; init; }
}

/// <summary>Where a shard's work stands.</summary>
/// <param name="Shard">The shard.</param>
/// <param name="Done">Examples of the shard complete (resumed ones included).</param>
/// <param name="Total">Examples of the shard.</param>
/// <param name="Resumed">Examples found complete when the worker started.</param>
/// <param name="Elapsed">Time since the worker started on the shard.</param>
public sealed record DatasetProgress(ShardAssignment Shard, int Done, int Total, int Resumed, TimeSpan Elapsed)
{
    /// <summary>Examples computed per second by this worker (resumed ones not counted); 0 before the first.</summary>
    public double Rate => Elapsed.TotalSeconds > 0 ? (Done - Resumed) / Elapsed.TotalSeconds : 0;

    /// <summary>The time the rest of the shard should take at <see cref="Rate"/>; null before the first example.</summary>
    public TimeSpan? Remaining => Rate > 0 ? TimeSpan.FromSeconds((Total - Done) / Rate) : null;

    /// <inheritdoc />
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"{Shard}: {Done}/{Total} examples ({Resumed} resumed), {Rate:0.00} examples/s, {(Remaining is { } r ? $"{r.TotalSeconds:0}s left" : "time left unknown")}");
}

/// <summary>What a worker did with its shard.</summary>
/// <param name="Shard">The shard.</param>
/// <param name="First">The shard's first example.</param>
/// <param name="End">One past its last example.</param>
/// <param name="Resumed">Examples found complete when it started.</param>
/// <param name="Computed">Examples it computed.</param>
/// <param name="Errors">Rows it wrote with an error.</param>
public sealed record ShardResult(ShardAssignment Shard, int First, int End, int Resumed, int Computed, int Errors);

/// <summary>
/// Attribution over whole datasets: one worker attributes its shard of a dataset (<see cref="ShardAssignment"/>)
/// into an output folder, crash-safe and resumable; <see cref="ResultMerger"/> joins the shards.
/// </summary>
/// <remarks>
/// The folder holds <c>run.json</c> (the <see cref="AttributionRunSpec"/>; every worker checks it matches) and per
/// shard <c>shard-NNNNN/</c> with part files <c>part-NNNNNNNNN.parquet</c> (one row group of consecutive examples
/// each, written to a temporary name, flushed to disk and renamed), <c>manifest.json</c> (the complete parts,
/// replaced atomically after each), and <c>worker.lock</c> (the running worker's claim). A restarted worker keeps
/// every listed part, adopts a renamed part the manifest missed, deletes temporary files, and computes the rest.
/// </remarks>
public static class DatasetAttribution
{
    /// <summary>
    /// Attributes every example of <paramref name="shard"/> not yet complete in <paramref name="outFolder"/> and
    /// records it. Cancelling writes the examples already done, then throws <see cref="OperationCanceledException"/>.
    /// </summary>
    /// <param name="outFolder">The output folder (created when missing).</param>
    /// <param name="spec">What the run computes; recorded in (or checked against) the folder's run.json.</param>
    /// <param name="shard">This worker's shard; its count must be <paramref name="spec"/>'s.</param>
    /// <param name="dataset">The opened dataset (at least <see cref="AttributionRunSpec.Count"/> examples).</param>
    /// <param name="model">The model the dataset's raw inputs are for.</param>
    /// <param name="strategy">The explanation method, named <see cref="AttributionRunSpec.Method"/>.</param>
    /// <param name="options">Row group size and progress.</param>
    /// <param name="cancellationToken">Stops the work after writing what is done.</param>
    /// <exception cref="ArgumentException">The arguments do not fit together, or the folder holds another run (the message names the difference).</exception>
    /// <exception cref="InvalidOperationException">Another worker holds the shard.</exception>
    /// <exception cref="IOException">A write failed (the parts written before it stay complete and readable).</exception>
    public static async Task<ShardResult> RunShardAsync(
        string outFolder,
        AttributionRunSpec spec,
        ShardAssignment shard,
        IExampleDataset dataset,
        IInterpretableModel model,
        IExplanationStrategy strategy,
        DatasetAttributionOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(outFolder);
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(shard);
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(strategy);
        options ??= new DatasetAttributionOptions();
        Check(spec, shard, dataset, strategy, options);
        spec.RecordOrCheck(outFolder);
        var folder = Path.Combine(outFolder, shard.FolderName);
        Directory.CreateDirectory(folder);
        using var claim = ShardLock.Acquire(folder, shard);
        var (first, end) = (shard.First(spec.Count), shard.End(spec.Count));
        var manifest = await RecoverAsync(folder, shard, first, end).ConfigureAwait(false);
        var done = new bool[end - first];
        foreach (var part in manifest.Parts)
        {
            Array.Fill(done, true, part.First - first, part.Rows);
        }

        var resumed = manifest.Rows;
        var (computed, errors) = (0, 0);
        var watch = Stopwatch.StartNew();
        var buffer = new List<AttributionRow>(options.RowGroupSize);
        var create = options.CreateFile ?? (path => new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16));

        async Task Flush()
        {
            if (buffer.Count == 0)
            {
                return;
            }

            var part = await WritePartAsync(folder, buffer, create).ConfigureAwait(false);
            manifest = manifest with { Parts = [.. manifest.Parts, part] };
            manifest.Write(folder);
            buffer.Clear();
        }

        try
        {
            for (var index = first; index < end; index++)
            {
                if (done[index - first])
                {
                    await Flush().ConfigureAwait(false);
                    continue;
                }

                cancellationToken.ThrowIfCancellationRequested();
                var row = Attribute(index, dataset, model, strategy, spec, cancellationToken);
                buffer.Add(row);
                computed++;
                errors += row.Error is null ? 0 : 1;
                if (buffer.Count == options.RowGroupSize)
                {
                    await Flush().ConfigureAwait(false);
                }

                options.Progress?.Report(new DatasetProgress(shard, resumed + computed, end - first, resumed, watch.Elapsed));
            }

            await Flush().ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            await Flush().ConfigureAwait(false);
            throw;
        }

        manifest = manifest with { Complete = true };
        manifest.Write(folder);
        return new ShardResult(shard, first, end, resumed, computed, errors);
    }

    private static void Check(AttributionRunSpec spec, ShardAssignment shard, IExampleDataset dataset, IExplanationStrategy strategy, DatasetAttributionOptions options)
    {
        if (shard.Count != spec.ShardCount)
        {
            throw new ArgumentException($"the shard count is {shard.Count}, but the run is split into {spec.ShardCount}.", nameof(shard));
        }

        if (shard.Index < 0 || shard.Index >= shard.Count)
        {
            throw new ArgumentException($"the shard index {shard.Index} is out of range for {shard.Count} shards: it must be in [0, {shard.Count - 1}].", nameof(shard));
        }

        if (spec.Count < 0 || spec.Count > dataset.Count)
        {
            throw new ArgumentException($"the run has {spec.Count} examples, the dataset {dataset.Count}.", nameof(spec));
        }

        if (!string.Equals(strategy.Name, spec.Method, StringComparison.Ordinal))
        {
            throw new ArgumentException($"the method is '{strategy.Name}', the run's '{spec.Method}'.", nameof(strategy));
        }

        if (options.RowGroupSize < 1)
        {
            throw new ArgumentException($"the row group size must be at least 1, not {options.RowGroupSize}.", nameof(options));
        }

        if (spec.Steps < 1 || spec.Grid < 1 || spec.InternalBatchSize is < 1)
        {
            throw new ArgumentException("steps, grid and internal batch size must be at least 1.", nameof(spec));
        }
    }

    /// <summary>
    /// Attributes example <paramref name="index"/> into a row. An example the model cannot take (a missing image, a
    /// bad value) gets a row with <see cref="AttributionRow.Error"/>; cancellation and anything unexpected propagate.
    /// </summary>
    public static AttributionRow Attribute(int index, IExampleDataset dataset, IInterpretableModel model, IExplanationStrategy strategy, AttributionRunSpec spec, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(strategy);
        ArgumentNullException.ThrowIfNull(spec);
        var row = new AttributionRow { Index = index, ExampleId = "#" + index.ToString(CultureInfo.InvariantCulture), Steps = spec.Steps };
        var watch = Stopwatch.StartNew();
        try
        {
            var example = dataset.Get(index);
            row.ExampleId = example.Id;
            row.ExpectedLabel = example.ExpectedLabel;
            row.Annotations = [.. example.Annotations.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => a.Key + "=" + a.Value)];
            long? target = null;
            if (spec.Target == TargetChoice.Expected)
            {
                var label = example.ExpectedLabel ?? throw new ArgumentException($"example {example.Id} has no expected label to explain.");
                var found = IndexOf(model.Labels, label);
                target = found >= 0 ? found : throw new ArgumentException($"example {example.Id}'s expected label '{label}' is not one of the model's labels.");
            }

            using var scope = torch.NewDisposeScope();
            var prepared = model.Prepare(example.Inputs);
            using var explanation = strategy.Explain(
                model,
                prepared,
                new ExplanationOptions { Steps = spec.Steps, InternalBatchSize = spec.InternalBatchSize, Target = target },
                cancellationToken);
            row.PredictionIndex = explanation.PredictedIndex;
            row.Prediction = explanation.PredictedIndex < model.Labels.Count ? model.Labels[(int)explanation.PredictedIndex] : $"#{explanation.PredictedIndex}";
            row.Target = explanation.Label;
            row.TargetIndex = explanation.LabelIndex;
            row.Probability = explanation.Probability;
            row.Delta = double.IsNaN(explanation.Delta) ? null : explanation.Delta;
            row.Inputs = [.. ExplanationSummaries.Of(model, explanation, spec.Grid).Select(s => new InputSummaryRow
            {
                Input = s.Input,
                Kind = s.Kind,
                Labels = [.. s.Labels],
                Scores = [.. s.Scores],
                Rows = s.Rows,
                Columns = s.Columns,
                Contribution = s.Contribution,
            })];
        }
        catch (Exception ex) when (ex is ArgumentException or IOException or InvalidDataException or NotSupportedException or UnauthorizedAccessException)
        {
            row.Error = ex.Message.ReplaceLineEndings(" ");
        }

        row.TimeMs = watch.Elapsed.TotalMilliseconds;
        return row;
    }

    private static int IndexOf(IReadOnlyList<string> labels, string label)
    {
        for (var i = 0; i < labels.Count; i++)
        {
            if (string.Equals(labels[i], label, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    private static async Task<ShardPart> WritePartAsync(string folder, List<AttributionRow> rows, Func<string, Stream> create)
    {
        var name = ShardPart.NameFor(rows[0].Index);
        var final = Path.Combine(folder, name);
        var temp = AtomicFile.TempName(final);
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

            File.Move(temp, final, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }

        return new ShardPart(name, rows[0].Index, rows.Count, rows.Count(r => r.Error is not null));
    }

    /// <summary>
    /// The shard folder's manifest after a possible crash: temporary files deleted, listed parts checked to exist,
    /// a part renamed into place but not yet listed adopted when it reads back whole and fits, otherwise deleted.
    /// </summary>
    private static async Task<ShardManifest> RecoverAsync(string folder, ShardAssignment shard, int first, int end)
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

        var parts = manifest.Parts.Where(p => File.Exists(Path.Combine(folder, p.File))).ToList();
        var listed = parts.Select(p => p.File).ToHashSet(StringComparer.Ordinal);
        foreach (var path in Directory.EnumerateFiles(folder, "part-*.parquet").Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(path);
            if (listed.Contains(name))
            {
                continue;
            }

            var rows = await TryReadAsync(path).ConfigureAwait(false);
            var fits = rows is { Count: > 0 }
                && ShardPart.NameFor(rows[0].Index) == name
                && rows.Select((r, i) => r.Index == rows[0].Index + i).All(x => x)
                && rows[0].Index >= first && rows[^1].Index < end
                && !parts.Any(p => p.First <= rows[^1].Index && rows[0].Index < p.First + p.Rows);
            if (fits)
            {
                parts.Add(new ShardPart(name, rows![0].Index, rows.Count, rows.Count(r => r.Error is not null)));
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

        return recovered;
    }

    internal static async Task<IList<AttributionRow>?> TryReadAsync(string path)
    {
        try
        {
            return await ReadPartAsync(path).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or NotSupportedException or ArgumentException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>Reads the rows of a part file (or any file of <see cref="AttributionRow"/>s).</summary>
    public static async Task<IList<AttributionRow>> ReadPartAsync(string path, CancellationToken cancellationToken = default)
    {
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        await using (stream.ConfigureAwait(false))
        {
            return (await ParquetSerializer.DeserializeAsync<AttributionRow>(stream, cancellationToken: cancellationToken).ConfigureAwait(false)).Data;
        }
    }

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
