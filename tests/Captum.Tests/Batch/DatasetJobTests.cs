using System.Text.Json;
using Captum.Batch;
using Captum.Explain;
using Captum.Plugins;
using Captum.Plugins.TextGeneration;
using Captum.Plugins.TextGeneration.Stories;
using Captum.Plugins.Vqa;
using Captum.Plugins.Vqa.Scenes;
using Xunit;
using static Captum.Tests.Batch.BatchTestSupport;

namespace Captum.Tests.Batch;

/// <summary>The request as attribute-dataset gives it: what a run folder records of the model, and what it compares.</summary>
public sealed class DatasetJobTests
{
    [Fact]
    public async Task RunAsync_ModelFileMovedElsewhere_IsTheSameRunAndResumes()
    {
        using var temp = new TempFolder();
        var first = Weights(temp, "mount-a", "weights v1");
        var out_ = Path.Combine(temp.Path, "out");
        await Run(out_, first);
        var moved = Path.Combine(Directory.CreateDirectory(Path.Combine(temp.Path, "mount-b")).FullName, "weights.bin");
        File.Move(first, moved);

        var again = await Run(out_, moved);

        Assert.Equal((2, 0), (again.Resumed, again.Computed));
        var spec = AttributionRunSpec.Read(out_);
        Assert.Equal(ContentDigest.OfPath(moved), spec.ModelFiles["weights"]);
        Assert.Equal(first, spec.ModelFilePaths["weights"]);
    }

    [Theory]
    [InlineData(false, "holds another run")] // the folder's run.json refuses it
    [InlineData(true, "shard-00000 holds examples computed for another run")] // run.json deleted, written anew: the shard's copy refuses it
    public async Task RunAsync_ModelFileWithOtherContentsAtTheSamePath_IsRefusedNamingTheFileAndBothDigests(bool runJsonDeleted, string refusal)
    {
        using var temp = new TempFolder();
        var path = Weights(temp, "mount", "weights v1");
        var out_ = Path.Combine(temp.Path, "out");
        await Run(out_, path);
        var before = ContentDigest.OfPath(path);
        File.WriteAllText(path, "weights v2");
        if (runJsonDeleted)
        {
            File.Delete(Path.Combine(out_, AttributionRunSpec.FileName));
        }

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => Run(out_, path));

