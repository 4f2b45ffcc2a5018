using System.Security.Cryptography;
using Captum.Batch;
using Captum.Tests.Batch;
using Captum.Plugins.Vqa;
using Captum.Plugins.Vqa.Scenes;
using Captum.Tests.Plugins.Vqa.Commands;
using Xunit;

namespace Captum.Tests.Plugins.Vqa.Scenes;

/// <summary>The shipped scenes model and the single-process report of a few scenes, computed once.</summary>
public sealed class SingleProcessQualityFixture : IDisposable
{
    /// <summary>Few scenes and steps: the tests check the bookkeeping and that nothing changes a figure.</summary>
    public static readonly AttributionQualityOptions Options = new() { Scenes = 3, Steps = 2 };

    public SingleProcessQualityFixture()
    {
        Report = AttributionQuality.Evaluate(Model, Options);
        using var stream = SceneCheckpoint.OpenDefault();
        Digest = Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    public VqaModel Model { get; } = VqaModel.LoadDefault();

    public AttributionQualityReport Report { get; }

    public string Digest { get; }

    public AttributionQualityRunSpec Spec(int shards, AttributionQualityOptions? options = null) =>
        AttributionQualityRunSpec.For(options ?? Options, Model, Digest, null, null, shards);

    public void Dispose() => Model.Dispose();
}

/// <summary>
/// vqa-eval on the sharded path: shards computed apart and aggregated give the single-process report to the last bit;
/// a stopped shard resumes; incomplete folders, folders of other runs and shards out of range are refused.
/// </summary>
/// <remarks>Serial: the randomised model is seeded through TorchSharp's global generator.</remarks>
[Collection(Captum.Tests.Attr.SerialCollection.Name)]
public sealed class ShardedAttributionQualityTests(SingleProcessQualityFixture single) : IClassFixture<SingleProcessQualityFixture>
{
    [Fact]
    public async Task ReportAsync_TwoShardsComputedApart_EqualsTheSingleProcessEvaluateExactly()
    {
        using var temp = new TempFolder();
        var spec = single.Spec(shards: 2);

        var first = await AttributionQualityShards.RunShardAsync(temp.Path, spec, new ShardAssignment(0, 2), single.Model, new() { RowGroupSize = 1 });
        var second = await AttributionQualityShards.RunShardAsync(temp.Path, spec, new ShardAssignment(1, 2), single.Model, new() { RowGroupSize = 1 });
        var found = await AttributionQualityShards.ReportAsync(temp.Path);

        Assert.Equal((0, 1, 1, 3), (first.First, first.End, second.First, second.End));
        Assert.True(found.Status.Complete, string.Join("; ", found.Status.Problems));
        AssertSameReport(single.Report, found.Report!);
    }

    [Fact]
    public async Task RunShardAsync_StoppedAfterOneSceneAndRestarted_ResumesWithoutRecomputingIt()
    {
        using var temp = new TempFolder();
        var spec = single.Spec(shards: 1);
        using var cancel = new CancellationTokenSource();
        var progress = new SynchronousProgress<DatasetProgress>(p =>
        {
            if (p.Done == 1)
            {
                cancel.Cancel();
            }
        });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            AttributionQualityShards.RunShardAsync(temp.Path, spec, ShardAssignment.Single, single.Model, new() { RowGroupSize = 1, Progress = progress }, cancel.Token));
        var shardFolder = Path.Combine(temp.Path, "shard-00000");
        var stopped = ShardManifest.Read(shardFolder)!;
        var firstPart = Path.Combine(shardFolder, stopped.Parts[0].File);
        var (bytes, written) = (File.ReadAllBytes(firstPart), File.GetLastWriteTimeUtc(firstPart));
        var resumed = await AttributionQualityShards.RunShardAsync(temp.Path, spec, ShardAssignment.Single, single.Model, new() { RowGroupSize = 1 });

