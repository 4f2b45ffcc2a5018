using Captum.Cli;
using Xunit;

namespace Captum.Tests.Cli;

/// <summary>captum attribute-dataset and merge-results through the command line, on the minimal plugin's fast toy model and a manifest.</summary>
public sealed class BatchCommandTests
{
    private static string MinimalOutput => BuildOutputs.Of(Path.Combine("tests", "TestPlugins", "Captum.Plugins.Minimal"));

    private static (int Code, string Output, string Error) Run(string plugins, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = CaptumCli.Run(["--plugins", plugins, .. args], output, error);
        return (code, output.ToString(), error.ToString());
    }

    private static (TempFolder Temp, string Plugins, string Manifest) Setup()
    {
        var temp = new TempFolder();
        var plugins = Path.Combine(temp.Path, "plugins");
        BuildOutputs.Copy(MinimalOutput, Path.Combine(plugins, "Captum.Plugins.Minimal"));
        var manifest = Path.Combine(temp.Path, "reviews.jsonl");
        File.WriteAllLines(manifest, [
            """{"id": "r1", "inputs": {"text": "good movie"}, "label": "positive"}""",
            """{"id": "r2", "inputs": {"text": "bad plot"}, "label": "negative"}""",
            """{"id": "r3", "inputs": {"text": "good plot bad movie"}}""",
            """{"id": "r4", "inputs": {"text": "movie"}, "label": "negative"}""",
            """{"id": "r5", "inputs": {"text": "bad bad movie"}, "label": "negative"}""",
        ]);
        return (temp, plugins, manifest);
    }

    [Fact]
    public void AttributeDataset_TwoShardsThenMerge_ExitsZeroEndingWithTheRowCount()
    {
        var (temp, plugins, manifest) = Setup();
        using var _ = temp;
        var outFolder = Path.Combine(temp.Path, "out");
        string[] common = ["attribute-dataset", "--dataset", manifest, "--method", "token-drop", "--out", outFolder, "--shard-count", "2"];

        var first = Run(plugins, [.. common, "--shard-index", "1"]);
        var (missingCode, missingOutput, _) = Run(plugins, "merge-results", outFolder, "--out", Path.Combine(temp.Path, "m.parquet"));
        var second = Run(plugins, [.. common, "--shard-index", "0"]);
        var (folderCode, _, folderError) = Run(plugins, "merge-results", outFolder, "--out", temp.Path);
        var (code, output, error) = Run(plugins, "merge-results", outFolder, "--out", Path.Combine(temp.Path, "merged", "m.parquet"), "--json", Path.Combine(temp.Path, "m.json"));

        Assert.True(first.Code == 0, first.Error);
        Assert.Contains("shard 1 of 2: examples 2-4 complete (0 resumed, 3 computed, 0 with errors)", first.Output);
        Assert.Equal(2, missingCode);
        Assert.Contains("shard 0: not started, examples 0-1 missing", missingOutput);
        Assert.Equal("rows=3 shards=2 missing=2", missingOutput.TrimEnd().Split('\n')[^1]);
        Assert.True(second.Code == 0, second.Error);
        Assert.Equal(2, folderCode);
        Assert.StartsWith($"captum: error: --out: {temp.Path} is a folder", folderError, StringComparison.Ordinal);
        Assert.True(code == 0, error); // the merged file's folder is made
        Assert.True(File.Exists(Path.Combine(temp.Path, "merged", "m.parquet")));
        Assert.Equal("rows=5 shards=2 missing=0", output.TrimEnd().Split('\n')[^1]);
        Assert.Contains("\"exampleId\":\"r5\"", File.ReadAllText(Path.Combine(temp.Path, "m.json")));
    }

