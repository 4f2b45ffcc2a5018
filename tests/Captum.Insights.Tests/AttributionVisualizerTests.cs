using System.Net;
using System.Text.Json;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Insights.Tests;

/// <summary>
/// Your own model in Captum Insights through <see cref="AttributionVisualizer"/> (Captum's concepts): the example of
/// docs/insights.md, run, then its examples listed and explained through the API.
/// </summary>
public sealed class AttributionVisualizerTests
{
    [Fact]
    public async Task Visualizer_TwoFeatureModel_ServesItsExamplesAndExplainsThem()
    {
        torch.manual_seed(1);
        using var model = new PhotoAndMeasurements();
        var images = torch.rand(6, 3, 8, 8);
        var measurements = torch.randn(6, 4);
        var labels = torch.tensor(new long[] { 0, 1, 2, 0, 1, 2 });

        // Your model, its classes, its features and a dataset of batches, as Captum's AttributionVisualizer takes them.
        var visualizer = new AttributionVisualizer(
            models: [model],
            classes: ["cat", "dog", "bird"],
            features:
            [
                new ImageFeature("photo") { InputTransforms = [x => (x - 0.5) / 0.25] },
                new GeneralFeature("measurements", ["height", "weight", "age", "speed"]),
            ],
            dataset: [new Batch([images, measurements], labels)]);
        await using var server = await visualizer.ServeAsync();
        Console.WriteLine($"Captum Insights: {server.Url}");

        using var client = new HttpClient { BaseAddress = server.Url };
        var examples = JsonDocument.Parse(await client.GetStringAsync("api/models/model/examples")).RootElement.GetProperty("examples");
        Assert.Equal(6, examples.GetArrayLength());
        Assert.Equal(["cat", "dog", "bird", "cat", "dog", "bird"], examples.EnumerateArray().Select(e => e.GetProperty("expected").GetString()));
        var predicted = model.call(((images[3..4] - 0.5) / 0.25), measurements[3..4]).argmax(1).item<long>();
        Assert.Equal(new[] { "cat", "dog", "bird" }[predicted], examples[3].GetProperty("predicted").GetString());

        using var form = InsightsFixture.Form([("example", "3"), ("method", "layer-ig"), ("method", "occlusion"), ("steps", "20")]);
        var response = await client.PostAsync("api/explain", form);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var run = response.Headers.GetValues("X-Insights-Run").Single();
        var features = JsonDocument.Parse(await client.GetStringAsync($"api/runs/{run}/features/measurements?method=layer-ig")).RootElement;
        Assert.Equal(["height", "weight", "age", "speed"], features.GetProperty("names").EnumerateArray().Select(n => n.GetString()));

        // The model is linear in the measurements: Integrated Gradients gives weight x (input - 0) exactly.
        var weights = model.Measurements.weight[predicted];
        var expected = (weights * measurements[3]).data<float>().ToArray();
        var values = features.GetProperty("values").EnumerateArray().Select(v => v.GetSingle()).ToArray();
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(expected[i], values[i], 4);
        }

