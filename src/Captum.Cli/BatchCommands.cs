using System.CommandLine;
using System.Globalization;
using Captum.Batch;
using Captum.Hosting;
using Captum.Plugins;
using Captum.Runtime;
using Microsoft.Extensions.DependencyInjection;

namespace Captum.Cli;

/// <summary>
/// The built-in dataset commands: <c>captum attribute-dataset</c> (one worker's shard of a dataset, crash-safe and
/// resumable) and <c>captum merge-results</c> (the shards joined into one Parquet file). The work is Captum.Batch's;
/// this only parses options and prints.
/// </summary>
internal static class BatchCommands
{
    /// <summary>Exit code of a cancelled run (the examples done are written; running again continues).</summary>
    public const int CancelledExitCode = 130;

    public static Command AttributeDataset(PluginHost host, TextWriter output, TextWriter error)
    {
        var dataset = new Option<string>("--dataset") { Description = "A dataset a plugin offers or a manifest file (JSON Lines: {\"id\", \"inputs\": {name: value, image path or {\"file\": text file}}, \"label\", \"annotations\"}).", Required = true };
        var count = new Option<int?>("--count") { Description = "Examples to attribute; default: the dataset's (a manifest: all)." };
        var seed = new Option<long>("--seed") { Description = "The seed of a generated dataset.", DefaultValueFactory = _ => 0 };
        var model = new Option<string?>("--model") { Description = "The model; default: the dataset's (required for a manifest when several models are loaded)." };
        var modelFile = new Option<string[]>("--model-file") { Description = "A model file as NAME=PATH (repeatable), e.g. checkpoint=model.pth." };
        var modelSetting = new Option<string[]>("--model-setting") { Description = "A model setting as NAME=VALUE (repeatable), e.g. image-size=448." };
        var method = new Option<string>("--method") { Description = $"The explanation method: {string.Join(", ", host.ExplanationStrategies.Names)}.", DefaultValueFactory = _ => "layer-ig" };
        var steps = new Option<int>("--steps") { Description = "Integration steps of path methods.", DefaultValueFactory = _ => 30 };
        var internalBatchSize = new Option<int?>("--internal-batch-size") { Description = "At most this many expanded examples per pass; default: the method's." };
        var target = new Option<string>("--target") { Description = "Which class to explain: predicted or expected (the example's label).", DefaultValueFactory = _ => "predicted" };
        target.AcceptOnlyFromAmong("predicted", "expected");
        var baseline = new Option<string>("--baseline") { Description = $"The baselines: {Captum.Explain.BaselineChoice.Described}", DefaultValueFactory = _ => Captum.Explain.BaselineChoice.Model.Name };
        baseline.AcceptOnlyFromAmong([.. Captum.Explain.BaselineChoice.All.Select(b => b.Name)]);
        var grid = new Option<int>("--grid") { Description = "The side of the heat map an image's attribution is averaged to.", DefaultValueFactory = _ => Captum.Explain.ExplanationSummaries.DefaultGrid };
        var outFolder = new Option<string>("--out") { Description = "The output folder: run.json and shard-NNNNN/ folders of Parquet parts with manifest.json.", Required = true };
        var shardIndex = new Option<int?>("--shard-index") { Description = $"This worker's shard; default: ${ShardAssignment.KubernetesIndexVariable}, else (${ShardAssignment.SlurmIndexVariable} - ${ShardAssignment.SlurmMinVariable}) / ${ShardAssignment.SlurmStepVariable}, else 0." };
        var shardCount = new Option<int?>("--shard-count") { Description = $"The number of shards; default: ${ShardAssignment.ShardCountVariable}, else ${ShardAssignment.SlurmCountVariable} in a Slurm array, else 1." };
        var rowGroup = new Option<int>("--row-group-size") { Description = "Examples per Parquet part (a worker killed recomputes at most this many).", DefaultValueFactory = _ => 16 };
        var flushSeconds = new Option<int>("--flush-seconds") { Description = "Write a part sooner, when its oldest example finished this many seconds ago (a worker killed loses at most this much finished work).", DefaultValueFactory = _ => 30 };
        var threads = new Option<int?>("--threads") { Description = "libtorch's thread count for this worker; default: libtorch's." };
        var command = new Command("attribute-dataset", "Attribute every example of a dataset (this worker's shard of it) to Parquet, resumable after a crash; then merge-results.")
        {
            dataset, count, seed, model, modelFile, modelSetting, method, steps, internalBatchSize, target, baseline, grid, outFolder, shardIndex, shardCount, rowGroup, flushSeconds, threads,
        };
        command.SetAction((parse, interrupted) => Task.FromResult(Run(parse, interrupted)));
        return command;

        // Synchronous, so that libtorch's thread count is set and put back on the thread that runs the command (the
        // count is per thread once a thread has used libtorch; new threads start with the last count set).
        int Run(ParseResult parse, CancellationToken interrupted)
        {
            CaptumCli.WarnAboutFailures(host, error);

            // SIGTERM (Kubernetes evicting a pod, Slurm preempting a task) stops the worker as Ctrl+C does: the
            // examples done are written before it exits, instead of the runtime ending the process at once.
            using var stop = new TerminationSignal(interrupted);
            var cancellationToken = stop.Token;
            try
            {
                var request = new AttributeDatasetRequest
                {
                    Dataset = parse.GetValue(dataset)!,
                    Count = parse.GetValue(count),
                    Seed = parse.GetValue(seed),
                    Model = parse.GetValue(model),
                    ModelFiles = NameValuePairs.Parse(parse.GetValue(modelFile), "model-file"),
                    ModelSettings = NameValuePairs.Parse(parse.GetValue(modelSetting), "model-setting"),
                    Method = parse.GetValue(method)!,
                    Steps = parse.GetValue(steps),
                    InternalBatchSize = parse.GetValue(internalBatchSize),
                    Target = parse.GetValue(target) == "expected" ? TargetChoice.Expected : TargetChoice.Predicted,
                    Baseline = parse.GetValue(baseline)!,
                    Grid = parse.GetValue(grid),
                    Out = parse.GetValue(outFolder)!,
                    ShardIndex = parse.GetValue(shardIndex),
                    ShardCount = parse.GetValue(shardCount),
                    RowGroupSize = parse.GetValue(rowGroup),
                    FlushSeconds = parse.GetValue(flushSeconds),
                };
                if (parse.GetValue(threads) is { } n and < 1)
                {
                    return Fail.With(error, $"--threads must be at least 1, not {n}.");
                }

                // The count is put back when the run ends, also when it fails: an in-process host runs other commands after this one.
                var result = TorchRuntime.WithThreads(parse.GetValue(threads), () => DatasetJob.RunAsync(
                    request,
                    host.ExampleDatasets,
                    host.ModelProviders,
                    host.ExplanationStrategies,
                    progress: new ProgressLines(error, "attribute-dataset: "),
                    cancellationToken: cancellationToken).GetAwaiter().GetResult());
                output.WriteLine($"{result.Describe()} in {Path.GetFullPath(request.Out)}");
                return 0;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                error.WriteLine("captum: cancelled; the examples done are written: run the same command again to continue.");
                return CancelledExitCode;
            }
            catch (Exception ex) when (Fail.IsExpected(ex))
            {
                return Fail.Report(error, ex);
            }
        }
    }

