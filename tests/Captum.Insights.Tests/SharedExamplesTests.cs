using System.Net;
using System.Text.Json;
using Captum.Plugins;
using Captum.Plugins.Vqa;
using Captum.Plugins.Vqa.Scenes;
using Xunit;

namespace Captum.Insights.Tests;

/// <summary>
/// Which served models have the same examples (GET /api/models' <c>dataset</c>): one dataset instance or one
/// <see cref="InsightsModel.ExamplesKey"/>, never merely as many examples; an example's index sent with another
/// dataset's identity is refused; a model that takes no uploads refuses one, naming itself; and one with neither
/// examples nor uploads is refused when it is made.
/// </summary>
public sealed class SharedExamplesTests
{
    private static readonly ExampleDatasetOptions Scenes = new() { Count = 4, Seed = 3 };

    [Fact]
    public async Task Models_TwoVisualizersDatasetsOfOneCount_AreTwoDatasetsAndOneVisualizersModelsShareOne()
    {
        await using var served = await TwoVisualizersServer.StartAsync();
        using var client = new HttpClient { BaseAddress = served.Server.Url };

        var models = JsonDocument.Parse(await client.GetStringAsync("api/models")).RootElement.GetProperty("models").EnumerateArray().ToList();

        Assert.Equal([4, 4, 4], models.Select(m => m.GetProperty("examples").GetInt32()));
        Assert.Equal(["dataset-1", "dataset-1", "dataset-2"], models.Select(m => m.GetProperty("dataset").GetString()));

        // The identities say what the examples are: example 2's photo is one for first-a and first-b, another for second.
        var photos = new List<byte[]>();
        foreach (var name in new[] { "first-a", "first-b", "second" })
        {
            photos.Add(await client.GetByteArrayAsync($"api/models/{name}/examples/2/inputs/photo"));
        }

        Assert.Equal(photos[0], photos[1]);
        Assert.NotEqual(photos[0], photos[2]);
    }

    [Fact]
    public async Task Models_OneKeyForADatasetOpenedTwice_ShareOneIdentityAndTheOthersHaveTheirOwnOrNone()
    {
        var dataset = new SceneDataset();
        await using var server = await InsightsServer.StartAsync(
        [
            new InsightsModel(Scene(), dataset.Open(Scenes), examplesKey: "scenes, 4, seed 3"),
            new InsightsModel(new RenamedModel(Scene(), "scenes-again"), dataset.Open(Scenes), examplesKey: "scenes, 4, seed 3"),
            new InsightsModel(new RenamedModel(Scene(), "scenes-seed-4"), dataset.Open(Scenes with { Seed = 4 })),
            new InsightsModel(new RenamedModel(Scene(), "uploads-only")),
        ]);
        using var client = new HttpClient { BaseAddress = server.Url };

        var models = JsonDocument.Parse(await client.GetStringAsync("api/models")).RootElement.GetProperty("models").EnumerateArray().ToList();

        Assert.Equal([4, 4, 4, 0], models.Select(m => m.GetProperty("examples").GetInt32()));
        Assert.Equal(["dataset-1", "dataset-1", "dataset-2", null], models.Select(m => m.GetProperty("dataset").GetString()));
    }

    [Fact]
    public async Task Explain_UploadToAModelThatTakesNoUploads_Is400NamingTheModelAndItsExamplesStillExplain()
    {
        var dataset = new SceneDataset();
        await using var server = await InsightsServer.StartAsync(
        [
            new InsightsModel(Scene(), dataset.Open(Scenes), examplesKey: "scenes"),
            new InsightsModel(new RenamedModel(Scene(), "scenes-examples-only"), dataset.Open(Scenes), acceptsUploads: false, examplesKey: "scenes"),
        ]);
        using var client = new HttpClient { BaseAddress = server.Url };
        using var examples = dataset.Open(Scenes);
        var example = examples.Get(1);

        // The page's way of giving an example to a model without it: its inputs, uploaded.
        using var upload = InsightsFixture.Form(
            [("model", "scenes-examples-only"), ("question", example.Inputs["question"].Text!), ("steps", "2")],
            ("image", example.Inputs["image"].Content.ToArray(), example.Id));
        using var refused = await client.PostAsync("api/explain", upload);

        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal(
            "scenes-examples-only takes no uploaded inputs: it explains its own examples only; give example, an index in [0, 4).",
            JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString());

        using var byIndex = InsightsFixture.Form([("model", "scenes-examples-only"), ("example", "1"), ("steps", "2")]);
        using var explained = await client.PostAsync("api/explain", byIndex);
        Assert.Equal(HttpStatusCode.OK, explained.StatusCode);
        Assert.Equal(example.Id, JsonDocument.Parse(await explained.Content.ReadAsStringAsync()).RootElement.GetProperty("results")[0].GetProperty("image").GetString());
    }