    [Theory]
    [InlineData("incomplete")]
    [InlineData("json-is-a-folder")]
    [InlineData("json-under-a-file")]
    public void MergeResults_IncompleteRunOrBadJson_Exits2LeavingNoNewFolder(string problem)
    {
        var (temp, plugins, manifest) = Setup();
        using var _ = temp;
        var outFolder = Path.Combine(temp.Path, "out");
        string[] common = ["attribute-dataset", "--dataset", manifest, "--method", "token-drop", "--out", outFolder, "--shard-count", "2"];
        Assert.Equal(0, Run(plugins, [.. common, "--shard-index", "1"]).Code);
        if (problem != "incomplete")
        {
            Assert.Equal(0, Run(plugins, [.. common, "--shard-index", "0"]).Code);
        }

        File.WriteAllText(Path.Combine(temp.Path, "plain"), string.Empty);
        var merged = Path.Combine(temp.Path, "merged");
        string[] json = problem switch
        {
            "json-is-a-folder" => ["--json", temp.Path],
            "json-under-a-file" => ["--json", Path.Combine(temp.Path, "plain", "m.json")],
            _ => ["--json", Path.Combine(temp.Path, "json", "m.json")],
        };

        var (code, _, error) = Run(plugins, ["merge-results", outFolder, "--out", Path.Combine(merged, "m.parquet"), .. json]);

        Assert.Equal(2, code);
        Assert.False(Directory.Exists(merged));
        Assert.False(Directory.Exists(Path.Combine(temp.Path, "json")));
        if (problem != "incomplete")
        {
            Assert.StartsWith("captum: error: --json: ", error, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void MergeResults_OneShardsFolder_Exits2NamingTheRunsFolder()
    {
        var (temp, plugins, manifest) = Setup();
        using var _ = temp;
        var outFolder = Path.Combine(temp.Path, "out");
        Assert.Equal(0, Run(plugins, "attribute-dataset", "--dataset", manifest, "--method", "token-drop", "--out", outFolder).Code);
        var shardFolder = Path.Combine(outFolder, "shard-00000");

        var (code, _, error) = Run(plugins, "merge-results", shardFolder, "--out", Path.Combine(temp.Path, "m.parquet"));

        Assert.Equal(2, code);
        Assert.StartsWith($"captum: error: {shardFolder} is one shard's folder of the run in {outFolder}: merge the run's folder, {outFolder}.", error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(temp.Path, "m.parquet")));
    }

    [Theory]
    [InlineData("json-is-out", "--json")]
    [InlineData("json-is-out-by-another-path", "--json")]
    [InlineData("json-is-out-through-a-link", "--json")]
    [InlineData("out-is-run-json", "--out")]
    [InlineData("out-is-run-json-through-a-link-to-the-folder", "--out")]
    [InlineData("json-is-a-shard-manifest", "--json")]
    [InlineData("out-is-a-part", "--out")]
    public void MergeResults_OutputCollidingWithTheOtherOrAnInput_Exits2NamingItBeforeWritingAnything(string collision, string named)
    {
        var (temp, plugins, manifest) = Setup();
        using var _ = temp;
        var outFolder = Path.Combine(temp.Path, "out");
        string[] common = ["attribute-dataset", "--dataset", manifest, "--method", "token-drop", "--out", outFolder, "--shard-count", "2"];
        Assert.Equal(0, Run(plugins, [.. common, "--shard-index", "0"]).Code);
        Assert.Equal(0, Run(plugins, [.. common, "--shard-index", "1"]).Code);
        var merged = Path.Combine(temp.Path, "m.parquet");
        Directory.CreateDirectory(Path.Combine(temp.Path, "sub"));
        var link = Path.Combine(temp.Path, "link");
        var part = Directory.GetFiles(Path.Combine(outFolder, "shard-00001"), "part-*.parquet").First();
        string[] files = collision switch
        {
            "json-is-out" => ["--out", merged, "--json", merged],
            "json-is-out-by-another-path" => ["--out", merged, "--json", Path.Combine(temp.Path, "sub", "..", ".", "m.parquet")],
            "json-is-out-through-a-link" => ["--out", merged, "--json", Path.Combine(link, "m.parquet")],
            "out-is-run-json" => ["--out", Path.Combine(outFolder, "run.json")],
            "out-is-run-json-through-a-link-to-the-folder" => ["--out", Path.Combine(link, "run.json"), "--json", Path.Combine(temp.Path, "m.json")],
            "json-is-a-shard-manifest" => ["--out", merged, "--json", Path.Combine(outFolder, "shard-00000", "manifest.json")],
            _ => ["--out", part],
        };
        Directory.CreateSymbolicLink(link, collision.Contains("folder", StringComparison.Ordinal) ? outFolder : temp.Path);
        var before = Directory.GetFiles(outFolder, "*", SearchOption.AllDirectories).ToDictionary(f => f, File.ReadAllBytes);

        var (code, output, error) = Run(plugins, ["merge-results", outFolder, .. files]);

        Assert.Equal(2, code);
        Assert.StartsWith($"captum: error: {named}: ", error, StringComparison.Ordinal);
        if (collision.StartsWith("json-is-out", StringComparison.Ordinal))
        {
            Assert.Contains("--out", error[$"captum: error: {named}: ".Length..], StringComparison.Ordinal);
        }
        else
        {
            Assert.Contains("the run's own files", error, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("rows=", output, StringComparison.Ordinal);
        Assert.False(File.Exists(merged));
        Assert.False(File.Exists(Path.Combine(temp.Path, "m.json")));
        Assert.All(before, f => Assert.Equal(f.Value, File.ReadAllBytes(f.Key)));
        Assert.Equal(before.Keys.Order(), Directory.GetFiles(outFolder, "*", SearchOption.AllDirectories).Order());
    }

    [Fact]
    public void AttributeDataset_CountOverTheManifestsExamples_Exits2NamingCount()
    {
        var (temp, plugins, manifest) = Setup();
        using var _ = temp;

        var (code, _, error) = Run(plugins, "attribute-dataset", "--dataset", manifest, "--method", "token-drop", "--count", "10", "--out", Path.Combine(temp.Path, "out"));

        Assert.Equal(2, code);
        Assert.StartsWith($"captum: error: --count: 10 examples asked of {manifest}, which holds 5", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a-file", "--out: {0}/a-file is a file, not a folder.")]
    [InlineData("a-file/x", "--out: {0}/a-file is a file, so the folder {0}/a-file/x cannot be made.")]
    [InlineData("", "--out: no folder given.")]
    public void AttributeDataset_OutThatCannotBeAFolder_Exits2NamingOutBeforeWork(string out_, string message)
    {
        var (temp, plugins, manifest) = Setup();
        using var _ = temp;
        var file = Path.Combine(temp.Path, "a-file");
        File.WriteAllText(file, "mine");

        var (code, _, error) = Run(plugins, "attribute-dataset", "--dataset", manifest, "--method", "token-drop", "--out", out_.Length == 0 ? "" : Path.Combine(temp.Path, out_));

        Assert.Equal(2, code);
        Assert.StartsWith("captum: error: " + string.Format(System.Globalization.CultureInfo.InvariantCulture, message, temp.Path), error, StringComparison.Ordinal);
        Assert.Equal("mine", File.ReadAllText(file));
    }

    [Fact]
    public void AttributeDataset_FlushSecondsAboveTheTimerMaximum_Exits2NamingItBeforeWriting()
    {
        var (temp, plugins, manifest) = Setup();
        using var _ = temp;

        var (code, _, error) = Run(plugins, "attribute-dataset", "--dataset", manifest, "--method", "token-drop", "--out", Path.Combine(temp.Path, "out"), "--flush-seconds", "5000000");

        Assert.Equal(2, code);
        Assert.Contains("--flush-seconds", error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(temp.Path, "out")));
    }

    [Fact]
    public void AttributeDataset_ShardIndexFromJobCompletionIndexOutOfRange_Exits2NamingIt()
    {
        var (temp, plugins, manifest) = Setup();
        using var _ = temp;

        var (code, _, error) = Run(plugins, "attribute-dataset", "--dataset", manifest, "--out", Path.Combine(temp.Path, "out"), "--shard-index", "2", "--shard-count", "2");

        Assert.Equal(2, code);
        Assert.Contains("--shard-index", error);
        Assert.Contains("[0, 1]", error);
        Assert.False(Directory.Exists(Path.Combine(temp.Path, "out")));
    }

    [Fact]
    public void AttributeDataset_FolderOfAnotherMethod_Exits2NamingTheDifference()
    {
        var (temp, plugins, manifest) = Setup();
        using var _ = temp;
        var outFolder = Path.Combine(temp.Path, "out");
        Assert.Equal(0, Run(plugins, "attribute-dataset", "--dataset", manifest, "--method", "token-drop", "--out", outFolder, "--count", "1").Code);

        var (code, _, error) = Run(plugins, "attribute-dataset", "--dataset", manifest, "--method", "layer-ig", "--out", outFolder, "--count", "1");

        Assert.Equal(2, code);
        Assert.Contains("method: the folder has 'token-drop', this run 'layer-ig'", error);
    }

    [Fact]
    public void AttributeDataset_TargetExpected_ExplainsEachLabelAndGivesARowWithoutOneAnError()
    {
        var (temp, plugins, manifest) = Setup();
        using var _ = temp;
        var outFolder = Path.Combine(temp.Path, "out");
        var json = Path.Combine(temp.Path, "m.json");

        var run = Run(plugins, "attribute-dataset", "--dataset", manifest, "--method", "token-drop", "--target", "expected", "--out", outFolder);
        var merge = Run(plugins, "merge-results", outFolder, "--out", Path.Combine(temp.Path, "m.parquet"), "--json", json);
        using var document = System.Text.Json.JsonDocument.Parse(File.ReadAllText(json));
        var rows = document.RootElement.GetProperty("rows").EnumerateArray().ToList();

        Assert.True(run.Code == 0, run.Error);
        Assert.Contains("1 with errors", run.Output);
        Assert.Equal(0, merge.Code);
        Assert.Equal(["positive", "negative", null, "negative", "negative"], rows.Select(r => r.GetProperty("target").GetString()));
        Assert.Contains("no expected label", rows[2].GetProperty("error").GetString());
    }

    [Fact]
    public void AttributeDataset_MoreShardsThanExamples_EmptyShardCompletesAndTheMergeHasEveryRow()
    {
        var (temp, plugins, manifest) = Setup();
        using var _ = temp;
        var outFolder = Path.Combine(temp.Path, "out");
        string[] common = ["attribute-dataset", "--dataset", manifest, "--method", "token-drop", "--count", "1", "--out", outFolder, "--shard-count", "2"];

        var empty = Run(plugins, [.. common, "--shard-index", "0"]);
        var full = Run(plugins, [.. common, "--shard-index", "1"]);
        var (code, output, _) = Run(plugins, "merge-results", outFolder, "--out", Path.Combine(temp.Path, "m.parquet"));

        Assert.True(empty.Code == 0, empty.Error);
        Assert.Contains("no examples (the run has fewer examples than shards), complete", empty.Output);
        Assert.True(full.Code == 0, full.Error);
        Assert.Equal(0, code);
        Assert.Equal("rows=1 shards=2 missing=0", output.TrimEnd().Split('\n')[^1]);
    }

    [Fact]
    public void AttributeDataset_UnknownDataset_Exits2ListingTheDatasets()
    {
        var (temp, plugins, _) = Setup();
        using var __ = temp;

        var (code, _, error) = Run(plugins, "attribute-dataset", "--dataset", "nothing-here", "--out", Path.Combine(temp.Path, "out"));

        Assert.Equal(2, code);
        Assert.Contains("no plugin offers a dataset named 'nothing-here'", error);
    }
}

/// <summary>captum attribute-dataset --threads, on the minimal plugin's toy model.</summary>
/// <remarks>Serial: the thread count is libtorch's, shared by the tests.</remarks>
[Collection(Captum.Tests.Attr.SerialCollection.Name)]
public sealed class BatchCommandThreadsTests
{
    [Fact]
    public void AttributeDataset_Threads_PutsTheCallersThreadCountBackWhenItEnds()
    {
        using var temp = new TempFolder();
        var plugins = Path.Combine(temp.Path, "plugins");
        BuildOutputs.Copy(BuildOutputs.Of(Path.Combine("tests", "TestPlugins", "Captum.Plugins.Minimal")), Path.Combine(plugins, "Captum.Plugins.Minimal"));
        var manifest = Path.Combine(temp.Path, "reviews.jsonl");
        File.WriteAllLines(manifest, ["""{"id": "r1", "inputs": {"text": "good movie"}}"""]);
        using var threads = new ThreadCountGuard();
        using var output = new StringWriter();
        using var error = new StringWriter();

        var code = CaptumCli.Run(["--plugins", plugins, "attribute-dataset", "--dataset", manifest, "--method", "token-drop", "--out", Path.Combine(temp.Path, "out"), "--threads", threads.OtherText], output, error);

        Assert.True(code == 0, error.ToString());
        Assert.Equal(threads.Before, TorchSharp.torch.get_num_threads());
    }
}
