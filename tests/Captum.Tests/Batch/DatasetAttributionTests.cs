using System.Text.Json;
using Captum.Batch;
using Captum.Explain;
using Captum.Plugins;
using Captum.Plugins.Vqa;
using TorchSharp;
using Xunit;
using static Captum.Tests.Batch.BatchTestSupport;

namespace Captum.Tests.Batch;

/// <summary>One worker's shard in process: resume, claims, refusals, a failing disk, manifest datasets, the merge.</summary>
public sealed class DatasetAttributionTests(ScenesModelFixture scenes) : IClassFixture<ScenesModelFixture>
{
    private readonly VqaModel model = scenes.Model;

    [Fact]
    public async Task RunShard_CancelledMidway_KeepsWhatIsDoneAndTheRestartMergesToTheUninterruptedRun()
    {
        using var temp = new TempFolder();
        var (whole, cut) = (Path.Combine(temp.Path, "whole"), Path.Combine(temp.Path, "cut"));
        var spec = Spec(5);
        await Run(whole, spec, ShardAssignment.Single, model, new() { RowGroupSize = 2 });
        using var cancel = new CancellationTokenSource();
        var progress = new SynchronousProgress<DatasetProgress>(p =>
        {
            if (p.Done == 3)
            {
                cancel.Cancel();
            }
        });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Run(cut, spec, ShardAssignment.Single, model, new() { RowGroupSize = 2, Progress = progress }, cancel.Token));
        var stopped = ShardManifest.Read(Path.Combine(cut, "shard-00000"))!;
        var resumed = await Run(cut, spec, ShardAssignment.Single, model, new() { RowGroupSize = 2 });

