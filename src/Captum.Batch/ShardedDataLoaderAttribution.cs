using System.Diagnostics;
using System.Globalization;
using Captum.Attr;
using Captum.Checkpoints;
using static TorchSharp.torch;

namespace Captum.Batch;

/// <summary>How <see cref="ShardedDataLoaderAttribution.RunShardAsync"/> writes and reports.</summary>
public sealed record ShardedDataLoaderOptions
{
    /// <summary>Receives the shard's progress at the start and after every pass over the loader.</summary>
    public IProgress<DataLoaderShardProgress>? Progress { get; init; }

    /// <summary>Creates a file to write (tests simulate a full disk with it); a new <see cref="FileStream"/> when null.</summary>
    internal Func<string, Stream>? CreateFile { get; init; }
}

/// <summary>Where a DataLoaderAttribution shard's work stands, in passes over the loader.</summary>
/// <param name="Shard">The shard.</param>
/// <param name="Done">Passes of the shard complete (resumed ones included), the unperturbed pass counted when the shard needs it.</param>
/// <param name="Total">Passes of the shard: its passes that ablate features, plus the unperturbed pass when it needs it.</param>
/// <param name="Resumed">Passes found complete when the worker started.</param>
/// <param name="Elapsed">Time since the worker started on the shard.</param>
/// <param name="Damaged">Listed files found damaged when the worker started (their SHA-256 differs from the manifest's): deleted, and their passes computed again.</param>
public sealed record DataLoaderShardProgress(ShardAssignment Shard, int Done, int Total, int Resumed, TimeSpan Elapsed, int Damaged = 0)
{
    /// <summary>Passes computed per second by this worker (resumed ones not counted); 0 before the first.</summary>
    public double Rate => Elapsed.TotalSeconds > 0 ? (Done - Resumed) / Elapsed.TotalSeconds : 0;

    /// <summary>The time the rest of the shard should take at <see cref="Rate"/>; null before the first pass.</summary>
    public TimeSpan? Remaining => Rate > 0 ? TimeSpan.FromSeconds((Total - Done) / Rate) : null;

    /// <inheritdoc />
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"{Shard}: {Done}/{Total} passes ({Resumed} resumed{(Damaged > 0 ? $", {Damaged} damaged file{(Damaged == 1 ? string.Empty : "s")} found and computed again" : string.Empty)}), {Rate * 3600:0.0} passes/h, {(Remaining is { } r ? $"{r.TotalSeconds:0}s left" : "time left unknown")}");
}

/// <summary>What a worker did with its DataLoaderAttribution shard.</summary>
/// <param name="Shard">The shard.</param>
/// <param name="FirstPass">The shard's first pass.</param>
/// <param name="EndPass">One past its last pass.</param>
/// <param name="Resumed">Passes found complete when it started (the unperturbed pass included).</param>
/// <param name="Computed">Passes it ran over the loader (the unperturbed pass included).</param>
/// <param name="Damaged">Files listed as complete but found damaged when it started (their SHA-256 differs from the
/// manifest's): deleted, and their passes computed again (counted in <paramref name="Computed"/>).</param>
public sealed record DataLoaderShardResult(ShardAssignment Shard, int FirstPass, int EndPass, int Resumed, int Computed, int Damaged = 0);

/// <summary>Where the shards of a sharded DataLoaderAttribution run stand, as <see cref="ShardedDataLoaderAttribution.Inspect"/> finds them.</summary>
/// <param name="Passes">Passes that ablate features complete in the folder.</param>
/// <param name="Shards">The run's shard count.</param>
/// <param name="Missing">Passes not complete (plus one per shard whose unperturbed metric is missing).</param>
/// <param name="Problems">One line per shard that is not complete, naming its missing passes.</param>
/// <param name="Warnings">Facts that do not stop the merge: shards whose unperturbed metrics differ (a model or loader that is not deterministic across processes).</param>
public sealed record DataLoaderMergeReport(int Passes, int Shards, int Missing, IReadOnlyList<string> Problems, IReadOnlyList<string> Warnings)
{
    /// <summary>True when every shard is complete.</summary>
    public bool Complete => Missing == 0;