        var heatMap = await client.GetAsync($"api/runs/{run}/images/photo?method=occlusion&view=blended_heat_map&sign=absolute_value");
        Assert.Equal(HttpStatusCode.OK, heatMap.StatusCode);
        Assert.Equal("image/png", heatMap.Content.Headers.ContentType!.MediaType);
    }

    [Fact]
    public void Visualizer_BatchWithoutAnInputPerFeature_IsRefusedNamingIt()
    {
        using var model = new PhotoAndMeasurements();
        var visualizer = PhotoAndMeasurementsVisualizer(model, [new Batch([torch.rand(2, 3, 8, 8)], torch.tensor(new long[] { 0, 1 }))]);
        var ex = Assert.Throws<ArgumentException>(() => visualizer.ToInsightsModels());
        Assert.Contains("batch 0 has 1 inputs for 2 features", ex.Message);
    }

    [Fact]
    public void Visualizer_DatasetOfNoExamples_IsRefusedNamingTheDataset()
    {
        using var model = new PhotoAndMeasurements();
        var visualizer = PhotoAndMeasurementsVisualizer(model, []);

        var ex = Assert.Throws<ArgumentException>(() => visualizer.ToInsightsModels());

        Assert.Equal("Dataset", ex.ParamName);
        Assert.StartsWith("the dataset holds no examples (0 batches): the models would have nothing to explain", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Visualizer_TextFeature_ShowsItsWordsWithOneAttributionEach()
    {
        torch.manual_seed(2);
        using var model = new BagOfVectors();
        string[] vocabulary = ["the", "cat", "sat", "on", "a", "mat"];
        var embedding = torch.randn(vocabulary.Length, 5);
        var ids = torch.tensor(new long[,] { { 0, 1, 2 }, { 3, 4, 5 } });
        var visualizer = new AttributionVisualizer(
            [model],
            ["no", "yes"],
            [new TextFeature("sentence", x => Enumerable.Range(0, (int)x.shape[0]).Select(i => vocabulary[(int)torch.cdist(x[i].unsqueeze(0), embedding).argmin().item<long>()]).ToList())],
            [new Batch([embedding[ids]], torch.tensor(new long[] { 1, 0 }))]);
        await using var server = await visualizer.ServeAsync();
        using var client = new HttpClient { BaseAddress = server.Url };
        var examples = JsonDocument.Parse(await client.GetStringAsync("api/models/model/examples")).RootElement.GetProperty("examples");
        Assert.Equal("on a mat", examples[1].GetProperty("texts").GetProperty("sentence").GetString());

        using var form = InsightsFixture.Form([("example", "0"), ("steps", "50")]);
        var response = await client.PostAsync("api/explain", form);
        var result = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("results")[0];
        Assert.Equal(["the", "cat", "sat"], result.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()));
        var tokens = result.GetProperty("tokenAttributions").EnumerateArray().Select(t => t.GetDouble()).ToArray();
        Assert.Equal(3, tokens.Length);

        // The words' attributions make the text contribution, and they add up to F(input) - F(zero baseline): a small delta.
        Assert.Equal(tokens.Sum(), result.GetProperty("textContribution").GetDouble(), 4);
        Assert.True(Math.Abs(result.GetProperty("delta").GetDouble()) < 0.05);
    }

    [Fact]
    public async Task Visualizer_ScoreFunction_ShowsItsScoresAndPredictsTheirHighest()
    {
        using var model = new PhotoAndMeasurements();
        // Captum's score_func: here the lowest output scores highest, so the prediction is not the logits' argmax.
        var plain = TwoFeatureVisualizer(model);
        var visualizer = new AttributionVisualizer([model], plain.Classes, plain.Features, plain.Dataset) { ScoreFunction = o => torch.sigmoid(-o) };
        var batch = visualizer.Dataset.Single();
        var (images, measurements) = (batch.Inputs[0], batch.Inputs[1]);
        await using var server = await visualizer.ServeAsync();
        using var client = new HttpClient { BaseAddress = server.Url };

        var outputs = model.call((images[2..3] - 0.5) / 0.25, measurements[2..3]);
        var lowest = outputs.argmin(1).item<long>();
        Assert.NotEqual(lowest, outputs.argmax(1).item<long>());
        var examples = JsonDocument.Parse(await client.GetStringAsync("api/models/model/examples")).RootElement.GetProperty("examples");
        Assert.Equal(visualizer.Classes[(int)lowest], examples[2].GetProperty("predicted").GetString());

        using var form = InsightsFixture.Form([("example", "2"), ("method", "gradient-x-activation")]);
        var response = await client.PostAsync("api/explain", form);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var result = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("results")[0];
        Assert.Equal(visualizer.Classes[(int)lowest], result.GetProperty("answer").GetString());
        Assert.Equal(torch.sigmoid(-outputs[0, lowest]).item<float>(), result.GetProperty("probability").GetSingle(), 5);
    }

    [Fact]
    public async Task Visualizer_ServerDisposed_CallersModelStillWorks()
    {
        using var model = new PhotoAndMeasurements();
        var server = await TwoFeatureVisualizer(model).ServeAsync();
        await server.DisposeAsync();

        // The model stays the caller's: its parameters are alive and it still computes.
        using var output = model.call(torch.rand(1, 3, 8, 8), torch.randn(1, 4));
        Assert.Equal(new long[] { 1, 3 }, output.shape);
        Assert.False(model.Measurements.weight.IsInvalid);
    }

    [Fact]
    public async Task Explain_ModelThatLibtorchRefuses_Answers422SayingLibtorchsReason()
    {
        torch.manual_seed(3);
        using var model = new OneRowAtATime();
        var visualizer = new AttributionVisualizer(
            [model],
            ["no", "yes"],
            [new GeneralFeature("measurements", ["a", "b", "c", "d"])],
            [new Batch([torch.randn(1, 4)], torch.tensor(new long[] { 1 }))]);
        await using var server = await visualizer.ServeAsync();
        using var client = new HttpClient { BaseAddress = server.Url };

        // Listing predicts one row (fine); Integrated Gradients runs its steps as one batch, which libtorch refuses.
        using var form = InsightsFixture.Form([("example", "0"), ("method", "layer-ig"), ("steps", "8")]);
        var response = await client.PostAsync("api/explain", form);

        Assert.Equal((HttpStatusCode)422, response.StatusCode);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString()!;
        Assert.StartsWith("libtorch: ", error, StringComparison.Ordinal);
        Assert.DoesNotContain("\n", error, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("healthz")).StatusCode);
    }

    [Fact]
    public async Task Examples_ModelOutputsNotFinite_AreListedWithAnErrorAndNoPrediction()
    {
        // A checkpoint with huge weights: every output overflows float32 (NaN), so no class is the highest.
        using var model = new PhotoAndMeasurements();
        using (torch.no_grad())
        {
            foreach (var parameter in model.parameters())
            {
                parameter.fill_(float.MaxValue);
            }
        }

        await using var server = await TwoFeatureVisualizer(model).ServeAsync();
        using var client = new HttpClient { BaseAddress = server.Url };

        var examples = JsonDocument.Parse(await client.GetStringAsync("api/models/model/examples")).RootElement.GetProperty("examples");
        Assert.Equal(6, examples.GetArrayLength());
        Assert.All(examples.EnumerateArray(), e =>
        {
            Assert.Equal(JsonValueKind.Null, e.GetProperty("predicted").ValueKind);
            Assert.Equal(JsonValueKind.Null, e.GetProperty("correct").ValueKind);
            Assert.Contains("the model's output is not finite", e.GetProperty("error").GetString());
        });

        // Explaining one says the same, as a refusal.
        using var form = InsightsFixture.Form([("example", "0"), ("steps", "4")]);
        var response = await client.PostAsync("api/explain", form);
        Assert.Equal((HttpStatusCode)422, response.StatusCode);
        Assert.Contains("not finite", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Examples_ModelWithMoreOutputsThanClasses_AreListedWithAnErrorNamingClasses()
    {
        // The photo-and-measurements model returns three scores; two class names leave its third output unnamed.
        torch.manual_seed(2);
        using var model = new PhotoAndMeasurements();
        var visualizer = new AttributionVisualizer(
            [model],
            ["cat", "dog"],
            [new ImageFeature("photo"), new GeneralFeature("measurements", ["a", "b", "c", "d"])],
            [new Batch([torch.rand(2, 3, 8, 8), torch.randn(2, 4)], torch.tensor(new long[] { 0, 1 }))]);
        await using var server = await visualizer.ServeAsync();
        using var client = new HttpClient { BaseAddress = server.Url };

        var examples = JsonDocument.Parse(await client.GetStringAsync("api/models/model/examples")).RootElement.GetProperty("examples");
        Assert.All(examples.EnumerateArray(), e =>
        {
            Assert.Equal(JsonValueKind.Null, e.GetProperty("predicted").ValueKind);
            Assert.Contains("returns 3 scores per example but classes names 2 (cat, dog)", e.GetProperty("error").GetString());
        });

        using var form = InsightsFixture.Form([("example", "0"), ("steps", "4")]);
        var response = await client.PostAsync("api/explain", form);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("classes names 2", await response.Content.ReadAsStringAsync());
    }

    /// <summary>A model that works on one row at a time: libtorch refuses to expand a batch of several into one.</summary>
    private sealed class OneRowAtATime : nn.Module<Tensor, Tensor>
    {
        public OneRowAtATime()
            : base(nameof(OneRowAtATime))
        {
            Output = nn.Linear(4, 2);
            RegisterComponents();
        }

        public nn.Module<Tensor, Tensor> Output { get; }

        public override Tensor forward(Tensor measurements) => Output.call(measurements.expand(1, -1));
    }

    /// <summary>A classifier of a sentence's vectors: a non-linear score of their sum.</summary>
    private sealed class BagOfVectors : nn.Module<Tensor, Tensor>
    {
        public BagOfVectors()
            : base(nameof(BagOfVectors))
        {
            Hidden = nn.Linear(5, 8);
            Output = nn.Linear(8, 2);
            RegisterComponents();
        }

        public nn.Module<Tensor, Tensor> Hidden { get; }

        public nn.Module<Tensor, Tensor> Output { get; }

        public override Tensor forward(Tensor vectors) => Output.call(torch.tanh(Hidden.call(vectors.sum(dim: 1))));
    }

    /// <summary>A visualizer of <paramref name="model"/>, of a photo and four measurements, over <paramref name="dataset"/> as it is given.</summary>
    private static AttributionVisualizer PhotoAndMeasurementsVisualizer(nn.Module model, IEnumerable<Batch> dataset) => new(
        [model],
        ["cat", "dog", "bird"],
        [new ImageFeature("photo"), new GeneralFeature("measurements", ["a", "b", "c", "d"])],
        dataset);

    /// <summary>The two-feature model's visualizer over six random examples.</summary>
    internal static AttributionVisualizer TwoFeatureVisualizer(nn.Module model)
    {
        torch.manual_seed(1);
        return new AttributionVisualizer(
            [model],
            ["cat", "dog", "bird"],
            [new ImageFeature("photo") { InputTransforms = [x => (x - 0.5) / 0.25] }, new GeneralFeature("measurements", ["height", "weight", "age", "speed"])],
            [new Batch([torch.rand(6, 3, 8, 8), torch.randn(6, 4)], torch.tensor(new long[] { 0, 1, 2, 0, 1, 2 }))]);
    }

    /// <summary>
    /// A visualizer of <paramref name="models"/> (of a photo and four measurements) over four random examples drawn
    /// with <paramref name="seed"/>: two seeds give datasets of one count and other examples.
    /// </summary>
    internal static AttributionVisualizer PhotoVisualizer(IReadOnlyList<nn.Module> models, IReadOnlyList<string> names, int seed)
    {
        torch.manual_seed(seed);
        return new AttributionVisualizer(
            models,
            ["cat", "dog", "bird"],
            [new ImageFeature("photo"), new GeneralFeature("measurements", ["height", "weight", "age", "speed"])],
            [new Batch([torch.rand(4, 3, 8, 8), torch.randn(4, 4)], torch.tensor(new long[] { 0, 1, 2, 0 }))],
            names);
    }

    /// <summary>A classifier of a small photo and four measurements: two linear maps, added.</summary>
    internal sealed class PhotoAndMeasurements : nn.Module<Tensor, Tensor, Tensor>
    {
        public PhotoAndMeasurements()
            : base(nameof(PhotoAndMeasurements))
        {
            Photo = nn.Linear(3 * 8 * 8, 3);
            Measurements = nn.Linear(4, 3, hasBias: false);
            RegisterComponents();
        }

        public nn.Module<Tensor, Tensor> Photo { get; }

        public TorchSharp.Modules.Linear Measurements { get; }

        public override Tensor forward(Tensor photo, Tensor measurements) => Photo.call(photo.flatten(1)) + Measurements.call(measurements);
    }
}