        Assert.Equal((1, false), (stopped.Rows, stopped.Complete));
        Assert.Equal((1, 2), (resumed.Resumed, resumed.Computed));
        Assert.Equal(bytes, File.ReadAllBytes(firstPart));
        Assert.Equal(written, File.GetLastWriteTimeUtc(firstPart));
        AssertSameReport(single.Report, (await AttributionQualityShards.ReportAsync(temp.Path)).Report!);
    }

    [Fact]
    public void VqaEval_TwoShardWorkersThenFrom_PrintsAndWritesWhatTheSingleProcessRunDoes()
    {
        using var temp = new TempFolder();
        var job = Path.Combine(temp.Path, "job");
        string[] run = ["vqa-eval", "--scenes", "3", "--steps", "2"];

        var whole = BundledCli.Run([.. run, "--json", Path.Combine(temp.Path, "whole.json")]);
        var workers = Enumerable.Range(0, 2)
            .Select(i => BundledCli.Run([.. run, "--out", job, "--shard-index", $"{i}", "--shard-count", "2", "--row-group-size", "1"]))
            .ToList();
        var merged = BundledCli.Run("vqa-eval", "--from", job, "--json", Path.Combine(temp.Path, "merged.json"));

        Assert.True(whole.Code == 0, whole.Error);
        Assert.All(workers, w => Assert.True(w.Code == 0, w.Error));
        Assert.Contains("shard 1 of 2: scenes 1-2 complete (0 resumed, 2 computed)", workers[1].Output, StringComparison.Ordinal);
        Assert.True(merged.Code == 0, merged.Error);
        Assert.Equal(WithoutJsonLine(whole.Output), WithoutJsonLine(merged.Output));
        Assert.Equal(File.ReadAllText(Path.Combine(temp.Path, "whole.json")), File.ReadAllText(Path.Combine(temp.Path, "merged.json")));
    }

    [Fact]
    public void VqaEvalFrom_AShardNotRun_Exits2NamingTheMissingShardAndScenes()
    {
        using var temp = new TempFolder();
        var worker = BundledCli.Run("vqa-eval", "--scenes", "2", "--steps", "2", "--out", temp.Path, "--shard-index", "0", "--shard-count", "2");

        var (code, output, error) = BundledCli.Run("vqa-eval", "--from", temp.Path);

        Assert.True(worker.Code == 0, worker.Error);
        Assert.Equal(2, code);
        Assert.Equal("shard 1: not started, scenes 1 missing", output.Trim());
        Assert.Contains("1 of 2 scenes missing", error, StringComparison.Ordinal);
    }

    [Fact]
    public void VqaEvalOut_FlushSecondsNotPositive_Exits2NamingItBeforeAnyScene()
    {
        using var temp = new TempFolder();

        var (code, _, error) = BundledCli.Run("vqa-eval", "--scenes", "2", "--steps", "2", "--out", temp.Path, "--flush-seconds", "0");

        Assert.Equal(2, code);
        Assert.Contains("--flush-seconds", error, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(temp.Path));
    }

    [Fact]
    public void VqaEvalOut_FlushSecondsAboveTheTimerMaximum_Exits2NamingItBeforeAnyFile()
    {
        using var temp = new TempFolder();

        var (code, _, error) = BundledCli.Run("vqa-eval", "--scenes", "2", "--steps", "2", "--out", temp.Path, "--flush-seconds", "5000000");

        Assert.Equal(2, code);
        Assert.Contains("--flush-seconds", error, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(temp.Path));
    }

