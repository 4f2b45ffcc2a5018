using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Captum.Explain;
using Captum.Plugins;
using Captum.Runtime;

namespace Captum.Batch;

/// <summary>How <see cref="DatasetAttribution.RunShardAsync"/> writes and reports.</summary>
public sealed record DatasetAttributionOptions
{
    /// <summary>
    /// Examples per part file (one Parquet row group each), written and recorded as soon as they are done (or sooner:
    /// see <see cref="FlushAfter"/>); a worker killed at any moment recomputes at most this many examples. Default 16.
    /// </summary>
    public int RowGroupSize { get; init; } = 16;

    /// <inheritdoc cref="ShardedRunOptions.FlushAfter"/>
    public TimeSpan FlushAfter { get; init; } = ShardedRunOptions.DefaultFlushAfter;

    /// <summary>Receives the shard's progress after every example.</summary>
    public IProgress<DatasetProgress>? Progress { get; init; }

    /// <summary>Creates a file to write (tests simulate a full disk with it); a new <see cref="FileStream"/> when null.</summary>
    internal Func<string, Stream>? CreateFile { get; init; }

    /// <inheritdoc cref="ShardedRunOptions.Time"/>
    internal TimeProvider? Time { get; init; }
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
    public override string ToString() => ToString("examples");

    /// <summary>The progress line with the units named <paramref name="units"/> (plural), e.g. "shard 0 of 2: 3/10 scenes (1 resumed), 0.50 scenes/s, 14s left".</summary>
    public string ToString(string units) => string.Create(
        CultureInfo.InvariantCulture,
        $"{Shard}: {Done}/{Total} {units} ({Resumed} resumed), {Rate:0.00} {units}/s, {(Remaining is { } r ? $"{r.TotalSeconds:0}s left" : "time left unknown")}");
}

/// <summary>
/// Writes a shard's progress as lines (<see cref="DatasetProgress.ToString(string)"/> after a prefix) at most every
/// few seconds, and at the end of the shard: what a worker's log should show.
/// </summary>
/// <param name="writer">Where the lines go (a command's standard error).</param>
/// <param name="prefix">Before each line, e.g. "attribute-dataset: ".</param>
/// <param name="units">The units' name, plural.</param>
public sealed class ProgressLines(TextWriter writer, string prefix, string units = "examples") : IProgress<DatasetProgress>
{
    private DateTime last = DateTime.MinValue;

    /// <summary>The least time between two lines before the shard's end. Default 5 seconds.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(5);

    /// <inheritdoc />
    public void Report(DatasetProgress value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var now = DateTime.UtcNow;
        if (value.Done == value.Total || now - last >= Interval)
        {
            last = now;
            writer.WriteLine(prefix + value.ToString(units));
        }
    }
}

