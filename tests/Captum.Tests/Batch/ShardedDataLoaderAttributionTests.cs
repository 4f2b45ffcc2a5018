using Captum.Attr;
using Captum.Batch;
using FsCheck.Xunit;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Tests.Batch;

/// <summary>DataLoaderAttribution sharded by passes: the merge is the single call bit for bit, resume, refusals, a failing disk.</summary>
public sealed class ShardedDataLoaderAttributionTests
{
    private const int Examples = 12;
    private const int BatchSize = 3;
    private const int Batches = Examples / BatchSize;

    /// <summary>y = tanh(x W), [n, 3], counting its calls; <see cref="OnCall"/> sees each call's number (to cancel or fail mid-pass).</summary>
    private sealed class CountingModel(int seed)
    {
        private readonly Tensor w = torch.randn([8, 3], generator: new Generator((ulong)seed));

        public int Calls { get; set; }

        public Action<int>? OnCall { get; set; }

        public DataLoaderAttribution Method() => new(new FeatureAblation((Func<Tensor, Tensor>)Forward));

        private Tensor Forward(Tensor x)
        {
            Calls++;
            OnCall?.Invoke(Calls);
            return torch.tanh(x.matmul(w));
        }
    }

    private static Inputs[] Loader(int seed)
    {
        var x = torch.randn([Examples, 8], generator: new Generator((ulong)seed + 100));
        var labels = torch.randint(0, 3, [Examples], generator: new Generator((ulong)seed + 200));
        return [.. Enumerable.Range(0, Batches).Select(b => Inputs.Of(x.narrow(0, b * BatchSize, BatchSize), labels.narrow(0, b * BatchSize, BatchSize)))];
    }

    /// <summary>
    /// Features: column c of x is feature c % features. Metric: every output of the data set concatenated
    /// ([12, 3], m = 36), or (scalar) the summed output at each example's label, a 0-dimensional tensor.
    /// </summary>
    private static DataLoaderAttributionOptions Options(int features, int perPass, bool scalar = false) => new()
    {
        InputRoles = [InputRole.NeedAttribution, InputRole.NoForward],
        FeatureMask = torch.arange(8).remainder(features).reshape(1, 8),
        Reduce = scalar
            ? (acc, output, batch) => (acc as Tensor ?? torch.zeros([])) + output.gather(1, batch[1].unsqueeze(1)).sum()
            : (acc, output, _) => acc is Tensor previous ? torch.cat([previous, output]) : output,
        PerturbationsPerPass = perPass,
    };

    /// <summary>A model and a loader of the same seed, and the options of <see cref="Options"/>.</summary>
    private static (CountingModel Model, Inputs[] Loader, DataLoaderAttributionOptions Options) Setup(int seed, int features, int perPass) =>
        (new CountingModel(seed), Loader(seed), Options(features, perPass));

    private static DataLoaderRunSpec Spec(string model = "tanh-linear seed 1") => new() { Loader = "12 examples, batches of 3", Model = model, Metric = "outputs" };

    private static Task<DataLoaderShardResult> Run(string folder, ShardAssignment shard, CountingModel model, Inputs[] loader, DataLoaderAttributionOptions options, ShardedDataLoaderOptions? sharding = null, DataLoaderRunSpec? spec = null, CancellationToken cancellationToken = default) =>
        ShardedDataLoaderAttribution.RunShardAsync(folder, spec ?? Spec(), shard, model.Method(), loader, options, sharding, cancellationToken);

    private static void AssertBitwiseEqual(AttributionResult expected, AttributionResult actual)
    {
        Assert.Equal(expected.Attributions.Count, actual.Attributions.Count);
        for (var i = 0; i < expected.Attributions.Count; i++)
        {
            var (e, a) = (expected.Attributions[i], actual.Attributions[i]);
            Assert.Equal(e.dtype, a.dtype);
            Assert.Equal(e.shape, a.shape);
            Assert.True(e.contiguous().bytes.SequenceEqual(a.contiguous().bytes), $"attribution {i} differs");
        }
    }

