using System.Globalization;
using System.Text.Json;
using Parquet;
using Parquet.Serialization;

namespace Captum.Batch;

/// <summary>What <see cref="ResultMerger.MergeAsync"/> found and did.</summary>
/// <param name="Rows">Rows present (all of them when nothing is missing).</param>
/// <param name="Shards">The run's shard count.</param>
/// <param name="Missing">Examples no complete part holds.</param>
/// <param name="Problems">One line per incomplete shard, naming the missing examples (index ranges).</param>
/// <param name="Errors">Rows with an error (examples the model could not take; they count as present).</param>
public sealed record MergeReport(int Rows, int Shards, int Missing, IReadOnlyList<string> Problems, int Errors)
{
    /// <summary>Whether every example of every shard is present (and the merged file was written).</summary>
    public bool Complete => Missing == 0;

    /// <summary>The closing line: <c>rows=N shards=K missing=M</c>.</summary>
    public string Summary => string.Create(CultureInfo.InvariantCulture, $"rows={Rows} shards={Shards} missing={Missing}");
}

/// <summary>
/// Joins the shards of an attribute-dataset output folder into one Parquet file (rows in example order), after
/// checking that every shard is complete, and optionally writes the rows as JSON for tools without Parquet.
/// </summary>
public static class ResultMerger
{
    /// <summary>Rows per row group of the merged file.</summary>
    public const int MergedRowGroupSize = 8192;

    /// <summary>
    /// Checks every shard of <paramref name="folder"/> and, when none misses an example, writes the merged Parquet
    /// file (and the JSON file), each through a temporary name and a rename, making their folders when they are not
    /// there yet. When examples are missing nothing is written, no folder is made, and the report lists them.
    /// </summary>
    /// <param name="folder">The output folder of <c>captum attribute-dataset</c>.</param>
    /// <param name="outFile">The merged Parquet file.</param>
    /// <param name="jsonFile">Also the rows as JSON, <c>{"rows": [{"exampleId", "index", "prediction", "probability", "target", "delta", "error"}]}</c>; null for none.</param>
    /// <param name="cancellationToken">Cancels the merge (nothing is written then).</param>
    /// <exception cref="ArgumentException">The folder is not an output folder of attribute-dataset, or the files collide (<see cref="CheckOutputs"/>).</exception>
    /// <exception cref="InvalidDataException">A part file is unreadable or does not hold the examples its manifest says, or a shard was computed for another run than run.json records (other model files; the message names each difference).</exception>
    public static async Task<MergeReport> MergeAsync(string folder, string outFile, string? jsonFile = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        ArgumentException.ThrowIfNullOrWhiteSpace(outFile);
        if (!Directory.Exists(folder))
        {
            throw new ArgumentException($"folder not found: {folder}", nameof(folder));
        }

        if (File.Exists(Path.Combine(folder, ShardManifest.FileName)) && Path.GetDirectoryName(Path.GetFullPath(folder).TrimEnd(Path.DirectorySeparatorChar)) is { } run
            && File.Exists(Path.Combine(run, AttributionRunSpec.FileName)))
        {
            // A shard's folder holds a copy of run.json too; merged alone it would look like a run with nothing done.
            throw new ArgumentException($"{folder} is one shard's folder of the run in {run}: merge the run's folder, {run}.", nameof(folder));
        }

        CheckOutputs(folder, outFile, jsonFile);
        var spec = AttributionRunSpec.Read(folder);
        CheckShardsAreOf(spec, folder);
        var status = ShardedRun.Check(folder, spec.Count, spec.ShardCount);
        if (!status.Complete)
        {
            return new MergeReport(status.Present, spec.ShardCount, status.Missing, status.Problems, status.Errors);
        }

        var errors = await WriteAsync(status, outFile, jsonFile, cancellationToken).ConfigureAwait(false);
        return new MergeReport(spec.Count, spec.ShardCount, 0, status.Problems, errors);
    }

    /// <summary>
    /// Refuses, before any shard is read, merged files that would overwrite what the merge needs: <paramref name="jsonFile"/>
    /// the same file as <paramref name="outFile"/> (the JSON would replace the Parquet file), or either of them one of the
    /// run's own files in <paramref name="folder"/>: its <c>run.json</c> or anything in a <c>shard-NNNNN</c> folder
    /// (parts, manifests, locks), which the merge reads and a worker resuming the run writes. Paths are compared after
    /// resolving <c>..</c> and symbolic links. Errors name the files as captum merge-results' options do.
    /// </summary>
    /// <param name="folder">The output folder of <c>captum attribute-dataset</c>.</param>
    /// <param name="outFile">The merged Parquet file (<c>--out</c>).</param>
    /// <param name="jsonFile">The JSON file (<c>--json</c>), or null.</param>
    /// <exception cref="ArgumentException">They collide; the message names <c>--out</c> or <c>--json</c> (both when they are one file), and <see cref="ArgumentException.ParamName"/> is <c>out</c> or <c>json</c>.</exception>
    public static void CheckOutputs(string folder, string outFile, string? jsonFile)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        ArgumentException.ThrowIfNullOrWhiteSpace(outFile);
        if (jsonFile is not null && FilePaths.Same(outFile, jsonFile))
        {
            throw new ArgumentException($"--json: {jsonFile} is the same file as --out ({outFile}): the JSON would replace the merged Parquet file; give each its own file.", "json");
        }