/// <summary>What a worker did with its shard.</summary>
/// <param name="Shard">The shard.</param>
/// <param name="First">The shard's first example.</param>
/// <param name="End">One past its last example.</param>
/// <param name="Resumed">Examples found complete when it started.</param>
/// <param name="Computed">Examples it computed.</param>
/// <param name="Errors">Rows it wrote with an error.</param>
/// <param name="DamagedParts">Part files listed as complete but found damaged when it started (their SHA-256 differs
/// from the manifest's, or they do not read back): deleted and their examples computed again.</param>
public sealed record ShardResult(ShardAssignment Shard, int First, int End, int Resumed, int Computed, int Errors, int DamagedParts = 0)
{
    /// <summary>
    /// One line for a worker's console, e.g. "shard 1 of 4: examples 16-31 complete (0 resumed, 16 computed, 0 with
    /// errors)"; a shard with nothing to do (more shards than units) says so.
    /// </summary>
    /// <param name="units">The units' name, plural ("examples", "scenes").</param>
    /// <param name="withErrors">Whether to count the rows with errors.</param>
    public string Describe(string units = "examples", bool withErrors = true)
    {
        if (End <= First)
        {
            return $"{Shard}: no {units} (the run has fewer {units} than shards), complete";
        }

        var damaged = DamagedParts > 0 ? $", {DamagedParts} damaged part{(DamagedParts == 1 ? string.Empty : "s")} found and computed again" : string.Empty;
        var errors = withErrors ? $", {Errors} with errors" : string.Empty;
        return string.Create(CultureInfo.InvariantCulture, $"{Shard}: {units} {First}-{End - 1} complete ({Resumed} resumed, {Computed} computed{errors}{damaged})");
    }
}

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
/// The shard machinery is <see cref="ShardedRun"/>'s, with <see cref="AttributionRow"/>s as rows.
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
        spec.RecordOrCheckShard(Path.Combine(outFolder, shard.FolderName));
        return await ShardedRun.RunShardAsync(
            outFolder,
            shard,
            spec.Count,
            (index, token) => Attribute(index, dataset, model, strategy, spec, token),
            new ShardedRunOptions { RowGroupSize = options.RowGroupSize, FlushAfter = options.FlushAfter, Progress = options.Progress, CreateFile = options.CreateFile, Time = options.Time },
            cancellationToken).ConfigureAwait(false);
    }

    private static void Check(AttributionRunSpec spec, ShardAssignment shard, IExampleDataset dataset, IExplanationStrategy strategy, DatasetAttributionOptions options)
    {
        if (shard.Count != spec.ShardCount)
        {
            throw new ArgumentException($"the shard count is {shard.Count}, but the run is split into {spec.ShardCount}.", nameof(shard));
        }

        if (spec.Count < 0 || spec.Count > dataset.Count)
        {
            throw new ArgumentException($"the run has {spec.Count} examples, the dataset {dataset.Count}.", nameof(spec));
        }

        if (!string.Equals(strategy.Name, spec.Method, StringComparison.Ordinal))
        {
            throw new ArgumentException($"the method is '{strategy.Name}', the run's '{spec.Method}'.", nameof(strategy));
        }

        if (BaselineChoice.Find(spec.Baseline) is null)
        {
            throw new ArgumentException(BaselineChoice.Unknown("the run's baseline", spec.Baseline), nameof(spec));
        }

        ShardedRun.CheckArguments(shard, spec.Count, options.RowGroupSize, options.FlushAfter);

        if (spec.Steps < 1 || spec.Grid < 1 || spec.InternalBatchSize is < 1)
        {
            throw new ArgumentException("steps, grid and internal batch size must be at least 1.", nameof(spec));
        }
    }

    /// <summary>
    /// Attributes example <paramref name="index"/> into a row. An example that fails (a missing image, a bad value,
    /// an error of the model or of libtorch, a NaN or infinite probability, score, contribution or delta) gets a row
    /// with <see cref="AttributionRow.Error"/> and no prediction; cancellation and running out of memory propagate
    /// (a restart should compute the example, not find it failed).
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
            var prepared = BaselineChoice.Parse(spec.Baseline, nameof(spec)).Apply(model.Prepare(example.Inputs));
            using var explanation = strategy.Explain(
                model,
                prepared,
                new ExplanationOptions { Steps = spec.Steps, InternalBatchSize = spec.InternalBatchSize, Target = target },
                cancellationToken);
            var summaries = ExplanationSummaries.Of(model, explanation, spec.Grid);
            if (NonFinite(explanation, summaries, strategy.HasConvergenceDelta) is { } what)
            {
                throw new ArithmeticException($"the attribution of example {example.Id} is not finite: {what}.");
            }

            row.PredictionIndex = explanation.PredictedIndex;
            row.Prediction = explanation.PredictedIndex < model.Labels.Count ? model.Labels[(int)explanation.PredictedIndex] : $"#{explanation.PredictedIndex}";
            row.Target = explanation.Label;
            row.TargetIndex = explanation.LabelIndex;
            row.Probability = explanation.Probability;
            row.Delta = double.IsNaN(explanation.Delta) ? null : explanation.Delta;
            row.Inputs = [.. summaries.Select(s => new InputSummaryRow
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
        catch (Exception ex) when (IsExampleFailure(ex))
        {
            // Any failure of one example is that example's: a worker that ended on it would meet it again on restart, forever.
            row.ExampleId = ex is ExampleInputException input ? input.ExampleId : row.ExampleId;
            var known = ex is ArgumentException or IOException or InvalidDataException or NotSupportedException or UnauthorizedAccessException or ArithmeticException;
            row.Error = known ? ErrorMessages.OneLine(ex) : $"{ex.GetType().Name}: {ErrorMessages.OneLine(ex)}";
        }

        row.TimeMs = watch.Elapsed.TotalMilliseconds;
        return row;
    }

    private static bool IsExampleFailure(Exception ex) => ex is not OperationCanceledException && !TorchRuntime.IsOutOfMemory(ex);

    /// <summary>What of an explanation is NaN or infinite, e.g. "delta is NaN"; null when every value is finite.</summary>
    /// <param name="explanation">The explanation.</param>
    /// <param name="summaries">Its summaries, as the row stores them.</param>
    /// <param name="hasDelta">Whether the method gives a delta (then NaN is a failure, not "no delta").</param>
    private static string? NonFinite(Explanation explanation, IReadOnlyList<InputSummary> summaries, bool hasDelta)
    {
        static string Text(double value) => value.ToString(CultureInfo.InvariantCulture);
        if (!double.IsFinite(explanation.Probability))
        {
            return $"probability is {Text(explanation.Probability)}";
        }

        if (double.IsInfinity(explanation.Delta) || (hasDelta && double.IsNaN(explanation.Delta)))
        {
            return $"delta is {Text(explanation.Delta)}";
        }

        foreach (var summary in summaries)
        {
            if (!double.IsFinite(summary.Contribution))
            {
                return $"input '{summary.Input}' contribution is {Text(summary.Contribution)}";
            }

            for (var i = 0; i < summary.Scores.Count; i++)
            {
                if (!float.IsFinite(summary.Scores[i]))
                {
                    return $"input '{summary.Input}' score {i} is {Text(summary.Scores[i])}";
                }
            }
        }

        return null;
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

    /// <summary>Reads the rows of a part file (or any file of <see cref="AttributionRow"/>s).</summary>
    public static Task<IList<AttributionRow>> ReadPartAsync(string path, CancellationToken cancellationToken = default) =>
        ShardedRun.ReadPartAsync<AttributionRow>(path, cancellationToken);
}