    [Fact]
    public async Task Merge_ThreeShards_EqualsTheSingleCallBitForBitInBothShapes()
    {
        using var scope = torch.NewDisposeScope();
        using var temp = new TempFolder();
        var (model, loader, options) = Setup(1, features: 7, perPass: 2);
        using var single = model.Method().Attribute(loader, options);
        using var singleFlat = model.Method().Attribute(loader, options with { ReturnInputShape = false });

        foreach (var i in new[] { 2, 0, 1 })
        {
            await Run(temp.Path, new ShardAssignment(i, 3), model, loader, options);
        }

        using var merged = ShardedDataLoaderAttribution.Merge(temp.Path);
        using var mergedFlat = ShardedDataLoaderAttribution.Merge(temp.Path, returnInputShape: false);
        var report = ShardedDataLoaderAttribution.Inspect(temp.Path);

        Assert.Equal([36L, 8L], merged.Attribution.shape);
        Assert.Equal([36L, 7L], mergedFlat.Attribution.shape);
        AssertBitwiseEqual(single, merged);
        AssertBitwiseEqual(singleFlat, mergedFlat);
        Assert.Equal("passes=4 shards=3 missing=0", report.Summary);
        Assert.Empty(report.Warnings);
    }

    [Property(MaxTest = 12)]
    public void Merge_AnyFeaturesPerturbationsPerPassAndShards_EqualsTheSingleCallBitForBit(byte featureSeed, byte perPassSeed, byte shardSeed, bool scalar)
    {
        var (features, perPass, shards) = (1 + (featureSeed % 8), 1 + (perPassSeed % 4), 1 + (shardSeed % 5));
        using var scope = torch.NewDisposeScope();
        using var temp = new TempFolder();
        var model = new CountingModel(featureSeed);
        var loader = Loader(shardSeed);
        var options = Options(features, perPass, scalar) with { ReturnInputShape = false };
        using var single = model.Method().Attribute(loader, options);

        for (var i = 0; i < shards; i++)
        {
            Run(temp.Path, new ShardAssignment(i, shards), model, loader, options).GetAwaiter().GetResult();
        }

        using var merged = ShardedDataLoaderAttribution.Merge(temp.Path, returnInputShape: false);
        AssertBitwiseEqual(single, merged);
    }

    [Fact]
    public async Task RunShard_CancelledMidPass_RestartRunsOnlyThePassesNotWritten()
    {
        using var scope = torch.NewDisposeScope();
        using var temp = new TempFolder();
        var (model, loader, options) = Setup(2, features: 6, perPass: 1);
        using var single = model.Method().Attribute(loader, options);

        // The unperturbed pass and passes 0 and 1 complete, then pass 2 is cancelled after two of its four batches.
        await RunCancelledAtCall(temp.Path, model, loader, options, (3 * Batches) + 2);
        var stopped = DataLoaderShardManifest.Read(Path.Combine(temp.Path, "shard-00000"))!;
        var resumed = await Run(temp.Path, ShardAssignment.Single, model, loader, options);
        using var merged = ShardedDataLoaderAttribution.Merge(temp.Path);

        Assert.Equal([0, 1], stopped.Passes);
        Assert.Equal((true, false), (stopped.HasUnperturbed, stopped.Complete));
        Assert.Equal((3, 4), (resumed.Resumed, resumed.Computed));
        Assert.Equal(4 * Batches, model.Calls);   // passes 2 to 5 only: neither the unperturbed pass nor passes 0 and 1 again
        AssertBitwiseEqual(single, merged);
    }