        foreach (var (option, file) in new[] { ("out", outFile), ("json", jsonFile) })
        {
            ShardedRun.CheckNotRunFile(option, file, folder, "merge-results reads and attribute-dataset writes", "the merged file");
        }
    }

    /// <summary>Refuses a shard whose parts were computed for another run than run.json records (<see cref="AttributionRunSpec.RecordOrCheckShard"/>).</summary>
    private static void CheckShardsAreOf(AttributionRunSpec spec, string folder)
    {
        for (var i = 0; i < spec.ShardCount; i++)
        {
            var shardFolder = Path.Combine(folder, new ShardAssignment(i, spec.ShardCount).FolderName);
            if (AttributionRunSpec.ReadShard(shardFolder) is { } computedFor && computedFor.Differences(spec) is { Count: > 0 } differences)
            {
                throw new InvalidDataException(string.Create(
                    CultureInfo.InvariantCulture,
                    $"shard {i} ({shardFolder}) was computed for another run than {Path.Combine(folder, AttributionRunSpec.FileName)} records: {string.Join("; ", differences)} (the folder: run.json, this run: the shard); its rows are not merged with the others: delete {shardFolder} and compute it again with the run's options."));
            }
        }
    }

    private static async Task<int> WriteAsync(ShardedRunStatus status, string outFile, string? jsonFile, CancellationToken cancellationToken)
    {
        // The files' folders are made only now, when the run is complete and the files are written.
        foreach (var file in new[] { outFile, jsonFile }.OfType<string>())
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
        }

        var parquetTemp = AtomicFile.TempName(outFile);
        var jsonTemp = jsonFile is null ? null : AtomicFile.TempName(jsonFile);
        var errors = 0;
        try
        {
            var parquet = new FileStream(parquetTemp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16);
            await using (parquet.ConfigureAwait(false))
            {
                using var json = jsonTemp is null ? null : new FileStream(jsonTemp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
                using var writer = json is null ? null : new Utf8JsonWriter(json, new JsonWriterOptions { Indented = false });
                writer?.WriteStartObject();
                writer?.WriteStartArray("rows");
                var buffer = new List<AttributionRow>(MergedRowGroupSize);
                var groups = 0;
                async Task FlushAsync()
                {
                    if (buffer.Count > 0 || groups == 0)
                    {
                        await ParquetSerializer.SerializeAsync(buffer, parquet, new ParquetOptions { Append = groups > 0, RowGroupSize = Math.Max(1, buffer.Count) }, cancellationToken: cancellationToken).ConfigureAwait(false);
                        groups++;
                        buffer.Clear();
                    }
                }

                await foreach (var row in ShardedRun.ReadRowsAsync<AttributionRow>(status, cancellationToken).ConfigureAwait(false))
                {
                    errors += row.Error is null ? 0 : 1;
                    if (writer is not null)
                    {
                        WriteJson(writer, row);
                    }

                    buffer.Add(row);
                    if (buffer.Count == MergedRowGroupSize)
                    {
                        await FlushAsync().ConfigureAwait(false);
                    }
                }

                await FlushAsync().ConfigureAwait(false);
                parquet.Flush(flushToDisk: true);
                writer?.WriteEndArray();
                writer?.WriteEndObject();
                writer?.Flush();
                json?.Flush(flushToDisk: true);
            }

            File.Move(parquetTemp, outFile, overwrite: true);
            if (jsonTemp is not null)
            {
                File.Move(jsonTemp, jsonFile!, overwrite: true);
            }
        }
        finally
        {
            File.Delete(parquetTemp);
            if (jsonTemp is not null)
            {
                File.Delete(jsonTemp);
            }
        }

        return errors;
    }

    private static void WriteJson(Utf8JsonWriter writer, AttributionRow row)
    {
        writer.WriteStartObject();
        writer.WriteString("exampleId", row.ExampleId);
        writer.WriteNumber("index", row.Index);
        Nullable(writer, "prediction", row.Prediction);
        Nullable(writer, "probability", row.Probability);
        Nullable(writer, "target", row.Target);
        Nullable(writer, "delta", row.Delta);
        Nullable(writer, "error", row.Error);
        writer.WriteEndObject();
    }

    private static void Nullable(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is null)
        {
            writer.WriteNull(name);
        }
        else
        {
            writer.WriteString(name, value);
        }
    }

    private static void Nullable(Utf8JsonWriter writer, string name, double? value)
    {
        if (value is { } v && double.IsFinite(v))
        {
            writer.WriteNumber(name, v);
        }
        else
        {
            writer.WriteNull(name);
        }
    }
}
