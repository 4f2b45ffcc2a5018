using System.Text.Json;
using Captum.Batch;
using Captum.Explain;
using Captum.Plugins;
using Captum.Plugins.Vqa;
using Captum.Plugins.Vqa.Scenes;

namespace Captum.Tests.Batch;

/// <summary>The shipped scenes model, loaded once per test class.</summary>
public sealed class ScenesModelFixture : IDisposable
{
    public VqaModel Model { get; } = VqaModel.LoadDefault();

    public void Dispose() => Model.Dispose();
}

internal static class BatchTestSupport
{
    /// <summary>Few steps: the tests check the bookkeeping, not the attributions' quality.</summary>
    public const int Steps = 2;

    public static AttributionRunSpec Spec(int count, int shards = 1, string method = "layer-ig", long seed = 0) => new()
    {
        Dataset = "scenes",
        Count = count,
        Seed = seed,
        Model = "vqa",
        Method = method,
        Steps = Steps,
        ShardCount = shards,
    };

    /// <summary>Makes a named pipe (a FIFO) at <paramref name="path"/> with mkfifo.</summary>
    public static void MakeFifo(string path)
    {
        using var mkfifo = System.Diagnostics.Process.Start("mkfifo", [path]);
        mkfifo.WaitForExit();
        if (mkfifo.ExitCode != 0)
        {
            throw new InvalidOperationException($"mkfifo {path} failed ({mkfifo.ExitCode}).");
        }
    }

    public static IExampleDataset Scenes(int count, long seed = 0) => new SceneDataset().Open(new ExampleDatasetOptions { Count = count, Seed = seed });

    public static Task<ShardResult> Run(string folder, AttributionRunSpec spec, ShardAssignment shard, VqaModel model, DatasetAttributionOptions? options = null, CancellationToken cancellationToken = default)
    {
        var dataset = Scenes(spec.Count, spec.Seed);
        return DatasetAttribution.RunShardAsync(folder, spec, shard, dataset, model, ExplanationStrategies.BuiltIn.Get(spec.Method), options, cancellationToken)
            .ContinueWith(t =>
            {
                dataset.Dispose();
                return t;
            }, TaskScheduler.Default).Unwrap();
    }

    /// <summary>A row as text without its time, the one column that differs between runs.</summary>
    public static string Canonical(AttributionRow row)
    {
        var time = row.TimeMs;
        row.TimeMs = 0;
        var text = JsonSerializer.Serialize(row);
        row.TimeMs = time;
        return text;
    }

    public static async Task<List<string>> MergedRows(string folder, string file)
    {
        var report = await ResultMerger.MergeAsync(folder, file);
        Xunit.Assert.True(report.Complete, string.Join("; ", report.Problems));
        return [.. (await DatasetAttribution.ReadPartAsync(file)).Select(Canonical)];
    }
}

/// <summary>A worker of a simulated Kubernetes Indexed Job: the built captum command in a process of its own.</summary>
internal static class IndexedJobWorker
{
    /// <summary>Starts captum with <paramref name="args"/>, as completion <paramref name="index"/> of <paramref name="shards"/>.</summary>
    public static System.Diagnostics.Process Start(IEnumerable<string> args, int index, int shards, Action<string>? stderr = null)
    {
        var start = new System.Diagnostics.ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(BuildOutputs.Of(Path.Combine("src", "Captum.Cli")), "captum.dll"));
        foreach (var argument in args)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment[ShardAssignment.KubernetesIndexVariable] = $"{index}";
        start.Environment[ShardAssignment.ShardCountVariable] = $"{shards}";
        var process = System.Diagnostics.Process.Start(start)!;
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                stderr?.Invoke(line);
            }
        };
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>Kills (SIGKILL) <paramref name="worker"/> once its shard folder lists a complete part; returns the manifest it left.</summary>
    public static async Task<ShardManifest> KillAfterFirstPartAsync(System.Diagnostics.Process worker, string shardFolder)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (!(ShardManifest.Read(shardFolder) is { Parts.Count: > 0 } || worker.HasExited))
        {
            Xunit.Assert.True(watch.Elapsed < TimeSpan.FromMinutes(3), $"the worker of {shardFolder} wrote no part in 3 minutes");
            await Task.Delay(10);
        }

        worker.Kill();
        await worker.WaitForExitAsync();
        return ShardManifest.Read(shardFolder)!;
    }

    /// <summary>
    /// Two workers of <paramref name="args"/> (which name the folder <paramref name="job"/>): shard 1's killed after its
    /// first part and started again; waits for both to end.
    /// </summary>
    /// <returns>Shard 1's manifest when it was killed, the exit codes of shard 0's worker and of the restarted one, and the restarted one's output.</returns>
    public static async Task<(ShardManifest AtKill, int FirstExit, int RestartedExit, string RestartedOutput)> RunWithShardOneKilledAsync(string[] args, string job)
    {
        using var first = Start(args, 0, 2);
        using var victim = Start(args, 1, 2);
        var atKill = await KillAfterFirstPartAsync(victim, Path.Combine(job, "shard-00001"));
        using var restarted = Start(args, 1, 2);
        await Task.WhenAll(first.WaitForExitAsync(), restarted.WaitForExitAsync());
        return (atKill, first.ExitCode, restarted.ExitCode, await restarted.StandardOutput.ReadToEndAsync());
    }
}