    /// <summary>Runs the single shard until the model's call number <paramref name="call"/> (counted from 1), which cancels it; the model's count is then 0 again.</summary>
    private static async Task RunCancelledAtCall(string folder, CountingModel model, Inputs[] loader, DataLoaderAttributionOptions options, int call)
    {
        using var cancel = new CancellationTokenSource();
        model.Calls = 0;
        model.OnCall = n =>
        {
            if (n == call)
            {
                cancel.Cancel();
            }
        };

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Run(folder, ShardAssignment.Single, model, loader, options, cancellationToken: cancel.Token));
        (model.Calls, model.OnCall) = (0, null);
    }

    [Fact]
    public async Task RunShard_ModelFailsMidPass_KeepsTheFinishedPassesAndTheRestartCompletesThem()
    {
        using var scope = torch.NewDisposeScope();
        using var temp = new TempFolder();
        var model = new CountingModel(3);
        var loader = Loader(3);
        var options = Options(features: 4, perPass: 1, scalar: true);
        using var single = model.Method().Attribute(loader, options);
        model.Calls = 0;
        model.OnCall = call => _ = call == (3 * Batches) + 1 ? throw new InvalidOperationException("the model failed") : 0;

        await Assert.ThrowsAsync<InvalidOperationException>(() => Run(temp.Path, ShardAssignment.Single, model, loader, options));
        var report = ShardedDataLoaderAttribution.Inspect(temp.Path);
        (model.Calls, model.OnCall) = (0, null);
        await Run(temp.Path, ShardAssignment.Single, model, loader, options);
        using var merged = ShardedDataLoaderAttribution.Merge(temp.Path);

        Assert.Equal("shard 0: incomplete, 2 of its passes missing: 2-3", Assert.Single(report.Problems));
        Assert.Equal(2 * Batches, model.Calls);
        AssertBitwiseEqual(single, merged);
    }

    [Fact]
    public async Task RunShard_AfterACrashBetweenRenameAndManifest_AdoptsThePassAndDeletesTemporaryFiles()
    {
        using var scope = torch.NewDisposeScope();
        using var temp = new TempFolder();
        var (model, loader, options) = Setup(11, features: 3, perPass: 1);
        await Run(temp.Path, ShardAssignment.Single, model, loader, options);
        var shardFolder = Path.Combine(temp.Path, "shard-00000");
        var manifest = DataLoaderShardManifest.Read(shardFolder)!;
        (manifest with { Complete = false, Passes = [0] }).Write(shardFolder);
        var stray = Path.Combine(shardFolder, DataLoaderShardManifest.PartName(2) + ".123.abc.tmp");
        File.WriteAllText(stray, "half a pass");
        File.WriteAllText(Path.Combine(shardFolder, DataLoaderShardManifest.PartName(2)), "not a safetensors file");
        model.Calls = 0;

        var again = await Run(temp.Path, ShardAssignment.Single, model, loader, options);

        Assert.Equal((3, 1), (again.Resumed, again.Computed));   // pass 1 adopted, the broken pass 2 recomputed
        Assert.Equal(Batches, model.Calls);
        Assert.False(File.Exists(stray));
        Assert.Equal([0, 1, 2], DataLoaderShardManifest.Read(shardFolder)!.Passes);
    }

    [Fact]
    public async Task Inspect_ShardsWithDifferentUnperturbedMetrics_WarnsNamingTheShard()
    {
        using var scope = torch.NewDisposeScope();
        using var temp = new TempFolder();
        var loader = Loader(12);
        var options = Options(features: 2, perPass: 1, scalar: true);
        // Shard 1's process computes with other weights under the same description: a model not deterministic across processes.
        await Run(temp.Path, new ShardAssignment(0, 2), new CountingModel(12), loader, options);
        await Run(temp.Path, new ShardAssignment(1, 2), new CountingModel(13), loader, options);

        var report = ShardedDataLoaderAttribution.Inspect(temp.Path);

        Assert.True(report.Complete);
        Assert.StartsWith("shard 1's unperturbed metric differs from shard 0's", Assert.Single(report.Warnings));
    }

    [Fact]
    public async Task MergeAndResume_PassFileDamagedAfterWriting_MergeNamesTheFileAndAResumeComputesItAgain()
    {
        using var scope = torch.NewDisposeScope();
        using var temp = new TempFolder();
        var (model, loader, options) = Setup(14, features: 4, perPass: 1);   // passes 0-3: shard 0 of 2 holds 0 and 1, shard 1 holds 2 and 3
        await Run(temp.Path, new ShardAssignment(0, 2), model, loader, options);
        await Run(temp.Path, new ShardAssignment(1, 2), model, loader, options);
        using var undamaged = ShardedDataLoaderAttribution.Merge(temp.Path);
        var part = Path.Combine(temp.Path, "shard-00001", DataLoaderShardManifest.PartName(2));
        FlipFloatByte(part, element: 5);

        var ex = Assert.Throws<InvalidDataException>(() => ShardedDataLoaderAttribution.Merge(temp.Path));
        var reports = new List<DataLoaderShardProgress>();
        model.Calls = 0;
        var resumed = await Run(temp.Path, new ShardAssignment(1, 2), model, loader, options, new() { Progress = new SynchronousProgress<DataLoaderShardProgress>(reports.Add) });
        using var merged = ShardedDataLoaderAttribution.Merge(temp.Path);

        Assert.StartsWith($"{part} is damaged: its SHA-256 differs from the one its manifest recorded", ex.Message, StringComparison.Ordinal);
        Assert.Contains("resume the shard: run the worker of shard 1 of 2 again", ex.Message, StringComparison.Ordinal);
        Assert.Equal((2, 1, 1), (resumed.Resumed, resumed.Computed, resumed.Damaged));   // the unperturbed metric and pass 3 kept, pass 2 again
        Assert.Equal(Batches, model.Calls);
        Assert.StartsWith("shard 1 of 2: 3/3 passes (2 resumed, 1 damaged file found and computed again)", reports[^1].ToString(), StringComparison.Ordinal);
        AssertBitwiseEqual(undamaged, merged);
    }

    [Fact]
    public async Task MergeAndResume_UnperturbedFileDamagedAfterWriting_MergeNamesTheFileAndAResumeComputesItAgain()
    {
        using var scope = torch.NewDisposeScope();
        using var temp = new TempFolder();
        var (model, loader, options) = Setup(15, features: 3, perPass: 1);
        await Run(temp.Path, ShardAssignment.Single, model, loader, options);
        using var undamaged = ShardedDataLoaderAttribution.Merge(temp.Path);
        var metric = Path.Combine(temp.Path, "shard-00000", DataLoaderShardManifest.UnperturbedFileName);
        FlipFloatByte(metric, element: 7);

        var inspect = Assert.Throws<InvalidDataException>(() => ShardedDataLoaderAttribution.Inspect(temp.Path));
        var merge = Assert.Throws<InvalidDataException>(() => ShardedDataLoaderAttribution.Merge(temp.Path));
        model.Calls = 0;
        var resumed = await Run(temp.Path, ShardAssignment.Single, model, loader, options);
        using var merged = ShardedDataLoaderAttribution.Merge(temp.Path);

        Assert.All([inspect, merge], ex => Assert.StartsWith($"{metric} is damaged: its SHA-256 differs", ex.Message, StringComparison.Ordinal));
        Assert.Contains("run the worker of shard 0 of 1 again", merge.Message, StringComparison.Ordinal);
        Assert.Equal((3, 1, 1), (resumed.Resumed, resumed.Computed, resumed.Damaged));   // the three passes kept, the unperturbed one again
        Assert.Equal(Batches, model.Calls);
        AssertBitwiseEqual(undamaged, merged);
    }

    [Fact]
    public async Task RunShard_UnperturbedFileDamagedBeforeTheRemainingPasses_ComputesItAgainBeforeThem()
    {
        using var scope = torch.NewDisposeScope();
        using var temp = new TempFolder();
        var (model, loader, options) = Setup(16, features: 4, perPass: 1);
        using var single = model.Method().Attribute(loader, options);

        // The unperturbed pass and pass 0 are written, then pass 1 is cancelled after its first batch.
        await RunCancelledAtCall(temp.Path, model, loader, options, (2 * Batches) + 1);
        FlipFloatByte(Path.Combine(temp.Path, "shard-00000", DataLoaderShardManifest.UnperturbedFileName), element: 4);

        var resumed = await Run(temp.Path, ShardAssignment.Single, model, loader, options);
        using var merged = ShardedDataLoaderAttribution.Merge(temp.Path);

        // Passes 1-3 are the differences from the unperturbed metric: computed from the damaged one, they would differ.
        Assert.Equal((1, 4, 1), (resumed.Resumed, resumed.Computed, resumed.Damaged));
        Assert.Equal(4 * Batches, model.Calls);
        AssertBitwiseEqual(single, merged);
    }

    [Fact]
    public async Task MergeAndResume_ManifestWrittenBeforeDigests_KeepsItsFilesAndMerges()
    {
        using var scope = torch.NewDisposeScope();
        using var temp = new TempFolder();
        var (model, loader, options) = Setup(17, features: 3, perPass: 1);
        using var single = model.Method().Attribute(loader, options);
        await Run(temp.Path, ShardAssignment.Single, model, loader, options);
        var shardFolder = Path.Combine(temp.Path, "shard-00000");
        var manifestPath = Path.Combine(shardFolder, DataLoaderShardManifest.FileName);
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(manifestPath))!.AsObject();
        Assert.True(json.Remove("sha256"), "the manifest records no sha256");
        File.WriteAllText(manifestPath, json.ToJsonString());
        model.Calls = 0;

        var resumed = await Run(temp.Path, ShardAssignment.Single, model, loader, options);
        using var merged = ShardedDataLoaderAttribution.Merge(temp.Path);

        Assert.Equal((4, 0, 0), (resumed.Resumed, resumed.Computed, resumed.Damaged));
        Assert.Equal(0, model.Calls);
        Assert.Empty(DataLoaderShardManifest.Read(shardFolder)!.Sha256);   // files found, not written, are not vouched for
        AssertBitwiseEqual(single, merged);
    }

    [Fact]
    public async Task Merge_ShardNotRun_ReportsItsMissingPassesAndRefuses()
    {
        using var scope = torch.NewDisposeScope();
        using var temp = new TempFolder();
        var (model, loader, options) = Setup(4, features: 6, perPass: 1);
        await Run(temp.Path, new ShardAssignment(0, 3), model, loader, options);
        await Run(temp.Path, new ShardAssignment(2, 3), model, loader, options);

        var report = ShardedDataLoaderAttribution.Inspect(temp.Path);
        var ex = Assert.Throws<InvalidOperationException>(() => ShardedDataLoaderAttribution.Merge(temp.Path));

        Assert.False(report.Complete);
        Assert.Equal("shard 1: not started, 2 of its passes missing: 2-3, its unperturbed metric missing", Assert.Single(report.Problems));
        Assert.Equal("passes=4 shards=3 missing=3", report.Summary);
        Assert.Contains("shard 1: not started", ex.Message);
        Assert.EndsWith("passes=4 shards=3 missing=3", ex.Message);
    }

    [Fact]
    public async Task RunShard_FolderOfAnotherRun_IsRefusedNamingEveryDifference()
    {
        using var scope = torch.NewDisposeScope();
        using var temp = new TempFolder();
        var model = new CountingModel(5);
        var loader = Loader(5);
        await Run(temp.Path, new ShardAssignment(0, 2), model, loader, Options(features: 4, perPass: 1));
        model.Calls = 0;

        var ex = await Assert.ThrowsAsync<ArgumentException>(() =>
            Run(temp.Path, new ShardAssignment(1, 3), model, loader, Options(features: 5, perPass: 2), spec: Spec("tanh-linear seed 2")));

        Assert.Equal("outFolder", ex.ParamName);
        Assert.Contains("model: the folder has 'tanh-linear seed 1', this run 'tanh-linear seed 2'", ex.Message);
        Assert.Contains("feature count: the folder has 4, this run 5", ex.Message);
        Assert.Contains("perturbations per pass: the folder has 1, this run 2", ex.Message);
        Assert.Contains("shard count: the folder has 2, this run 3", ex.Message);
        Assert.Equal(0, model.Calls);
        Assert.False(Directory.Exists(Path.Combine(temp.Path, "shard-00001")));
    }

    [Fact]
    public async Task RunShard_AnotherFeatureMaskWithAsManyFeatures_IsRefusedNamingTheFeatureIds()
    {
        using var scope = torch.NewDisposeScope();
        using var temp = new TempFolder();
        var (model, loader, options) = Setup(6, features: 4, perPass: 1);
        await Run(temp.Path, new ShardAssignment(0, 2), model, loader, options);
        model.Calls = 0;

        // Column c is feature (c + 1) % 4: as many features, other columns in each.
        var shifted = options with { FeatureMask = torch.arange(8).add(1).remainder(4).reshape(1, 8) };
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => Run(temp.Path, new ShardAssignment(1, 2), model, loader, shifted));

        Assert.Equal("outFolder", ex.ParamName);
        Assert.Contains("feature ids (their SHA-256): the folder has", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("feature count", ex.Message, StringComparison.Ordinal);
        Assert.Equal(0, model.Calls);
        Assert.False(Directory.Exists(Path.Combine(temp.Path, "shard-00001")));
    }

    [Fact]
    public async Task MergeAndResume_FeatureIdsDamagedAfterWriting_MergeNamesTheFileAndAWorkerWritesItAgain()
    {
        using var scope = torch.NewDisposeScope();
        using var temp = new TempFolder();
        var (model, loader, options) = Setup(16, features: 4, perPass: 2);
        await Run(temp.Path, new ShardAssignment(0, 2), model, loader, options);
        await Run(temp.Path, new ShardAssignment(1, 2), model, loader, options);
        using var undamaged = ShardedDataLoaderAttribution.Merge(temp.Path);
        using var undamagedFlat = ShardedDataLoaderAttribution.Merge(temp.Path, returnInputShape: false);

        // Column 0's feature id 0 becomes 1: still valid ids, which would put column 0 under feature 1's attribution.
        var ids = Path.Combine(temp.Path, ShardedDataLoaderAttribution.FeatureIdsFileName);
        var bytes = File.ReadAllBytes(ids);
        bytes[8 + (int)BitConverter.ToUInt64(bytes, 0)] ^= 0x01;
        File.WriteAllBytes(ids, bytes);

        var ex = Assert.Throws<InvalidDataException>(() => ShardedDataLoaderAttribution.Merge(temp.Path));
        using var flat = ShardedDataLoaderAttribution.Merge(temp.Path, returnInputShape: false);
        var resumed = await Run(temp.Path, new ShardAssignment(0, 2), model, loader, options);
        using var merged = ShardedDataLoaderAttribution.Merge(temp.Path);

        Assert.StartsWith($"{ids} is damaged: its SHA-256 differs from the one run.json recorded", ex.Message, StringComparison.Ordinal);
        AssertBitwiseEqual(undamagedFlat, flat);
        Assert.Equal(0, resumed.Computed);
        AssertBitwiseEqual(undamaged, merged);
    }

    [Fact]
    public async Task RunShard_FolderOfAttributeDataset_IsRefusedNamingTheKind()
    {
        using var scope = torch.NewDisposeScope();
        using var temp = new TempFolder();
        new AttributionRunSpec { Dataset = "scenes", Count = 4, Model = "vqa", Method = "layer-ig" }.RecordOrCheck(temp.Path);

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => Run(temp.Path, ShardAssignment.Single, new CountingModel(6), Loader(6), Options(4, 1)));

        Assert.Contains("kind: the folder has 'attribute-dataset', this run 'data-loader-attribution'", ex.Message);
    }

    [Theory]
    [InlineData(3, 3)]
    [InlineData(-1, 2)]
    public async Task RunShard_ShardIndexOutOfRange_IsRefusedBeforeAnyWork(int index, int count)
    {
        using var scope = torch.NewDisposeScope();
        using var temp = new TempFolder();
        var model = new CountingModel(7);
        var folder = Path.Combine(temp.Path, "out");

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => Run(folder, new ShardAssignment(index, count), model, Loader(7), Options(4, 1)));

        Assert.Equal("shard", ex.ParamName);
        Assert.Contains($"the shard index {index} is out of range for {count} shards", ex.Message);
        Assert.Equal(0, model.Calls);
        Assert.False(Directory.Exists(folder));
    }

    [Fact]
    public async Task RunShard_ShardClaimedByAnotherWorker_IsRefused()
    {
        using var scope = torch.NewDisposeScope();
        using var temp = new TempFolder();
        var shard = new ShardAssignment(1, 2);
        var folder = Directory.CreateDirectory(Path.Combine(temp.Path, shard.FolderName)).FullName;
        using var first = ShardLock.Acquire(folder, shard);

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => Run(temp.Path, shard, new CountingModel(8), Loader(8), Options(4, 1)));

        Assert.Contains("shard 1 of 2 is already being worked on", ex.Message);
    }

    [Fact]
    public async Task RunShard_DiskFullOnTheSecondPass_LeavesTheFirstReadableAndTheRestartCompletes()
    {
        using var scope = torch.NewDisposeScope();
        using var temp = new TempFolder();
        var (model, loader, options) = Setup(9, features: 3, perPass: 1);
        using var single = model.Method().Attribute(loader, options);
        var files = 0;
        // Files in order: the feature ids, the unperturbed metric, pass 0, pass 1 (the disk fills there).
        Stream Create(string path) => ++files == 4 ? new FullDiskStream(path) : File.Create(path);

        await Assert.ThrowsAsync<IOException>(() => Run(temp.Path, ShardAssignment.Single, model, loader, options, new() { CreateFile = Create }));
        var shardFolder = Path.Combine(temp.Path, "shard-00000");
        var manifest = DataLoaderShardManifest.Read(shardFolder)!;
        using var part = Captum.Checkpoints.SafeTensors.Load(Path.Combine(shardFolder, DataLoaderShardManifest.PartName(0)));
        var report = ShardedDataLoaderAttribution.Inspect(temp.Path);

        Assert.Equal([0], manifest.Passes);
        Assert.Equal([36L, 1L], part.Tensors["attributions"].shape);
        Assert.Empty(Directory.EnumerateFiles(shardFolder, "*.tmp"));
        Assert.Equal("shard 0: incomplete, 2 of its passes missing: 1-2", Assert.Single(report.Problems));

        model.Calls = 0;
        var resumed = await Run(temp.Path, ShardAssignment.Single, model, loader, options);
        using var merged = ShardedDataLoaderAttribution.Merge(temp.Path);
        Assert.Equal((2, 2), (resumed.Resumed, resumed.Computed));
        AssertBitwiseEqual(single, merged);
    }

    [Fact]
    public async Task RunShard_Progress_CountsEveryPassOverTheLoaderIncludingTheUnperturbedOne()
    {
        using var scope = torch.NewDisposeScope();
        using var temp = new TempFolder();
        var reports = new List<DataLoaderShardProgress>();
        var progress = new SynchronousProgress<DataLoaderShardProgress>(reports.Add);

        // 5 features, 2 per pass: passes 0-2; shard 1 of 2 holds pass 1 and 2.
        await Run(temp.Path, new ShardAssignment(1, 2), new CountingModel(10), Loader(10), Options(5, 2), new() { Progress = progress });

        Assert.Equal([0, 1, 2, 3], reports.Select(r => r.Done));
        Assert.All(reports, r => Assert.Equal(3, r.Total));
        Assert.Equal(TimeSpan.Zero, reports[^1].Remaining);
        Assert.StartsWith("shard 1 of 2: 3/3 passes (0 resumed)", reports[^1].ToString());
    }

    /// <summary>
    /// Changes one bit of float <paramref name="element"/> of a safetensors file's single tensor (a disk error): the
    /// file stays valid safetensors of the same dtype and shape, only that value differs.
    /// </summary>
    private static void FlipFloatByte(string path, int element)
    {
        var bytes = File.ReadAllBytes(path);
        var data = 8 + (int)BitConverter.ToUInt64(bytes, 0);   // an 8-byte header length, the JSON header, then the data
        Tensor before;
        using (var file = Captum.Checkpoints.SafeTensors.Load(path))
        {
            before = file.Tensors.Values.Single().clone();
        }

        bytes[data + (4 * element) + 2] ^= 0x10;
        File.WriteAllBytes(path, bytes);

        using var damaged = Captum.Checkpoints.SafeTensors.Load(path);
        var after = damaged.Tensors.Values.Single();
        Assert.Equal(ScalarType.Float32, after.dtype);
        Assert.Equal(before.shape, after.shape);
        Assert.Equal(1L, before.flatten().ne(after.flatten()).sum().item<long>());
    }

    /// <summary>A file that takes half of the first write and then fails as a full disk does.</summary>
    private sealed class FullDiskStream(string path) : FileStream(path, FileMode.CreateNew, FileAccess.Write)
    {
        public override void Write(ReadOnlySpan<byte> buffer)
        {
            base.Write(buffer[..(buffer.Length / 2)]);
            throw new IOException("No space left on device");
        }

        // Not through Write(ReadOnlySpan): FileStream's span overload calls this one in a derived class.
        public override void Write(byte[] buffer, int offset, int count)
        {
            base.Write(buffer, offset, count / 2);
            throw new IOException("No space left on device");
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Write(buffer.Span);
            return ValueTask.CompletedTask;
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            Write(buffer, offset, count);
            return Task.CompletedTask;
        }
    }
}