    [Fact]
    public void VqaEvalOut_FolderOfARunWithOtherSteps_RefusedNamingTheDifference()
    {
        using var temp = new TempFolder();
        var worker = BundledCli.Run("vqa-eval", "--scenes", "2", "--steps", "2", "--out", temp.Path, "--shard-index", "0", "--shard-count", "2");

        var (code, _, error) = BundledCli.Run("vqa-eval", "--scenes", "2", "--steps", "3", "--out", temp.Path, "--shard-index", "1", "--shard-count", "2");

        Assert.True(worker.Code == 0, worker.Error);
        Assert.Equal(2, code);
        Assert.Contains("steps: the folder has 2, this run 3", error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(temp.Path, "shard-00001")));
    }

    [Fact]
    public void VqaEvalOut_ShardIndexOutOfRange_RefusedBeforeAnyWork()
    {
        using var temp = new TempFolder();
        var folder = Path.Combine(temp.Path, "job");

        var (code, _, error) = BundledCli.Run("vqa-eval", "--scenes", "2", "--out", folder, "--shard-index", "2", "--shard-count", "2");

        Assert.Equal(2, code);
        Assert.Contains("the shard index (--shard-index) is 2, out of range for 2 shards", error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(folder));
    }

    [Theory]
    [InlineData("--scenes", "10")]
    [InlineData("--steps", "9")]
    [InlineData("--seed", "1")]
    public void VqaEvalFrom_AnOptionOfTheRun_Exits2NamingItNotReportingTheFoldersRunAsIfItWereThatOne(string option, string value)
    {
        // Not even a folder is needed: the refusal comes first.
        using var temp = new TempFolder();

        var (code, output, error) = BundledCli.Run("vqa-eval", "--from", temp.Path, option, value);

        Assert.Equal(2, code);
        Assert.Equal(string.Empty, output);
        Assert.StartsWith($"captum: error: {option} does not go with --from: the report is of the run in {temp.Path}", error, StringComparison.Ordinal);
    }

    [Fact]
    public void VqaEval_ShardIndexWithoutOut_Refused()
    {
        var (code, _, error) = BundledCli.Run("vqa-eval", "--scenes", "2", "--shard-index", "0", "--shard-count", "2");

        Assert.Equal(2, code);
        Assert.Contains("--shard-index and --shard-count go with --out", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void VqaEval_JsonThatCannotBeWritten_ExitsTwoNamingJsonBeforeAnyScene(bool from)
    {
        using var temp = new TempFolder();
        string[] run = from ? ["--from", temp.Path] : ["--scenes", "1", "--steps", "2"];

        var (code, output, error) = BundledCli.Run(["vqa-eval", .. run, "--json", "/proc/self/quality.json"]);

        Assert.Equal(2, code);
        Assert.StartsWith("captum: error: --json: cannot write in /proc", error, StringComparison.Ordinal);
        Assert.Single(error.TrimEnd().Split('\n'));
        Assert.Empty(output);
    }

    [Theory]
    [InlineData("run-json")]
    [InlineData("run-json-through-a-link-to-the-folder")]
    [InlineData("shard-manifest")]
    public void VqaEvalFrom_JsonThatIsOneOfTheRunsOwnFiles_Exits2NamingJsonAndLeavesTheRunAsItWas(string collision)
    {
        using var temp = new TempFolder();
        var job = Path.Combine(temp.Path, "job");
        var worker = BundledCli.Run("vqa-eval", "--scenes", "1", "--steps", "2", "--out", job, "--shard-count", "1");
        Assert.True(worker.Code == 0, worker.Error);
        var link = Path.Combine(temp.Path, "link");
        Directory.CreateSymbolicLink(link, job);
        var json = collision switch
        {
            "run-json" => Path.Combine(job, "run.json"),
            "run-json-through-a-link-to-the-folder" => Path.Combine(link, "run.json"),
            _ => Path.Combine(job, "shard-00000", "manifest.json"),
        };
        var before = Directory.GetFiles(job, "*", SearchOption.AllDirectories).ToDictionary(f => f, File.ReadAllBytes);

        var (code, output, error) = BundledCli.Run("vqa-eval", "--from", job, "--json", json);

        Assert.Equal(2, code);
        Assert.StartsWith("captum: error: --json: ", error, StringComparison.Ordinal);
        Assert.Contains("the run's own files", error, StringComparison.Ordinal);
        Assert.Empty(output);
        Assert.All(before, f => Assert.Equal(f.Value, File.ReadAllBytes(f.Key)));
        Assert.Equal(before.Keys.Order(), Directory.GetFiles(job, "*", SearchOption.AllDirectories).Order());
    }

    [Fact]
    public void VqaEval_Threads_PutsTheCallersThreadCountBackWhenItEnds()
    {
        using var threads = new ThreadCountGuard();

        var (code, _, error) = BundledCli.Run("vqa-eval", "--scenes", "1", "--steps", "2", "--threads", threads.OtherText);

        Assert.True(code == 0, error);
        Assert.Equal(threads.Before, TorchSharp.torch.get_num_threads());
    }

    private static string WithoutJsonLine(string output) =>
        string.Join('\n', output.ReplaceLineEndings("\n").Split('\n').Where(l => !l.StartsWith("JSON: ", StringComparison.Ordinal)));

    /// <summary>Every figure equal to the last bit (records compare doubles exactly; the dictionaries by content).</summary>
    private static void AssertSameReport(AttributionQualityReport expected, AttributionQualityReport actual)
    {
        Assert.Equal(expected.Options, actual.Options);
        Assert.Equal(expected.Accuracy, actual.Accuracy);
        AssertSameFigures(expected.Trained, actual.Trained);
        AssertSameFigures(expected.Random, actual.Random);
        Assert.Equal(expected.AccuracyByKind, actual.AccuracyByKind);
        Assert.Equal(expected.TrainedByKind.Keys, actual.TrainedByKind.Keys);
        foreach (var kind in expected.TrainedByKind.Keys)
        {
            AssertSameFigures(expected.TrainedByKind[kind], actual.TrainedByKind[kind]);
            AssertSameFigures(expected.RandomByKind[kind], actual.RandomByKind[kind]);
        }
    }

    private static void AssertSameFigures(AttributionFigures expected, AttributionFigures actual)
    {
        var none = new Dictionary<string, double>();
        Assert.Equal(expected with { TopWords = none }, actual with { TopWords = none });
        Assert.Equal(expected.TopWords.ToList(), actual.TopWords.ToList());
    }
}

/// <summary>
/// vqa-eval as a Kubernetes Indexed Job of real captum processes given JOB_COMPLETION_INDEX and CAPTUM_SHARD_COUNT,
/// one killed (SIGKILL) after its first scene and started again; the folder's report is the single-process one.
/// </summary>
[Collection(Captum.Tests.Attr.SerialCollection.Name)]
public sealed class ShardedAttributionQualityProcessTests(SingleProcessQualityFixture single) : IClassFixture<SingleProcessQualityFixture>
{
    private const int Scenes = 6;

    [Fact]
    public async Task IndexedJob_WorkerKilledMidShardAndRestarted_ReportsWhatEvaluateGives()
    {
        using var temp = new TempFolder();
        var job = Path.Combine(temp.Path, "job");
        string[] worker = ["vqa-eval", "--scenes", $"{Scenes}", "--steps", $"{SingleProcessQualityFixture.Options.Steps}", "--out", job, "--row-group-size", "1"];

        var (atKill, firstExit, restartedExit, restartedOutput) = await IndexedJobWorker.RunWithShardOneKilledAsync(worker, job);
        var expected = AttributionQuality.Evaluate(single.Model, SingleProcessQualityFixture.Options with { Scenes = Scenes });
        var found = await AttributionQualityShards.ReportAsync(job);

        Assert.False(atKill.Complete, "the worker finished its shard before it could be killed");
        Assert.Equal((0, 0), (firstExit, restartedExit));
        Assert.Contains($"({atKill.Rows} resumed, {(Scenes / 2) - atKill.Rows} computed)", restartedOutput, StringComparison.Ordinal);
        Assert.True(found.Status.Complete, string.Join("; ", found.Status.Problems));
        Assert.Equal(VqaEvalDocument(expected), VqaEvalDocument(found.Report!));
    }

    /// <summary>The report as vqa-eval's JSON document (doubles written to round-trip), so equal text is equal figures.</summary>
    private static string VqaEvalDocument(AttributionQualityReport report) =>
        Captum.Plugins.Vqa.Commands.VqaEvalCommand.Document(report, "m", "c", null, "zero").ToJson();
}