    public static Command MergeResults(TextWriter output, TextWriter error)
    {
        var folder = new Argument<string>("folder") { Description = "The output folder of attribute-dataset (all shards in it)." };
        var outFile = new Option<string>("--out") { Description = "The merged Parquet file.", Required = true };
        var json = new Option<string?>("--json") { Description = "Also the rows as JSON: {\"rows\": [{\"exampleId\", \"prediction\", \"probability\", \"delta\", ...}]}." };
        var command = new Command("merge-results", "Check that every shard of an attribute-dataset folder is complete and merge them into one Parquet file (exit 2, naming the missing shards and examples, otherwise).")
        {
            folder, outFile, json,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            try
            {
                // Both checked before any shard is read; their folders are made only when the merged files are written.
                Captum.Plugins.OutputFolder.CheckFile("out", parse.GetValue(outFile)!);
                if (parse.GetValue(json) is { } jsonFile)
                {
                    Captum.Plugins.OutputFolder.CheckFile("json", jsonFile);
                }

                // Neither the same file as the other nor one of the run's own files (run.json, the shard folders).
                ResultMerger.CheckOutputs(parse.GetValue(folder)!, parse.GetValue(outFile)!, parse.GetValue(json));

                var report = await ResultMerger.MergeAsync(
                    Path.GetFullPath(parse.GetValue(folder)!),
                    Path.GetFullPath(parse.GetValue(outFile)!),
                    parse.GetValue(json) is { } j ? Path.GetFullPath(j) : null,
                    cancellationToken);
                foreach (var problem in report.Problems)
                {
                    output.WriteLine(problem);
                }

                if (report.Complete)
                {
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"wrote {parse.GetValue(outFile)} ({report.Errors} rows with errors)"));
                }

                output.WriteLine(report.Summary);
                return report.Complete ? 0 : Fail.ExitCode;
            }
            catch (Exception ex) when (Fail.IsExpected(ex))
            {
                return Fail.Report(error, ex);
            }
        });
        return command;
    }
}