        Assert.False(stopped.Complete);
        Assert.Equal(3, stopped.Rows);
        Assert.Equal((3, 2), (resumed.Resumed, resumed.Computed));
        Assert.Equal(await MergedRows(whole, Path.Combine(temp.Path, "whole.parquet")), await MergedRows(cut, Path.Combine(temp.Path, "cut.parquet")));
    }

    [Fact]
    public async Task RunShard_AfterACrashBetweenRenameAndManifest_AdoptsThePartAndDeletesTemporaryFiles()
    {
        using var temp = new TempFolder();
        var spec = Spec(3);
        await Run(temp.Path, spec, ShardAssignment.Single, model, new() { RowGroupSize = 2 });
        var shardFolder = Path.Combine(temp.Path, "shard-00000");
        var manifest = ShardManifest.Read(shardFolder)!;
        (manifest with { Complete = false, Parts = [manifest.Parts[0]] }).Write(shardFolder);
        var stray = Path.Combine(shardFolder, "part-000000002.parquet.123.abc.tmp");
        File.WriteAllText(stray, "half a row group");

        var again = await Run(temp.Path, spec, ShardAssignment.Single, model, new() { RowGroupSize = 2 });

        Assert.Equal((3, 0), (again.Resumed, again.Computed));
        Assert.False(File.Exists(stray));
        Assert.True(ShardManifest.Read(shardFolder)!.Complete);
    }

    [Fact]
    public async Task RunShard_ShardClaimedByAnotherWorker_IsRefused()
    {
        using var temp = new TempFolder();
        var spec = Spec(4, shards: 2);
        var shard = new ShardAssignment(1, 2);
        var folder = Directory.CreateDirectory(Path.Combine(temp.Path, shard.FolderName)).FullName;
        using var first = ShardLock.Acquire(folder, shard);

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => Run(temp.Path, spec, shard, model));

        Assert.Contains("shard 1 of 2 is already being worked on", ex.Message);
        Assert.Null(ShardManifest.Read(folder));
    }

    [Fact]
    public async Task RunShard_FolderOfAnotherMethodOrSeed_IsRefusedNamingTheDifferences()
    {
        using var temp = new TempFolder();
        await Run(temp.Path, Spec(1), ShardAssignment.Single, model);

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => Run(temp.Path, Spec(1, method: "occlusion", seed: 4), ShardAssignment.Single, model));

        Assert.Equal("out", ex.ParamName);
        Assert.Contains("method: the folder has 'layer-ig', this run 'occlusion'", ex.Message);
        Assert.Contains("seed: the folder has 0, this run 4", ex.Message);
    }

    [Fact]
    public async Task RunShard_BlurBaseline_ChangesTheImagesShareAndIsPartOfTheRun()
    {
        using var temp = new TempFolder();
        var byModel = Path.Combine(temp.Path, "model");
        var byBlur = Path.Combine(temp.Path, "blur");
        await Run(byModel, Spec(2), ShardAssignment.Single, model);
        await Run(byBlur, Spec(2) with { Baseline = "blur" }, ShardAssignment.Single, model);

        var modelRows = await DatasetAttribution.ReadPartAsync(Path.Combine(byModel, "shard-00000", ShardManifest.Read(Path.Combine(byModel, "shard-00000"))!.Parts.Single().File));
        var blurRows = await DatasetAttribution.ReadPartAsync(Path.Combine(byBlur, "shard-00000", ShardManifest.Read(Path.Combine(byBlur, "shard-00000"))!.Parts.Single().File));
        Assert.Equal(modelRows.Select(r => r.Prediction), blurRows.Select(r => r.Prediction));
        Assert.NotEqual(modelRows.Select(r => r.Inputs[0].Contribution), blurRows.Select(r => r.Inputs[0].Contribution));
        Assert.Equal("blur", AttributionRunSpec.ReadShard(Path.Combine(byBlur, "shard-00000"))!.Baseline);

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => Run(byBlur, Spec(2), ShardAssignment.Single, model));
        Assert.Contains("baseline: the folder has 'blur', this run 'model'", ex.Message);
    }

    [Fact]
    public async Task RunShard_ShardCountNotTheRuns_IsRefusedBeforeWork()
    {
        using var temp = new TempFolder();

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => Run(temp.Path, Spec(4, shards: 2), new ShardAssignment(0, 3), model));

        Assert.Contains("split into 2", ex.Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(temp.Path));
    }

    [Fact]
    public async Task RunShard_DiskFullOnTheSecondPart_LeavesTheFirstReadableAndTheMergeNamesTheMissingExamples()
    {
        using var temp = new TempFolder();
        var spec = Spec(4);
        var files = 0;
        Stream Create(string path) => ++files == 2 ? new FullDiskStream(path, failAfter: 100) : File.Create(path);

        await Assert.ThrowsAsync<IOException>(() => Run(temp.Path, spec, ShardAssignment.Single, model, new() { RowGroupSize = 2, CreateFile = Create }));
        var shardFolder = Path.Combine(temp.Path, "shard-00000");
        var manifest = ShardManifest.Read(shardFolder)!;
        var rows = await DatasetAttribution.ReadPartAsync(Path.Combine(shardFolder, manifest.Parts.Single().File));
        var report = await ResultMerger.MergeAsync(temp.Path, Path.Combine(temp.Path, "merged.parquet"));

        Assert.Equal([0, 1], rows.Select(r => r.Index));
        Assert.All(rows, r => Assert.NotNull(r.Prediction));
        Assert.Empty(Directory.EnumerateFiles(shardFolder, "*.tmp"));
        Assert.Equal((2, 2), (report.Rows, report.Missing));
        Assert.Equal("shard 0: incomplete, 2 examples missing: 2-3", Assert.Single(report.Problems));
        Assert.Equal("rows=2 shards=1 missing=2", report.Summary);
        Assert.False(File.Exists(Path.Combine(temp.Path, "merged.parquet")));
    }

    [Fact]
    public async Task MergeAsync_ShardNotStarted_ReportsItsExamplesAndWritesNothing()
    {
        using var temp = new TempFolder();
        await Run(temp.Path, Spec(3, shards: 2), new ShardAssignment(0, 2), model);

        var report = await ResultMerger.MergeAsync(temp.Path, Path.Combine(temp.Path, "merged.parquet"));

        Assert.Equal("shard 1: not started, examples 1-2 missing", Assert.Single(report.Problems));
        Assert.Equal("rows=1 shards=2 missing=2", report.Summary);
    }

    [Fact]
    public async Task MergeAsync_Json_HoldsEveryRowWithIdPredictionProbabilityAndDelta()
    {
        using var temp = new TempFolder();
        await Run(temp.Path, Spec(3, shards: 2), new ShardAssignment(1, 2), model);
        await Run(temp.Path, Spec(3, shards: 2), new ShardAssignment(0, 2), model);
        var json = Path.Combine(temp.Path, "rows.json");

        var report = await ResultMerger.MergeAsync(temp.Path, Path.Combine(temp.Path, "merged.parquet"), json);
        using var document = JsonDocument.Parse(File.ReadAllText(json));
        var rows = document.RootElement.GetProperty("rows").EnumerateArray().ToList();
        var parquet = await DatasetAttribution.ReadPartAsync(Path.Combine(temp.Path, "merged.parquet"));

        Assert.Equal("rows=3 shards=2 missing=0", report.Summary);
        Assert.Equal(["scene-0-0", "scene-0-1", "scene-0-2"], rows.Select(r => r.GetProperty("exampleId").GetString()));
        Assert.Equal(parquet.Select(r => r.Prediction), rows.Select(r => r.GetProperty("prediction").GetString()));
        Assert.Equal(parquet.Select(r => r.Probability), rows.Select(r => (double?)r.GetProperty("probability").GetDouble()));
        Assert.Equal(parquet.Select(r => r.Delta), rows.Select(r => (double?)r.GetProperty("delta").GetDouble()));
    }

    [Fact]
    public async Task RunShard_Rows_SummariseTheExplanationOfEachExample()
    {
        using var temp = new TempFolder();
        await Run(temp.Path, Spec(1), ShardAssignment.Single, model);
        await MergedRows(temp.Path, Path.Combine(temp.Path, "m.parquet"));
        var row = Assert.Single(await DatasetAttribution.ReadPartAsync(Path.Combine(temp.Path, "m.parquet")));
        using var dataset = Scenes(1);
        var example = dataset.Get(0);
        using var scope = torch.NewDisposeScope();
        using var explanation = ExplanationStrategies.LayerIntegratedGradients.Explain(model, model.Prepare(example.Inputs), new ExplanationOptions { Steps = Steps });

        await using (var reader = await Parquet.ParquetReader.CreateAsync(Path.Combine(temp.Path, "m.parquet")))
        {
            Assert.Equal(
                ["index", "exampleId", "expectedLabel", "prediction", "predictionIndex", "probability", "target", "targetIndex", "delta", "steps", "timeMs", "error", "inputs", "annotations"],
                reader.Schema.Fields.Select(f => f.Name));
        }

        Assert.Equal(example.Id, row.ExampleId);
        Assert.Equal(example.ExpectedLabel, row.ExpectedLabel);
        Assert.Equal(explanation.Label, row.Prediction);
        Assert.Equal(explanation.Probability, row.Probability!.Value, 6);
        Assert.Equal(explanation.Delta, row.Delta!.Value, 5);
        var (image, question) = (row.Inputs.Single(i => i.Kind == "image"), row.Inputs.Single(i => i.Kind == "text"));
        Assert.Equal((8, 8, 64), (image.Rows, image.Columns, image.Scores.Count));
        var pixels = explanation.Inputs[0].Attribution.shape[1] * explanation.Inputs[0].Attribution.shape[2];
        Assert.Equal(image.Contribution, image.Scores.Sum(s => (double)s) * pixels / 64, 3);
        Assert.Equal(((TextDisplay)explanation.Inputs[1].Display).Tokens, question.Labels);
        Assert.Equal(explanation.Inputs[1].TokenAttributions!, question.Scores);
    }

    [Fact]
    public async Task RunShard_ManifestWithAMissingImage_GivesThatRowAnErrorAndAttributesTheOthers()
    {
        using var temp = new TempFolder();
        using var scenesData = Scenes(2);
        var lines = new List<string>();
        for (var i = 0; i < 2; i++)
        {
            var example = scenesData.Get(i);
            File.WriteAllBytes(Path.Combine(temp.Path, $"s{i}.png"), example.Inputs[VqaModel.ImageInput].Content.ToArray());
            lines.Add(JsonSerializer.Serialize(new { id = example.Id, inputs = new Dictionary<string, string> { ["image"] = $"s{i}.png", ["question"] = example.Inputs[VqaModel.QuestionInput].Text! }, label = example.ExpectedLabel }));
        }

        lines.Insert(1, """{"id": "lost", "inputs": {"image": "nowhere.png", "question": "what color is the square?"}}""");
        var manifestPath = Path.Combine(temp.Path, "examples.jsonl");
        File.WriteAllLines(manifestPath, lines);
        using var manifest = ManifestDataset.Open(manifestPath, model.RawInputs);
        var spec = Spec(3) with { Dataset = "examples.jsonl", DatasetDigest = manifest.Digest };
        var output = Path.Combine(temp.Path, "out");

        var result = await DatasetAttribution.RunShardAsync(output, spec, ShardAssignment.Single, manifest, model, ExplanationStrategies.LayerIntegratedGradients);
        var rows = await DatasetAttribution.ReadPartAsync(Path.Combine(output, "shard-00000", ShardPart.NameFor(0)));

        Assert.Equal(1, result.Errors);
        Assert.Equal(["scene-0-0", "lost", "scene-0-1"], rows.Select(r => r.ExampleId));
        Assert.Contains("nowhere.png", rows[1].Error);
        Assert.Null(rows[1].Prediction);
        Assert.All([rows[0], rows[2]], r => Assert.Null(r.Error));
        Assert.All([rows[0], rows[2]], r => Assert.NotNull(r.Prediction));
    }

    [Fact]
    public async Task RunShard_ManifestWithTextFiles_ReadsThemAndGivesAMissingOneAnErrorNamingTheExampleAndPath()
    {
        using var temp = new TempFolder();
        using var scenesData = Scenes(1);
        var example = scenesData.Get(0);
        File.WriteAllBytes(Path.Combine(temp.Path, "s0.png"), example.Inputs[VqaModel.ImageInput].Content.ToArray());
        Directory.CreateDirectory(Path.Combine(temp.Path, "questions"));
        File.WriteAllText(Path.Combine(temp.Path, "questions", "q0.txt"), example.Inputs[VqaModel.QuestionInput].Text + "\n");
        var manifestPath = Path.Combine(temp.Path, "examples.jsonl");
        File.WriteAllLines(manifestPath, [
            """{"id": "from-file", "inputs": {"image": "s0.png", "question": {"file": "questions/q0.txt"}}}""",
            """{"id": "lost", "inputs": {"image": "s0.png", "question": {"file": "questions/nowhere.txt"}}}""",
        ]);
        using var manifest = ManifestDataset.Open(manifestPath, model.RawInputs);
        var spec = Spec(2) with { Dataset = "examples.jsonl", DatasetDigest = manifest.Digest };
        var output = Path.Combine(temp.Path, "out");

        var result = await DatasetAttribution.RunShardAsync(output, spec, ShardAssignment.Single, manifest, model, ExplanationStrategies.LayerIntegratedGradients);
        var rows = await DatasetAttribution.ReadPartAsync(Path.Combine(output, "shard-00000", ShardPart.NameFor(0)));

        // The row of the question from its file is the row of the same question given inline.
        var inline = DatasetAttribution.Attribute(0, scenesData, model, ExplanationStrategies.LayerIntegratedGradients, spec);
        Assert.Equal(1, result.Errors);
        Assert.Equal(["from-file", "lost"], rows.Select(r => r.ExampleId));
        Assert.Equal((inline.Prediction, inline.Probability), (rows[0].Prediction, rows[0].Probability));
        Assert.Equal(inline.Inputs.Select(i => i.Labels), rows[0].Inputs.Select(i => i.Labels));
        Assert.Equal($"{manifestPath}:2: example 'lost': the text file of 'question' is missing: {Path.Combine(temp.Path, "questions", "nowhere.txt")}", rows[1].Error);
        Assert.Null(rows[1].Prediction);
    }

    [Fact]
    public void ManifestDataset_TextFileNotUtf8_GetThrowsNamingTheLineExampleAndPath()
    {
        using var temp = new TempFolder();
        var path = Path.Combine(temp.Path, "set.jsonl");
        File.WriteAllText(path, """{"id": "ids", "inputs": {"image": "a.png", "question": {"file": "tokens.bin"}}}""");
        File.WriteAllBytes(Path.Combine(temp.Path, "tokens.bin"), [0x07, 0xFF, 0xFE, 0x00]);
        using var dataset = ManifestDataset.Open(path, model.RawInputs);

        var ex = Assert.Throws<ExampleInputException>(() => dataset.Get(0));

        Assert.Equal("ids", ex.ExampleId);
        Assert.Equal($"{path}:1: example 'ids': the text file of 'question' is not UTF-8 text: {Path.Combine(temp.Path, "tokens.bin")}", ex.Message);
    }

    [Fact]
    public void ManifestDataset_TextFileThatIsAPipe_GetThrowsNamingItWithoutReadingIt()
    {
        // A FIFO no one writes to would block the reader, and so the worker, for ever.
        using var temp = new TempFolder();
        var path = Path.Combine(temp.Path, "set.jsonl");
        File.WriteAllText(path, """{"id": "piped", "inputs": {"image": "a.png", "question": {"file": "q.fifo"}}}""");
        var fifo = Path.Combine(temp.Path, "q.fifo");
        BatchTestSupport.MakeFifo(fifo);
        using var dataset = ManifestDataset.Open(path, model.RawInputs);

        var ex = Assert.Throws<ExampleInputException>(() => dataset.Get(0));

        Assert.Equal("piped", ex.ExampleId);
        Assert.Equal($"{path}:1: example 'piped': the text file of 'question': {fifo} is a pipe, not a regular file.", ex.Message);
    }

    [Fact]
    public void ManifestDataset_TextFile_IsItsUtf8TextWithoutTheFinalLineEnding()
    {
        using var temp = new TempFolder();
        var path = Path.Combine(temp.Path, "set.jsonl");
        File.WriteAllText(path, """{"inputs": {"question": {"file": "q.txt"}, "image": {"file": "a.png"}}}""");
        File.WriteAllText(Path.Combine(temp.Path, "q.txt"), "what colour is the café ?\r\n", new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: true));
        using var dataset = ManifestDataset.Open(path, model.RawInputs);

        var example = dataset.Get(0);

        Assert.Equal("what colour is the café ?", example.Inputs["question"].Text);
        Assert.Equal(Path.Combine(temp.Path, "a.png"), example.Inputs["image"].Text);
    }

    [Theory]
    [InlineData("""{"path": "q.txt"}""")]
    [InlineData("""{"file": "q.txt", "encoding": "latin1"}""")]
    [InlineData("""{"file": 3}""")]
    public void ManifestDataset_InputObjectOtherThanAFile_IsRefusedNamingTheLine(string value)
    {
        using var temp = new TempFolder();
        var path = Path.Combine(temp.Path, "bad.jsonl");
        File.WriteAllLines(path, ["""{"inputs": {"image": "a.png", "question": "what shape?"}}""", """{"inputs": {"image": "a.png", "question": """ + value + "}}"]);

        var ex = Assert.Throws<ArgumentException>(() => ManifestDataset.Open(path, model.RawInputs));

        Assert.Contains("bad.jsonl:2: the value of 'question' is a string or {\"file\": path}", ex.Message);
    }

    [Fact]
    public void ManifestDataset_UnknownInputName_IsRefusedNamingTheLine()
    {
        using var temp = new TempFolder();
        var path = Path.Combine(temp.Path, "bad.jsonl");
        File.WriteAllLines(path, ["""{"inputs": {"image": "a.png", "question": "what shape?"}}""", """{"inputs": {"picture": "a.png"}}"""]);

        var ex = Assert.Throws<ArgumentException>(() => ManifestDataset.Open(path, model.RawInputs));

        Assert.Contains("bad.jsonl:2", ex.Message);
        Assert.Contains("'picture'", ex.Message);
    }

    [Fact]
    public void Attribute_ModelWithItsOwnSummarizer_StoresItsSummaryInsteadOfTheDefault()
    {
        using var dataset = Scenes(1);
        using var own = new SummarizedModel(model);

        var row = DatasetAttribution.Attribute(0, dataset, own, ExplanationStrategies.LayerIntegratedGradients, Spec(1) with { Grid = 3 });

        var summary = Assert.Single(row.Inputs);
        Assert.Equal(("answer", "own", 3), (summary.Input, summary.Kind, summary.Rows));
        Assert.Equal([(float)row.Probability!.Value], summary.Scores);
    }

    [Fact]
    public void ManifestDataset_JsonArray_ResolvesFileInputsAgainstItsFolderAndNumbersIdsByPosition()
    {
        using var temp = new TempFolder();
        var path = Path.Combine(temp.Path, "set.json");
        File.WriteAllText(path, """[{"inputs": {"image": "a.png", "question": "what shape?"}, "annotations": {"n": 2}}, {"id": "b", "inputs": {"image": "/x/b.png", "question": "how many?"}, "label": "3"}]""");

        using var dataset = ManifestDataset.Open(path, model.RawInputs);

        Assert.Equal(2, dataset.Count);
        Assert.Equal(("line-1", Path.Combine(temp.Path, "a.png"), "2"), (dataset.Get(0).Id, dataset.Get(0).Inputs["image"].Text, dataset.Get(0).Annotations["n"]));
        Assert.Equal(("b", "/x/b.png", "3"), (dataset.Get(1).Id, dataset.Get(1).Inputs["image"].Text, dataset.Get(1).ExpectedLabel));
        Assert.Equal(64, dataset.Digest.Length);
    }

    [Fact]
    public void ManifestDataset_NumericIdAndLabel_AreTakenAsWritten()
    {
        using var temp = new TempFolder();
        var path = Path.Combine(temp.Path, "vqa.jsonl");
        File.WriteAllLines(path, ["""{"id": 17, "inputs": {"image": "a.png", "question": "how many?"}, "label": 2}""", """{"id": 1.5e3, "inputs": {"image": "a.png", "question": "what?"}, "label": null}"""]);

        using var dataset = ManifestDataset.Open(path, model.RawInputs);

        Assert.Equal(("17", "2"), (dataset.Get(0).Id, dataset.Get(0).ExpectedLabel));
        Assert.Equal(("1.5e3", null), (dataset.Get(1).Id, dataset.Get(1).ExpectedLabel));
    }

    [Theory]
    [InlineData("""{"id": ["a"], "inputs": {"image": "a.png", "question": "what?"}}""", "bad.jsonl:2: \"id\" must be a string or a number, not array.")]
    [InlineData("""{"inputs": {"image": "a.png", "question": "what?"}, "label": true}""", "bad.jsonl:2: \"label\" must be a string or a number, not true.")]
    [InlineData("""{"id": "d", "inputs": {"image": "a.png"}}""", "bad.jsonl:2: the example has no input 'question'; the model takes image, question.")]
    public void ManifestDataset_IdOrLabelOfAnotherKindOrAnInputLeftOut_IsRefusedNamingTheLineBeforeWork(string line, string message)
    {
        using var temp = new TempFolder();
        var path = Path.Combine(temp.Path, "bad.jsonl");
        File.WriteAllLines(path, ["""{"inputs": {"image": "a.png", "question": "what shape?"}}""", line]);

        var ex = Assert.Throws<ArgumentException>(() => ManifestDataset.Open(path, model.RawInputs));

        Assert.Equal("dataset", ex.ParamName);
        Assert.StartsWith(Path.Combine(temp.Path, message), ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ManifestDataset_IdUsedTwice_IsRefusedNamingTheLine()
    {
        using var temp = new TempFolder();
        var path = Path.Combine(temp.Path, "twice.jsonl");
        File.WriteAllLines(path, ["""{"id": "a", "inputs": {"image": "a.png", "question": "what?"}}""", "", """{"id": "a", "inputs": {"image": "a.png", "question": "why?"}}"""]);

        var ex = Assert.Throws<ArgumentException>(() => ManifestDataset.Open(path, model.RawInputs));

        Assert.Contains("twice.jsonl:3: the id 'a' is used twice", ex.Message);
    }

    /// <summary>The scenes model with a summary of its own: the probability of the answer, on a grid-sized row.</summary>
    private sealed class SummarizedModel(VqaModel inner) : IInterpretableModel, IExplanationSummarizer
    {
        public string Name => inner.Name;

        public IReadOnlyList<RawInputSpec> RawInputs => inner.RawInputs;

        public Captum.Forward.ForwardFunction Forward => inner.Forward;

        public IReadOnlyList<Captum.Layers.LayerReference> AttributionLayers => inner.AttributionLayers;

        public IReadOnlyList<string> Labels => inner.Labels;

        public PreparedInput Prepare(IReadOnlyDictionary<string, string> rawInputs) => inner.Prepare(rawInputs);

        public PreparedInput Prepare(IReadOnlyDictionary<string, RawInputValue> rawInputs) => inner.Prepare(rawInputs);

        public IReadOnlyList<InputSummary> Summarize(Explanation explanation, int grid) =>
            [new InputSummary("answer", "own", [explanation.Label], [(float)explanation.Probability], grid, 1, explanation.TotalContribution)];

        public void Dispose()
        {
        }
    }

    /// <summary>A file that takes <c>failAfter</c> bytes and then fails as a full disk does.</summary>
    private sealed class FullDiskStream(string path, int failAfter) : FileStream(path, FileMode.CreateNew, FileAccess.Write)
    {
        private long written;

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            Fill(buffer.Length);
            base.Write(buffer);
        }

        public override void Write(byte[] buffer, int offset, int count)
        {
            Fill(count);
            base.Write(buffer, offset, count);
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Fill(buffer.Length);
            return base.WriteAsync(buffer, cancellationToken);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            Fill(count);
            return base.WriteAsync(buffer, offset, count, cancellationToken);
        }

        private void Fill(int count)
        {
            written += count;
            if (written > failAfter)
            {
                throw new IOException("No space left on device");
            }
        }
    }
}