    [Fact]
    public async Task Explain_ExampleIndexOfAnotherModelsDataset_Is400NamingTheFieldAndBothIdentities()
    {
        // first-a and first-b share dataset-1; second's examples are dataset-2, of as many examples.
        await using var served = await TwoVisualizersServer.StartAsync();
        using var client = new HttpClient { BaseAddress = served.Server.Url };

        // A client that picked example 2 of dataset-1 sends its index to second: refused, not second's own example 2.
        Assert.Equal(
            "dataset: example 2 is of dataset 'dataset-1', and second's examples are dataset 'dataset-2' (the identities of GET /api/models): an index names an example of its own dataset only; second takes no uploads, so it cannot explain that example.",
            await Refused(client, [("model", "second"), ("example", "2"), ("dataset", "dataset-1"), ("steps", "2")]));

        // The same index and identity to first-b, which has dataset-1, are explained; so is second's own example 2 with its identity.
        foreach (var (model, dataset) in new[] { ("first-b", "dataset-1"), ("second", "dataset-2") })
        {
            using var form = InsightsFixture.Form([("model", model), ("example", "2"), ("dataset", dataset), ("steps", "2")]);
            using var explained = await client.PostAsync("api/explain", form);
            Assert.True(explained.StatusCode == HttpStatusCode.OK, $"{model}: {await explained.Content.ReadAsStringAsync()}");
        }

        // dataset names an example's dataset: without example it is refused, naming the field.
        Assert.StartsWith("dataset names the dataset of example; ", await Refused(client, [("model", "first-b"), ("dataset", "dataset-1"), ("steps", "2")]), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Explain_ExampleIndexOfADatasetToAModelWithoutExamples_Is400SayingToUploadItsInputs()
    {
        var dataset = new SceneDataset();
        await using var server = await InsightsServer.StartAsync(
        [
            new InsightsModel(Scene(), dataset.Open(Scenes)),
            new InsightsModel(new RenamedModel(Scene(), "uploads-only")),
        ]);
        using var client = new HttpClient { BaseAddress = server.Url };

        Assert.Equal(
            "dataset: example 1 is of dataset 'dataset-1', and uploads-only has no examples; give uploads-only the example's inputs as an upload.",
            await Refused(client, [("model", "uploads-only"), ("example", "1"), ("dataset", "dataset-1"), ("steps", "2")]));
    }

    [Fact]
    public async Task StartAsync_OneKeyForDatasetsOfDifferentCounts_IsRefusedNamingBothModels()
    {
        var dataset = new SceneDataset();
        using var four = new InsightsModel(Scene(), dataset.Open(Scenes), examplesKey: "scenes");
        using var five = new InsightsModel(new RenamedModel(Scene(), "scenes-five"), dataset.Open(Scenes with { Count = 5 }), examplesKey: "scenes");

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => InsightsServer.StartAsync([four, five], ownsModels: false));

        Assert.Equal("models", ex.ParamName);
        Assert.StartsWith("scenes-vqa and scenes-five are given examplesKey 'scenes' for datasets of 4 and 5 examples: one key names one dataset.", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void DatasetIdentities_OneInstanceGivenAKeyAndNoKey_IsOneDataset(bool keyedFirst)
    {
        using var examples = new SceneDataset().Open(Scenes);
        using var otherExamples = new SceneDataset().Open(Scenes);
        using var first = Scene();
        using var second = Scene();
        using var third = Scene();
        using var keyed = new InsightsModel(first, examples, examplesKey: "scenes", ownsModel: false);
        using var plain = new InsightsModel(new RenamedModel(second, "scenes-plain"), examples, ownsModel: false);
        using var other = new InsightsModel(new RenamedModel(third, "scenes-other"), otherExamples, ownsModel: false);
        InsightsModel[] models = keyedFirst ? [keyed, plain, other] : [plain, keyed, other];

        var identities = ServedModel.DatasetIdentities(models);

        Assert.Equal(["dataset-1", "dataset-1", "dataset-2"], identities);
    }

    [Fact]
    public void InsightsModel_ExamplesKeyWithoutExamples_IsRefusedNamingExamplesKey()
    {
        using var model = Scene();

        var ex = Assert.Throws<ArgumentException>(() => new InsightsModel(model, examplesKey: "scenes", ownsModel: false));

        Assert.Equal("examplesKey", ex.ParamName);
        Assert.StartsWith("examplesKey names a dataset, and scenes-vqa is given no examples.", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void InsightsModel_NeitherExamplesNorUploads_IsRefusedNamingTheModelAndTheParameters(bool emptyDataset)
    {
        using var model = Scene();
        using var empty = new NoExamples();

        var ex = Assert.Throws<ArgumentException>(() => new InsightsModel(model, emptyDataset ? empty : null, acceptsUploads: false, ownsModel: false));

        Assert.Equal("examples", ex.ParamName);
        Assert.StartsWith(
            $"scenes-vqa has nothing to explain: {(emptyDataset ? "examples holds none" : "examples is null")} and acceptsUploads is false; give it examples, or let it take uploads (acceptsUploads).",
            ex.Message,
            StringComparison.Ordinal);
    }

    /// <summary>The error of a <c>POST /api/explain</c> of <paramref name="fields"/>, which must be refused with 400.</summary>
    private static async Task<string?> Refused(HttpClient client, IEnumerable<(string Name, string Value)> fields)
    {
        using var form = InsightsFixture.Form(fields);
        using var response = await client.PostAsync("api/explain", form);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement.GetProperty("error").GetString();
    }

    private static VqaModel Scene() => VqaModelProvider.LoadModel(null, null, new VqaModelOptions());

    /// <summary>A dataset of no examples.</summary>
    private sealed class NoExamples : IExampleDataset
    {
        public int Count => 0;

        public DatasetExample Get(int index) => throw new ArgumentOutOfRangeException(nameof(index), index, "there are no examples.");

        public void Dispose()
        {
        }
    }
}