    /// <summary>The summary line: <c>passes=N shards=K missing=M</c>.</summary>
    public string Summary => string.Create(CultureInfo.InvariantCulture, $"passes={Passes} shards={Shards} missing={Missing}");
}

/// <summary>
/// <see cref="DataLoaderAttribution"/> over a data set split between workers (processes, Kubernetes pods, Slurm
/// tasks) by its passes over the loader, crash-safe and resumable; <see cref="Merge"/> joins the shards into the
/// single-process call's result, bit for bit.
/// </summary>
/// <remarks>
/// <para>
/// Why passes and not data: the metric (Reduce, then ToMetric) is arbitrary and in general not a sum over batches
/// (precision, a median), so attributing part of the data and combining would be wrong; but the 1 + ceil(features /
/// PerturbationsPerPass) passes over the whole loader are independent once the unperturbed metric is known. Shard
/// i of N takes the passes [⌊i·P/N⌋, ⌊(i+1)·P/N⌋) of the P that ablate features (grouped as the single call groups
/// them), and runs the unperturbed pass itself: each worker costs one pass more than its share.
/// </para>
/// <para>
/// The folder holds <c>run.json</c> (the <see cref="DataLoaderRunSpec"/>; every worker checks it matches),
/// <c>feature-ids.safetensors</c> (per attributed element its feature ids, for <see cref="Merge"/>'s input-shaped
/// form), and per shard <c>shard-NNNNN/</c> with <c>unperturbed.safetensors</c> (the unperturbed metric), one part
/// <c>pass-NNNNNNNNN.safetensors</c> per pass (its [m, features of the pass] attribution slice), each written to a
/// temporary name, flushed to disk and renamed, <c>manifest.json</c> (<see cref="DataLoaderShardManifest"/>,
/// replaced atomically after each file, with each file's SHA-256) and <c>worker.lock</c> (the running worker's
/// claim). A restarted worker keeps every listed file whose SHA-256 is the one recorded, deletes one whose SHA-256
/// differs (damaged after writing) to compute it again, adopts a renamed file the manifest missed when it reads back
/// whole, deletes temporary files, and computes the rest: at most the pass in flight is recomputed, and the
/// unperturbed pass not at all once written (unless damaged). <see cref="Merge"/> refuses a damaged file, naming it.
/// </para>
/// </remarks>
public static class ShardedDataLoaderAttribution
{
    /// <summary>The file name, in the run folder, of the feature ids of every attributed element.</summary>
    public const string FeatureIdsFileName = "feature-ids.safetensors";

    private const string AttributionsTensor = "attributions";
    private const string MetricTensor = "metric";