        Assert.Equal("out", ex.ParamName);
        Assert.Contains(refusal, ex.Message);
        Assert.Contains($"model file 'weights' SHA-256: the folder has '{before}', this run '{ContentDigest.OfPath(path)}'", ex.Message);
        Assert.Equal(2, (await DatasetAttribution.ReadPartAsync(Directory.GetFiles(Path.Combine(out_, "shard-00000"), "*.parquet").Single())).Count);
    }

    [Fact]
    public async Task MergeAsync_ShardComputedWithOtherModelFilesThanRunJson_IsRefusedNamingTheFile()
    {
        using var temp = new TempFolder();
        var path = Weights(temp, "mount", "weights v1");
        var out_ = Path.Combine(temp.Path, "out");
        await Run(out_, path);
        var recorded = AttributionRunSpec.Read(out_);
        var other = new string('0', 64);
        File.Delete(Path.Combine(out_, AttributionRunSpec.FileName));
        (recorded with { ModelFiles = new(StringComparer.Ordinal) { ["weights"] = other } }).RecordOrCheck(out_);
        var merged = Path.Combine(temp.Path, "merged.parquet");

        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => ResultMerger.MergeAsync(out_, merged));

        Assert.Contains("shard 0 (", ex.Message);
        Assert.Contains($"model file 'weights' SHA-256: the folder has '{other}', this run '{recorded.ModelFiles["weights"]}'", ex.Message);
        Assert.False(File.Exists(merged));
    }

    [Fact]
    public async Task RunAsync_ModelFileMissing_IsRefusedNamingTheOptionBeforeWork()
    {
        using var temp = new TempFolder();
        var out_ = Path.Combine(temp.Path, "out");

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => Run(out_, Path.Combine(temp.Path, "nowhere.bin")));

        Assert.Equal("model-file", ex.ParamName);
        Assert.Contains("--model-file weights=", ex.Message);
        Assert.False(Directory.Exists(out_));
    }

    [Fact]
    public async Task RunAsync_ModelFileNameTheModelDoesNotRead_IsRefusedNamingItAndTheModelsFilesBeforeWork()
    {
        // A misspelt name would otherwise be recorded as if its file were in use while the model loads its default.
        using var temp = new TempFolder();
        var out_ = Path.Combine(temp.Path, "out");
        var path = Weights(temp, "mount", "weights v1");

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => DatasetJob.RunAsync(
            Request(out_, new Dictionary<string, string> { ["wieghts"] = path }), [new SceneDataset()], [new FileModelProvider()], ExplanationStrategies.BuiltIn, _ => null));

        Assert.Equal("model-file", ex.ParamName);
        Assert.StartsWith("--model-file wieghts: the model 'vqa' reads no file of that name; its files: weights.", ex.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(out_));
    }

    [Theory]
    [InlineData("/dev/zero", "character device")]
    [InlineData("/dev/null", "character device")]
    [InlineData("fifo", "pipe")]
    public async Task RunAsync_ManifestThatIsADeviceOrAPipe_IsRefusedNamingDatasetBeforeReadingIt(string manifest, string kind)
    {
        // /dev/zero would fill memory and a FIFO block for ever; neither is read.
        using var temp = new TempFolder();
        var out_ = Path.Combine(temp.Path, "out");
        if (manifest == "fifo")
        {
            manifest = Path.Combine(temp.Path, "examples.jsonl");
            MakeFifo(manifest);
        }

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => DatasetJob.RunAsync(
            new AttributeDatasetRequest { Dataset = manifest, Model = "vqa", Steps = Steps, Out = out_ }, [new SceneDataset()], [new VqaModelProvider()], ExplanationStrategies.BuiltIn, _ => null));

        Assert.Equal("dataset", ex.ParamName);
        Assert.StartsWith($"--dataset: dataset manifest: {manifest} is a {kind}, not a regular file.", ex.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(out_));
    }

    [Fact]
    public async Task RunAsync_ShippedModel_RecordsThePluginBuildAndItsEmbeddedWeights()
    {
        using var temp = new TempFolder();
        var out_ = Path.Combine(temp.Path, "out");

        await DatasetJob.RunAsync(Request(out_, new Dictionary<string, string>()), [new SceneDataset()], [new VqaModelProvider()], ExplanationStrategies.BuiltIn, _ => null);

        var spec = AttributionRunSpec.Read(out_);
        var plugin = typeof(VqaModelProvider).Assembly;
        Assert.Empty(spec.ModelFiles);
        Assert.StartsWith(plugin.GetName().Name + " ", spec.ModelBuild);
        Assert.EndsWith($", resources {ContentDigest.OfResources(plugin)}", spec.ModelBuild);
        Assert.Contains("model build: the folder has", Assert.Single((spec with { ModelBuild = "Captum.Plugins.Vqa 0.9, resources 00" }).Differences(spec)));
    }

    [Fact]
    public async Task RunAsync_ShippedStoryModel_RecordsTheSha256AndPathOfTheFolderItLoads()
    {
        using var temp = new TempFolder();
        var out_ = Path.Combine(temp.Path, "out");

        await DatasetJob.RunAsync(StoriesRequest(out_), [new StoryDataset()], [new StoryModelProvider()], ExplanationStrategies.BuiltIn, _ => null);

        var spec = AttributionRunSpec.Read(out_);
        Assert.Equal(ContentDigest.OfPath(StoryModel.DefaultFolder), spec.ModelFiles[StoryModelProvider.FolderFile]);
        Assert.Equal(Path.GetFullPath(StoryModel.DefaultFolder), spec.ModelFilePaths[StoryModelProvider.FolderFile]);
    }

    [Fact]
    public async Task RunAsync_DefaultModelFileChangedByOneByte_ResumeIsRefusedNamingTheFileAndBothDigests()
    {
        using var temp = new TempFolder();
        var folder = Path.Combine(temp.Path, "story-model");
        BuildOutputs.Copy(StoryModel.DefaultFolder, folder);
        var out_ = Path.Combine(temp.Path, "out");
        await DatasetJob.RunAsync(StoriesRequest(out_), [new StoryDataset()], [new StoryModelProvider(folder)], ExplanationStrategies.BuiltIn, _ => null);
        var before = ContentDigest.OfPath(folder);
        var weights = Path.Combine(folder, "model.safetensors");
        var bytes = File.ReadAllBytes(weights);
        bytes[^1] ^= 0x01; // the lowest bit of the last weight: the file still loads
        File.WriteAllBytes(weights, bytes);

        var ex = await Assert.ThrowsAsync<ArgumentException>(() =>
            DatasetJob.RunAsync(StoriesRequest(out_), [new StoryDataset()], [new StoryModelProvider(folder)], ExplanationStrategies.BuiltIn, _ => null));

        Assert.Equal("out", ex.ParamName);
        Assert.Contains($"model file '{StoryModelProvider.FolderFile}' SHA-256: the folder has '{before}', this run '{ContentDigest.OfPath(folder)}'", ex.Message);
    }

    [Fact]
    public async Task RunAsync_DefaultModelFileMissing_IsRefusedNamingTheOptionBeforeWork()
    {
        using var temp = new TempFolder();
        var out_ = Path.Combine(temp.Path, "out");
        var nowhere = Path.Combine(temp.Path, "no-model");

        var ex = await Assert.ThrowsAsync<ArgumentException>(() =>
            DatasetJob.RunAsync(StoriesRequest(out_), [new StoryDataset()], [new StoryModelProvider(nowhere)], ExplanationStrategies.BuiltIn, _ => null));

        Assert.Equal("model-file", ex.ParamName);
        Assert.Contains($"--model-file {StoryModelProvider.FolderFile}: not given, and the model 'story' reads it by default from {nowhere}", ex.Message);
        Assert.False(Directory.Exists(out_));
    }

    [Fact]
    public async Task RunAsync_StoryManifestWithPromptFiles_AttributesTheTokensOfEachFile()
    {
        using var temp = new TempFolder();
        using var stories = new StoryDataset().Open(new ExampleDatasetOptions { Count = 2 });
        var lines = new List<string>();
        for (var i = 0; i < 2; i++)
        {
            var story = stories.Get(i);
            File.WriteAllText(Path.Combine(temp.Path, $"story-{i}.txt"), story.Inputs[StoryAnswerModel.PromptInput].Text + "\n");
            lines.Add(JsonSerializer.Serialize(new { id = story.Id, inputs = new { prompt = new { file = $"story-{i}.txt" } }, label = story.ExpectedLabel }));
        }

        var manifest = Path.Combine(temp.Path, "stories.jsonl");
        File.WriteAllLines(manifest, lines);
        var out_ = Path.Combine(temp.Path, "out");

        await DatasetJob.RunAsync(StoriesRequest(out_) with { Dataset = manifest, Model = "story" }, [new StoryDataset()], [new StoryModelProvider()], ExplanationStrategies.BuiltIn, _ => null);

        // Each row is the row of the same story given inline.
        var rows = await DatasetAttribution.ReadPartAsync(Path.Combine(out_, "shard-00000", ShardPart.NameFor(0)));
        using var model = new StoryModelProvider().Load(new Dictionary<string, string>(), new Dictionary<string, string>());
        var inline = Enumerable.Range(0, 2).Select(i => DatasetAttribution.Attribute(i, stories, model, ExplanationStrategies.LayerIntegratedGradients, AttributionRunSpec.Read(out_))).ToList();
        Assert.All(rows, r => Assert.Null(r.Error));
        Assert.Equal(inline.Select(r => (r.ExampleId, r.Prediction, r.Probability)), rows.Select(r => (r.ExampleId, r.Prediction, r.Probability)));
        Assert.Equal(inline.Select(r => Assert.Single(r.Inputs).Labels), rows.Select(r => Assert.Single(r.Inputs).Labels));
        Assert.True(rows[0].Inputs[0].Labels.Count > 5, $"{rows[0].Inputs[0].Labels.Count} tokens");
    }

    private static AttributeDatasetRequest StoriesRequest(string out_) => new() { Dataset = "stories", Count = 2, Steps = Steps, Out = out_ };

    private static string Weights(TempFolder temp, string folder, string contents)
    {
        var path = Path.Combine(Directory.CreateDirectory(Path.Combine(temp.Path, folder)).FullName, "weights.bin");
        File.WriteAllText(path, contents);
        return path;
    }

    private static AttributeDatasetRequest Request(string out_, IReadOnlyDictionary<string, string> files) => new()
    {
        Dataset = "scenes",
        Count = 2,
        Steps = Steps,
        ModelFiles = files,
        Out = out_,
    };

    private static Task<ShardResult> Run(string out_, string weights) =>
        DatasetJob.RunAsync(Request(out_, new Dictionary<string, string> { ["weights"] = weights }), [new SceneDataset()], [new FileModelProvider()], ExplanationStrategies.BuiltIn, _ => null);

    /// <summary>The "vqa" model from a file of any contents: the shipped model, loaded once the file is read.</summary>
    private sealed class FileModelProvider : IInterpretableModelProvider
    {
        public string Name => "vqa";

        public string Description => "the shipped scenes model, behind a weights file";

        public IReadOnlyList<ModelFile> Files { get; } = [new("weights", "any file", true)];

        public IInterpretableModel Load(IReadOnlyDictionary<string, string> files, IReadOnlyDictionary<string, string> settings)
        {
            _ = File.ReadAllBytes(files["weights"]);
            return VqaModel.LoadDefault();
        }
    }
}