    /// <summary>
    /// Runs every pass of <paramref name="shard"/> not yet complete in <paramref name="outFolder"/> and records each
    /// as soon as it is done. Cancelling (checked before every batch) keeps the passes already written and throws
    /// <see cref="OperationCanceledException"/>.
    /// </summary>
    /// <param name="outFolder">The output folder (created when missing).</param>
    /// <param name="spec">The caller's description of the loader, model and metric; recorded in (or checked against) the folder's run.json with the feature count, perturbations per pass and shard count this call finds.</param>
    /// <param name="shard">This worker's shard (e.g. <see cref="ShardAssignment.Resolve"/> from the environment).</param>
    /// <param name="method">The DataLoaderAttribution (its FeatureAblation's forward function is the model).</param>
    /// <param name="dataLoader">The loader, giving the same batches in every process; enumerated once for its first batch, then once per pass this call runs.</param>
    /// <param name="attributionOptions">As for <see cref="DataLoaderAttribution.Attribute"/> (<c>Progress</c> and <c>ReturnInputShape</c> are not used here; <see cref="Merge"/> takes the latter).</param>
    /// <param name="options">Progress.</param>
    /// <param name="cancellationToken">Stops the work; the passes written stay.</param>
    /// <returns>What was resumed and computed.</returns>
    /// <exception cref="ArgumentException">The shard index is out of range, an attribution argument does not fit (before any forward call), or the folder holds another run (the message names each difference).</exception>
    /// <exception cref="InvalidOperationException">Another worker holds the shard.</exception>
    /// <exception cref="IOException">A write failed (a full disk); the files written before it stay complete and readable.</exception>
    public static async Task<DataLoaderShardResult> RunShardAsync(
        string outFolder,
        DataLoaderRunSpec spec,
        ShardAssignment shard,
        DataLoaderAttribution method,
        IEnumerable<Inputs> dataLoader,
        DataLoaderAttributionOptions? attributionOptions = null,
        ShardedDataLoaderOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(outFolder);
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(shard);
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(dataLoader);
        options ??= new ShardedDataLoaderOptions();
        if (shard.Count < 1 || shard.Index < 0 || shard.Index >= shard.Count)
        {
            throw new ArgumentException($"the shard index {shard.Index} is out of range for {shard.Count} shards: it must be in [0, {shard.Count - 1}].", nameof(shard));
        }

        using var passes = method.Passes(dataLoader, attributionOptions);
        var featureIds = FeatureIdsFile(passes.FeatureIds);
        spec = spec with
        {
            FeatureCount = passes.FeatureCount,
            PerturbationsPerPass = passes.PerturbationsPerPass,
            ShardCount = shard.Count,
            FeatureIdsSha256 = ContentDigest.Of(featureIds),
        };
        spec.RecordOrCheck(outFolder);
        var create = options.CreateFile ?? (path => new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16));
        await WriteFeatureIdsAsync(outFolder, featureIds, spec.FeatureIdsSha256, create).ConfigureAwait(false);

        var folder = Path.Combine(outFolder, shard.FolderName);
        Directory.CreateDirectory(folder);
        using var claim = ShardLock.Acquire(folder, shard);
        var (manifest, damaged) = Recover(folder, shard, passes);
        var needs = manifest.NeedsUnperturbed;
        var total = manifest.EndPass - manifest.FirstPass + (needs ? 1 : 0);
        var resumed = manifest.Passes.Count + (needs && manifest.HasUnperturbed ? 1 : 0);
        var computed = 0;
        var watch = Stopwatch.StartNew();
        void Report() => options.Progress?.Report(new DataLoaderShardProgress(shard, resumed + computed, total, resumed, watch.Elapsed, damaged));
        Report();

        var missing = manifest.Missing();
        Tensor? unperturbed = null;
        try
        {
            if (needs && !manifest.HasUnperturbed)
            {
                unperturbed = passes.Unperturbed(cancellationToken);
                var digest = await WriteAsync(folder, DataLoaderShardManifest.UnperturbedFileName, new Dictionary<string, Tensor> { [MetricTensor] = unperturbed }, null, create).ConfigureAwait(false);
                manifest = manifest with { HasUnperturbed = true, Sha256 = WithDigest(manifest, DataLoaderShardManifest.UnperturbedFileName, digest) };
                manifest.Write(folder);
                computed++;
                Report();
            }
            else if (missing.Count > 0)
            {
                using var file = SafeTensors.Load(Path.Combine(folder, DataLoaderShardManifest.UnperturbedFileName));
                unperturbed = file.Tensors[MetricTensor].clone().DetachFromDisposeScope();
            }

            foreach (var pass in missing)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var (first, count) = passes.Features(pass);
                string digest;
                using (var slice = passes.AttributePass(pass, unperturbed!, cancellationToken))
                {
                    var metadata = new Dictionary<string, string>
                    {
                        ["pass"] = pass.ToString(CultureInfo.InvariantCulture),
                        ["firstFeature"] = first.ToString(CultureInfo.InvariantCulture),
                        ["features"] = count.ToString(CultureInfo.InvariantCulture),
                    };
                    digest = await WriteAsync(folder, DataLoaderShardManifest.PartName(pass), new Dictionary<string, Tensor> { [AttributionsTensor] = slice }, metadata, create).ConfigureAwait(false);
                }

                manifest = manifest with { Passes = [.. manifest.Passes, pass], Sha256 = WithDigest(manifest, DataLoaderShardManifest.PartName(pass), digest) };
                manifest.Write(folder);
                computed++;
                Report();
            }
        }
        finally
        {
            unperturbed?.Dispose();
        }

        manifest = manifest with { Complete = true };
        manifest.Write(folder);
        return new DataLoaderShardResult(shard, manifest.FirstPass, manifest.EndPass, resumed, computed, damaged);
    }

    /// <summary>
    /// Where every shard of the run in <paramref name="outFolder"/> stands: reads the manifests and checks listed files
    /// exist; once every shard is complete it also reads the shards' unperturbed metrics to compare them, each checked
    /// against the SHA-256 its manifest recorded.
    /// </summary>
    /// <param name="outFolder">The run's output folder.</param>
    /// <exception cref="ArgumentException">The folder is not a sharded DataLoaderAttribution run's.</exception>
    /// <exception cref="InvalidDataException">A run.json or manifest is not readable, or an unperturbed metric it reads is damaged (the message names the file and the shard to run again).</exception>
    public static DataLoaderMergeReport Inspect(string outFolder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(outFolder);
        var spec = DataLoaderRunSpec.Read(outFolder);
        var (done, missing) = (0, 0);
        var problems = new List<string>();
        foreach (var (shard, manifest) in Shards(outFolder, spec))
        {
            var folder = Path.Combine(outFolder, shard.FolderName);
            var (first, end) = (shard.First(spec.PassCount), shard.End(spec.PassCount));
            var needs = NeedsUnperturbed(shard, spec.PassCount);
            var listed = (manifest?.Passes ?? []).Where(p => p >= first && p < end && File.Exists(Path.Combine(folder, DataLoaderShardManifest.PartName(p)))).ToHashSet();
            var absent = Enumerable.Range(first, end - first).Where(p => !listed.Contains(p)).ToList();
            var noMetric = needs && !(manifest is { HasUnperturbed: true } && File.Exists(Path.Combine(folder, DataLoaderShardManifest.UnperturbedFileName)));
            done += listed.Count;
            missing += absent.Count + (noMetric ? 1 : 0);
            if (absent.Count > 0 || noMetric)
            {
                var what = new List<string>();
                if (absent.Count > 0)
                {
                    what.Add($"{absent.Count} of its passes missing: {Ranges(absent)}");
                }

                if (noMetric)
                {
                    what.Add("its unperturbed metric missing");
                }

                problems.Add($"shard {shard.Index}: {(manifest is null ? "not started" : "incomplete")}, {string.Join(", ", what)}");
            }
        }

        var warnings = missing == 0 ? UnperturbedDisagreements(outFolder, spec) : [];
        return new DataLoaderMergeReport(done, spec.ShardCount, missing, problems, warnings);
    }

    /// <summary>
    /// Joins the shards of the run in <paramref name="outFolder"/> into the result <see cref="DataLoaderAttribution.Attribute"/>
    /// gives in one process, bit for bit (on the CPU, in the metric's dtype).
    /// </summary>
    /// <param name="outFolder">The run's output folder; every shard must be complete (<see cref="Inspect"/>).</param>
    /// <param name="returnInputShape">True (default): per attributed element [m, ...its shape without the batch]; false: one [m, features] tensor.</param>
    /// <returns>The attributions; the caller disposes them.</returns>
    /// <exception cref="ArgumentException">The folder is not a sharded DataLoaderAttribution run's.</exception>
    /// <exception cref="InvalidOperationException">A shard is not complete; the message names each missing shard and pass, and ends with the summary line.</exception>
    /// <exception cref="InvalidDataException">A listed file is damaged (its SHA-256 differs from the one its manifest recorded when it was written; the message names the file and the shard whose worker, run again, computes it again), not readable, or does not hold what its name says.</exception>
    public static AttributionResult Merge(string outFolder, bool returnInputShape = true)
    {
        var report = Inspect(outFolder);
        if (!report.Complete)
        {
            throw new InvalidOperationException($"{outFolder} is not complete: {string.Join("; ", report.Problems)}. {report.Summary}");
        }

        var spec = DataLoaderRunSpec.Read(outFolder);
        using var scope = torch.NewDisposeScope();
        var shards = Shards(outFolder, spec).Select(s => (s.Shard, Manifest: s.Manifest!)).ToList();
        var (metricShard, metricManifest) = shards.First(s => NeedsUnperturbed(s.Shard, spec.PassCount));
        var unperturbed = ReadListed(Path.Combine(outFolder, metricShard.FolderName, DataLoaderShardManifest.UnperturbedFileName), MetricTensor, metricShard, metricManifest);
        var outputs = unperturbed.numel();
        var slices = new List<Tensor>(spec.PassCount);
        foreach (var (shard, manifest) in shards)
        {
            for (var pass = shard.First(spec.PassCount); pass < shard.End(spec.PassCount); pass++)
            {
                var path = Path.Combine(outFolder, shard.FolderName, DataLoaderShardManifest.PartName(pass));
                var slice = ReadListed(path, AttributionsTensor, shard, manifest);
                var count = Math.Min(spec.PerturbationsPerPass, spec.FeatureCount - (pass * spec.PerturbationsPerPass));
                if (slice.dim() != 2 || slice.shape[0] != outputs || slice.shape[1] != count || slice.dtype != unperturbed.dtype)
                {
                    throw new InvalidDataException($"{path} holds a {slice.dtype} tensor of shape [{string.Join(", ", slice.shape)}]; pass {pass} must be {unperturbed.dtype} [{outputs}, {count}].");
                }

                slices.Add(slice);
            }
        }

        var unique = DataLoaderAttributionPasses.Join(unperturbed, slices);
        Tensor[] attributions;
        if (returnInputShape)
        {
            var idsPath = Path.Combine(outFolder, FeatureIdsFileName);
            var idsBytes = File.ReadAllBytes(idsPath);
            if (spec.FeatureIdsSha256 is { } recorded && !string.Equals(ContentDigest.Of(idsBytes), recorded, StringComparison.Ordinal))
            {
                throw new InvalidDataException(
                    $"{idsPath} is damaged: its SHA-256 differs from the one run.json recorded; run any worker of the run again (it writes the file again, and computes nothing else that is done), then merge again, or merge with returnInputShape false, which does not read it.");
            }

            using var idsContents = new MemoryStream(idsBytes, writable: false);
            using var ids = SafeTensors.Load(idsContents, idsPath);
            var elements = Enumerable.Range(0, ids.Tensors.Count).Select(i => ids.Tensors.TryGetValue(ElementName(i), out var t)
                ? t
                : throw new InvalidDataException($"{FeatureIdsFileName} has no tensor {ElementName(i)}.")).ToList();
            attributions = DataLoaderAttributionPasses.ToInputShape(unique, elements);
        }
        else
        {
            attributions = [unique];
        }

        foreach (var a in attributions)
        {
            a.MoveToOuterDisposeScope();
        }

        return new AttributionResult(attributions, null);
    }

    /// <summary>Whether a shard runs the unperturbed pass: it has a pass, or the run has none and it is shard 0 (whose metric gives the result's m).</summary>
    private static bool NeedsUnperturbed(ShardAssignment shard, int passCount) =>
        shard.End(passCount) > shard.First(passCount) || (passCount == 0 && shard.Index == 0);

    private static string ElementName(int i) => string.Create(CultureInfo.InvariantCulture, $"element-{i}");

    private static IEnumerable<(ShardAssignment Shard, DataLoaderShardManifest? Manifest)> Shards(string outFolder, DataLoaderRunSpec spec)
    {
        for (var i = 0; i < spec.ShardCount; i++)
        {
            var shard = new ShardAssignment(i, spec.ShardCount);
            yield return (shard, DataLoaderShardManifest.Read(Path.Combine(outFolder, shard.FolderName)));
        }
    }

    /// <summary>Shards whose unperturbed metric is not bitwise the first one's.</summary>
    private static List<string> UnperturbedDisagreements(string outFolder, DataLoaderRunSpec spec)
    {
        using var scope = torch.NewDisposeScope();
        var warnings = new List<string>();
        Tensor? reference = null;
        var referenceShard = -1;
        foreach (var (shard, manifest) in Shards(outFolder, spec))
        {
            if (manifest is not { HasUnperturbed: true })
            {
                continue;
            }

            var metric = ReadListed(Path.Combine(outFolder, shard.FolderName, DataLoaderShardManifest.UnperturbedFileName), MetricTensor, shard, manifest);
            if (reference is null)
            {
                (reference, referenceShard) = (metric, shard.Index);
            }
            else if (!metric.shape.SequenceEqual(reference.shape) || metric.dtype != reference.dtype || !metric.bytes.SequenceEqual(reference.bytes))
            {
                warnings.Add($"shard {shard.Index}'s unperturbed metric differs from shard {referenceShard}'s: the model or loader is not deterministic across processes, so the merge equals no single-process run exactly (each shard's passes are consistent with its own metric)");
            }
        }

        return warnings;
    }

    /// <summary>
    /// A tensor of a file a shard's manifest lists, in the current dispose scope; refused, naming the file and the
    /// repair, when its SHA-256 is not the one the manifest recorded (none recorded: an older manifest, read as it is).
    /// </summary>
    private static Tensor ReadListed(string path, string name, ShardAssignment shard, DataLoaderShardManifest manifest)
    {
        // Read once: the digest is of the bytes the tensor is then loaded from.
        var bytes = File.ReadAllBytes(path);
        if (manifest.Sha256Of(Path.GetFileName(path)) is { } recorded && !string.Equals(ContentDigest.Of(bytes), recorded, StringComparison.Ordinal))
        {
            throw new InvalidDataException(
                $"{path} is damaged: its SHA-256 differs from the one its manifest recorded when it was written; resume the shard: run the worker of {shard} again with the same run (it deletes the damaged file and computes it again), then merge again.");
        }

        using var contents = new MemoryStream(bytes, writable: false);
        return ReadTensor(path, name, contents);
    }

    /// <summary>Whether a listed file's SHA-256 is the one its manifest recorded; true when none was recorded (an older manifest).</summary>
    private static bool IsIntact(string path, DataLoaderShardManifest manifest) =>
        manifest.Sha256Of(Path.GetFileName(path)) is not { } recorded || string.Equals(ContentDigest.OfPath(path), recorded, StringComparison.Ordinal);

    /// <summary>The manifest's digests with <paramref name="fileName"/>'s set to <paramref name="digest"/>.</summary>
    private static SortedDictionary<string, string> WithDigest(DataLoaderShardManifest manifest, string fileName, string digest) =>
        new(manifest.Sha256 ?? new SortedDictionary<string, string>(), StringComparer.Ordinal) { [fileName] = digest };

    /// <summary>A tensor of a safetensors file, in the current dispose scope.</summary>
    private static Tensor ReadTensor(string path, string name, Stream? contents = null)
    {
        try
        {
            using var file = contents is null ? SafeTensors.Load(path) : SafeTensors.Load(contents, path);
            return file.Tensors.TryGetValue(name, out var t)
                ? t.clone()
                : throw new InvalidDataException($"{path} has no tensor '{name}'.");
        }
        catch (CheckpointFormatException ex)
        {
            throw new InvalidDataException($"{path} is not readable: {ex.Message}", ex);
        }
    }

    /// <summary>The bytes of <see cref="FeatureIdsFileName"/>: one tensor per attributed element, the same bytes in every worker.</summary>
    private static byte[] FeatureIdsFile(IReadOnlyList<Tensor> featureIds)
    {
        using var buffer = new MemoryStream();
        SafeTensors.Save(featureIds.Select((t, i) => (ElementName(i), t)).ToDictionary(p => p.Item1, p => p.t), buffer);
        return buffer.ToArray();
    }

    /// <summary>
    /// Writes the feature ids once per run folder (every worker computes the same bytes, which run.json's digest has
    /// just confirmed, <paramref name="digest"/> being theirs; the first rename wins), and writes them again over a file
    /// whose bytes differ (damaged).
    /// </summary>
    private static async Task WriteFeatureIdsAsync(string outFolder, byte[] contents, string digest, Func<string, Stream> create)
    {
        var path = Path.Combine(outFolder, FeatureIdsFileName);
        var exists = File.Exists(path);
        if (exists && string.Equals(ContentDigest.OfPath(path), digest, StringComparison.Ordinal))
        {
            return;
        }

        await WriteAsync(outFolder, FeatureIdsFileName, contents, create, overwrite: exists).ConfigureAwait(false);
    }

    /// <summary>Writes a safetensors file to a temporary name, flushes it to disk and renames it into place; returns the SHA-256 of the bytes written.</summary>
    private static async Task<string> WriteAsync(string folder, string name, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata, Func<string, Stream> create)
    {
        using var buffer = new MemoryStream();
        SafeTensors.Save(tensors, buffer, metadata);
        var contents = buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
        await WriteAsync(folder, name, contents, create, overwrite: true).ConfigureAwait(false);
        return ContentDigest.Of(contents.Span);
    }

    /// <summary>Writes bytes to a temporary name, flushes them to disk and renames the file into place (without <paramref name="overwrite"/>, a file already there is kept).</summary>
    private static async Task WriteAsync(string folder, string name, ReadOnlyMemory<byte> contents, Func<string, Stream> create, bool overwrite)
    {
        var final = Path.Combine(folder, name);
        var temp = AtomicFile.TempName(final);
        try
        {
            var stream = create(temp);
            await using (stream.ConfigureAwait(false))
            {
                await stream.WriteAsync(contents).ConfigureAwait(false);
                await stream.FlushAsync().ConfigureAwait(false);
                if (stream is FileStream file)
                {
                    file.Flush(flushToDisk: true);
                }
            }

            try
            {
                File.Move(temp, final, overwrite);
            }
            catch (IOException) when (!overwrite && File.Exists(final))
            {
                // Another worker wrote the same file first.
            }
        }
        finally
        {
            TryDelete(temp);
        }
    }

    /// <summary>
    /// The shard folder's manifest after a possible crash: temporary files deleted, listed files checked to exist and
    /// to have the SHA-256 recorded when they were written (a damaged one is deleted, so that it is computed again, and
    /// counted), a file renamed into place but not yet listed adopted (with its SHA-256) when it reads back whole and
    /// fits, otherwise deleted.
    /// </summary>
    private static (DataLoaderShardManifest Manifest, int Damaged) Recover(string folder, ShardAssignment shard, DataLoaderAttributionPasses passes)
    {
        foreach (var temp in Directory.EnumerateFiles(folder, "*" + AtomicFile.TempSuffix))
        {
            TryDelete(temp);
        }

        var (first, end) = (shard.First(passes.Count), shard.End(passes.Count));
        var needs = NeedsUnperturbed(shard, passes.Count);
        var manifest = DataLoaderShardManifest.Read(folder)
            ?? new DataLoaderShardManifest { ShardIndex = shard.Index, ShardCount = shard.Count, FirstPass = first, EndPass = end, NeedsUnperturbed = needs };
        if (manifest.ShardIndex != shard.Index || manifest.ShardCount != shard.Count || manifest.FirstPass != first || manifest.EndPass != end)
        {
            throw new InvalidDataException(
                $"{Path.Combine(folder, DataLoaderShardManifest.FileName)} is of shard {manifest.ShardIndex} of {manifest.ShardCount}, passes [{manifest.FirstPass}, {manifest.EndPass}), not of {shard}, passes [{first}, {end}).");
        }

        // Digests of the files kept: a listed file keeps the one recorded (none in an older manifest), an adopted file
        // gets its own.
        var digests = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var damaged = new HashSet<string>(StringComparer.Ordinal);
        bool Listed(string name)
        {
            var path = Path.Combine(folder, name);
            if (!File.Exists(path))
            {
                return false;
            }

            if (!IsIntact(path, manifest))
            {
                // Never adopted below, even when it cannot be deleted: its shape fits, its contents do not.
                TryDelete(path);
                damaged.Add(name);
                return false;
            }

            if (manifest.Sha256Of(name) is { } recorded)
            {
                digests[name] = recorded;
            }

            return true;
        }

        var done = manifest.Passes.Where(p => Listed(DataLoaderShardManifest.PartName(p))).ToHashSet();
        for (var pass = first; pass < end; pass++)
        {
            var path = Path.Combine(folder, DataLoaderShardManifest.PartName(pass));
            if (!done.Contains(pass) && !damaged.Contains(Path.GetFileName(path)) && File.Exists(path))
            {
                if (Fits(path, AttributionsTensor, t => t.dim() == 2 && t.shape[1] == passes.Features(pass).Count))
                {
                    done.Add(pass);
                    digests[Path.GetFileName(path)] = ContentDigest.OfPath(path);
                }
                else
                {
                    TryDelete(path);
                }
            }
        }

        var metricName = DataLoaderShardManifest.UnperturbedFileName;
        var metricPath = Path.Combine(folder, metricName);
        var hasMetric = manifest.HasUnperturbed ? Listed(metricName) : File.Exists(metricPath) && Fits(metricPath, MetricTensor, _ => true);
        if (!hasMetric)
        {
            TryDelete(metricPath);
        }
        else if (!manifest.HasUnperturbed)
        {
            digests[metricName] = ContentDigest.OfPath(metricPath);
        }

        var recovered = manifest with { Passes = [.. done.Order()], HasUnperturbed = hasMetric, Sha256 = digests };
        recovered = recovered with { Complete = recovered.Missing().Count == 0 && (hasMetric || !needs) };
        if (recovered.Complete != manifest.Complete || recovered.HasUnperturbed != manifest.HasUnperturbed || !recovered.Passes.SequenceEqual(manifest.Passes)
            || !digests.SequenceEqual(manifest.Sha256 ?? new SortedDictionary<string, string>())
            || !File.Exists(Path.Combine(folder, DataLoaderShardManifest.FileName)))
        {
            recovered.Write(folder);
        }

        return (recovered, damaged.Count);
    }

    /// <summary>Whether a file reads back as a whole safetensors file holding <paramref name="name"/> as <paramref name="check"/> wants.</summary>
    private static bool Fits(string path, string name, Func<Tensor, bool> check)
    {
        try
        {
            using var file = SafeTensors.Load(path);
            return file.Tensors.TryGetValue(name, out var t) && check(t);
        }
        catch (Exception ex) when (ex is IOException or CheckpointFormatException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>"3-5, 8": ascending passes as ranges.</summary>
    private static string Ranges(IReadOnlyList<int> sorted)
    {
        var parts = new List<string>();
        for (var i = 0; i < sorted.Count;)
        {
            var j = i;
            while (j + 1 < sorted.Count && sorted[j + 1] == sorted[j] + 1)
            {
                j++;
            }

            parts.Add(j == i ? sorted[i].ToString(CultureInfo.InvariantCulture) : string.Create(CultureInfo.InvariantCulture, $"{sorted[i]}-{sorted[j]}"));
            i = j + 1;
        }

        return string.Join(", ", parts);
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
