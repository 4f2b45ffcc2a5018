using System.Globalization;
using System.Text;
using System.Text.Json;
using Captum.Plugins;
using Captum.Plugins.Vqa;
using Captum.Plugins.Vqa.Scenes;
using Captum.TestData;
using Microsoft.Playwright;
using TorchSharp;
using Xunit;

namespace Captum.Insights.Tests;

/// <summary>
/// The page in a real browser (Debian's chromium through Playwright): a scene explained by two methods shows heat maps,
/// coloured words and the JSON API's numbers; a bad upload shows the server's message; a long run is cancelled from the
/// page. Set CAPTUM_INSIGHTS_SCREENSHOTS to a folder to save the main views there (docs/insights/ holds those of the docs).
/// </summary>
public sealed class BrowserTests(BrowserFixture fixture) : IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task Page_SceneExplainedByTwoMethods_ShowsHeatMapsColouredWordsAndTheApisNumbers()
    {
        var page = await fixture.OpenAsync();
        await Screenshot(page, "examples.png");
        await page.Locator("[data-testid=example]").Nth(2).ClickAsync();
        await page.Locator("[data-testid='method-gradient-x-activation']").CheckAsync();
        await page.Locator("[data-testid=steps]").FillAsync("10");
        await page.Locator("[data-testid=baseline]").SelectOptionAsync("blur");
        await page.Locator("[data-testid=run]").ClickAsync();
        var second = page.Locator("[data-testid='method-result-gradient-x-activation']");
        await second.WaitForAsync();

        // Two heat maps, drawn (decoded with a size), and one coloured word per token in each method's column.
        var heatmaps = page.Locator("[data-testid=heatmap]");
        Assert.Equal(2, await heatmaps.CountAsync());
        await page.WaitForFunctionAsync("() => [...document.querySelectorAll('img[data-testid=heatmap], img[data-testid=original]')].every(i => i.complete && i.naturalWidth > 0)");
        var words = page.Locator("[data-testid='method-result-layer-ig'] [data-testid=word]");
        var colours = await words.EvaluateAllAsync<string[]>("ws => ws.map(w => getComputedStyle(w).backgroundColor)");
        Assert.NotEmpty(colours);
        Assert.Contains(colours, c => c != "rgb(255, 255, 255)" && c != "rgba(0, 0, 0, 0)");
        await Screenshot(page, "explanation.png");

        // The same request through the API: the page shows its numbers.
        var (status, api, _) = await fixture.Explain(InsightsFixture.Form([("example", "2"), ("method", "layer-ig"), ("method", "gradient-x-activation"), ("steps", "10"), ("target", "predicted"), ("baseline", "blur")]));
        Assert.Equal(200, status);
        var result = api.GetProperty("results")[0];
        Assert.Equal(result.GetProperty("predicted").GetString(), await page.Locator("[data-testid=predicted-label]").TextContentAsync());
        AssertShown(result.GetProperty("predictedProbability").GetDouble(), await page.Locator("[data-testid=predicted-probability]").TextContentAsync());
        Assert.Equal(0, await page.Locator("[data-testid=explained-label]").CountAsync());
        foreach (var method in new[] { "layer-ig", "gradient-x-activation" })
        {
            var numbers = result.GetProperty("methods").GetProperty(method);
            var column = page.Locator($"[data-testid='method-result-{method}']");
            AssertShown(numbers.GetProperty("textContribution").GetDouble(), await column.Locator("[data-testid=number-text]").TextContentAsync());
            AssertShown(numbers.GetProperty("imageContribution").GetDouble(), await column.Locator("[data-testid=number-image]").TextContentAsync());
            AssertShown(numbers.GetProperty("totalContribution").GetDouble(), await column.Locator("[data-testid=number-total]").TextContentAsync());
            var delta = numbers.GetProperty("delta");
            var shownDelta = await column.Locator("[data-testid=number-delta]").TextContentAsync();
            if (delta.ValueKind == JsonValueKind.Null)
            {
                Assert.Equal("–", shownDelta);
            }
            else
            {
                AssertShown(delta.GetDouble(), shownDelta);
            }

            var tokens = numbers.GetProperty("tokenAttributions").EnumerateArray().Select(t => t.GetDouble()).ToList();
            var shownTokens = await column.Locator("[data-testid=word]").EvaluateAllAsync<string[]>("ws => ws.map(w => w.dataset.value)");
            Assert.Equal(tokens.Count, shownTokens.Length);
            for (var i = 0; i < tokens.Count; i++)
            {
                Assert.Equal(tokens[i], double.Parse(shownTokens[i], CultureInfo.InvariantCulture), 6);
            }
        }

        // Gradient times activation has no completeness: its column says its sums do not compare; layer-ig's says nothing.
        Assert.Equal(0, await page.Locator("[data-testid='method-result-layer-ig'] [data-testid=number-note]").CountAsync());
        Assert.StartsWith("These sums are not the output's change from the baseline", await page.Locator("[data-testid='method-result-gradient-x-activation'] [data-testid=number-note]").TextContentAsync(), StringComparison.Ordinal);

        // The downloads are the run's JSON and report.
        var json = await page.Locator("[data-testid=download-json]").GetAttributeAsync("href");
        var (jsonStatus, downloaded) = await fixture.Get(json!);
        Assert.Equal(200, jsonStatus);
        Assert.Equal(result.GetProperty("tokenAttributions").GetRawText(), downloaded.GetProperty("results")[0].GetProperty("tokenAttributions").GetRawText());
        await page.CloseAsync();
    }

    [Fact]
    public async Task Page_TargetOtherThanThePrediction_ShowsThePredictionAndTheExplainedClass()
    {
        var (_, byPrediction, _) = await fixture.Explain(InsightsFixture.Form([("example", "4"), ("steps", "6")]));
        var predicted = byPrediction.GetProperty("results")[0];
        var labels = (await fixture.Get("api/models")).Json.GetProperty("models")[0].GetProperty("labels").EnumerateArray().Select(l => l.GetString()!).ToList();
        var target = labels[(int)((predicted.GetProperty("answerIndex").GetInt64() + 1) % labels.Count)];
        var page = await fixture.OpenAsync();
        await page.Locator("[data-testid=example]").Nth(4).ClickAsync();
        await page.Locator("[data-testid=steps]").FillAsync("6");
        await page.Locator("[data-testid=target]").SelectOptionAsync(target);
        await page.Locator("[data-testid=run]").ClickAsync();
        await page.Locator("[data-testid=explained-label]").WaitForAsync();

        // The model's prediction first, then the class the attributions explain, each with its own probability.
        var (_, api, _) = await fixture.Explain(InsightsFixture.Form([("example", "4"), ("steps", "6"), ("target", target)]));
        var result = api.GetProperty("results")[0];
        Assert.Equal(predicted.GetProperty("answer").GetString(), await page.Locator("[data-testid=predicted-label]").TextContentAsync());
        AssertShown(predicted.GetProperty("probability").GetDouble(), await page.Locator("[data-testid=predicted-probability]").TextContentAsync());
        Assert.Equal(target, await page.Locator("[data-testid=explained-label]").TextContentAsync());
        AssertShown(result.GetProperty("probability").GetDouble(), await page.Locator("[data-testid=explained-probability]").TextContentAsync());
        Assert.StartsWith($"Predicted: {predicted.GetProperty("answer").GetString()} (probability ", await page.Locator("div[data-testid=answer]").TextContentAsync(), StringComparison.Ordinal);
        await page.CloseAsync();
    }

    [Fact]
    public async Task Page_PredictedFilter_ListsTheExamplesThePredictionKeepsAsCaptumsClassFilter()
    {
        // The scenes of seed 2, which the model answers both rightly and wrongly (see MixedPredictionsFixture).
        await using var server = await InsightsServer.StartAsync(
            [new InsightsModel(VqaModelProvider.LoadModel(null, null, new VqaModelOptions()), new SceneDataset().Open(new ExampleDatasetOptions { Count = InsightsFixture.ExampleCount, Seed = 2 }))]);
        using var client = new HttpClient { BaseAddress = server.Url };
        var examples = JsonDocument.Parse(await client.GetStringAsync("api/models/scenes-vqa/examples")).RootElement.GetProperty("examples").EnumerateArray().ToList();
        var wrong = examples.First(e => !e.GetProperty("correct").GetBoolean());
        var label = wrong.GetProperty("predicted").GetString()!;
        var page = await Open(server);

        await page.Locator("[data-testid=predicted]").SelectOptionAsync(label);

        var shown = examples.Where(e => e.GetProperty("predicted").GetString() == label).ToList();
        await page.Locator("#examples-status").Locator($"text={shown.Count} of {examples.Count} examples").WaitForAsync();
        var items = page.Locator("[data-testid=example]");
        Assert.Equal(shown.Select(e => e.GetProperty("index").GetInt32().ToString(CultureInfo.InvariantCulture)), await items.EvaluateAllAsync<string[]>("ls => ls.map(l => l.dataset.index)"));
        Assert.All(await items.AllTextContentsAsync(), text => Assert.Contains($"predicted {label}", text, StringComparison.Ordinal));
        Assert.Contains(await items.AllTextContentsAsync(), text => text.EndsWith($"expected {wrong.GetProperty("expected").GetString()} · predicted {label}", StringComparison.Ordinal));
        await page.CloseAsync();
    }

    [Fact]
    public async Task Page_UploadOfANonImage_ShowsTheServersMessage()
    {
        var page = await fixture.OpenAsync();
        await page.Locator("[data-testid=upload-image]").SetInputFilesAsync(new FilePayload { Name = "notes.txt", MimeType = "text/plain", Buffer = Encoding.UTF8.GetBytes("not an image at all") });
        await page.Locator("[data-testid=upload-question]").FillAsync("what color is the circle?");
        await page.Locator("[data-testid=use-upload]").ClickAsync();
        await page.Locator("[data-testid=run]").ClickAsync();
        var error = page.Locator("[data-testid=error]");
        await error.Locator("text=notes.txt").WaitForAsync();
        Assert.Contains("not an image", await error.TextContentAsync());
        await Screenshot(page, "error.png");
        await page.CloseAsync();
    }

    [Fact]
    public async Task Page_ViewChangedAfterTheRunExpired_ShowsTheServersMessage()
    {
        // A server that keeps one run: another request makes the page's run expire.
        await using var server = await InsightsServer.StartAsync(
            [new InsightsModel(VqaModelProvider.LoadModel(null, null, new VqaModelOptions()), new SceneDataset().Open(new ExampleDatasetOptions { Count = 4, Seed = 3 }))],
            options: new InsightsServerOptions { RunsKept = 1 });
        var page = await Open(server);
        await page.Locator("[data-testid=example]").First.ClickAsync();
        await page.Locator("[data-testid=steps]").FillAsync("4");
        await page.Locator("[data-testid=run]").ClickAsync();
        var heatmap = page.Locator("[data-testid=heatmap]");
        await heatmap.WaitForAsync();
        var run = await heatmap.GetAttributeAsync("data-run");
        using var client = new HttpClient { BaseAddress = server.Url };
        using var form = InsightsFixture.Form([("example", "1"), ("steps", "4")]);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await client.PostAsync("api/explain", form)).StatusCode);

        await page.Locator("[data-testid=view]").SelectOptionAsync("blended_heat_map");

        var error = page.Locator("[data-testid=error]");
        await error.WaitForAsync();
        Assert.Equal($"The layer-ig heat map of image cannot be shown: no run '{run}': runs are kept for a while only; explain again.", await error.TextContentAsync());
        await page.CloseAsync();
    }

    [Fact]
    public async Task Page_UploadInputChangedAfterUseTheseInputs_DropsTheSourceUntilUsedAgain()
    {
        var page = await fixture.OpenAsync();
        var selection = page.Locator("[data-testid=selection]");
        var run = page.Locator("[data-testid=run]");
        var image = page.Locator("[data-testid=upload-image]");
        var question = page.Locator("[data-testid=upload-question]");
        await image.SetInputFilesAsync(new FilePayload { Name = "scene.png", MimeType = "image/png", Buffer = fixture.Dataset.Get(0).Inputs["image"].Content.ToArray() });
        await question.FillAsync("what color is the circle?");
        await page.Locator("[data-testid=use-upload]").ClickAsync();
        Assert.Equal("Upload: scene.png what color is the circle?", await selection.TextContentAsync());
        Assert.True(await run.IsEnabledAsync());

        // Another question: the source said the old one, so it is dropped until "Use these inputs" takes the new one.
        await question.FillAsync("what color is the square?");
        Assert.Equal("Pick an example or give your own inputs.", await selection.TextContentAsync());
        Assert.True(await run.IsDisabledAsync());
        await page.Locator("[data-testid=use-upload]").ClickAsync();
        Assert.Equal("Upload: scene.png what color is the square?", await selection.TextContentAsync());

        // The file cleared: no source, and "Use these inputs" says what is missing.
        await image.SetInputFilesAsync(Array.Empty<FilePayload>());
        Assert.Equal("Pick an example or give your own inputs.", await selection.TextContentAsync());
        Assert.True(await run.IsDisabledAsync());
        await page.Locator("[data-testid=use-upload]").ClickAsync();
        Assert.Equal("image: choose an image file.", await page.Locator("[data-testid=error]").TextContentAsync());

        // Another file, used: Explain sends it, the question as typed (the run's result.json says which it explained).
        await image.SetInputFilesAsync(new FilePayload { Name = "other.png", MimeType = "image/png", Buffer = fixture.Dataset.Get(1).Inputs["image"].Content.ToArray() });
        await page.Locator("[data-testid=use-upload]").ClickAsync();
        Assert.Equal("Upload: other.png what color is the square?", await selection.TextContentAsync());
        await run.ClickAsync();
        await page.Locator("[data-testid=heatmap]").First.WaitForAsync();
        var (status, result) = await fixture.Get((await page.Locator("[data-testid=download-json]").GetAttributeAsync("href"))!);
        Assert.Equal(200, status);
        Assert.Equal("other.png", result.GetProperty("image").GetString());
        Assert.Equal("what color is the square?", result.GetProperty("results")[0].GetProperty("question").GetString());
        Assert.False(await page.Locator("[data-testid=error]").IsVisibleAsync());
        await page.CloseAsync();
    }

    [Fact]
    public async Task Page_LongRunCancelled_SaysCancelledAndTheServerStopsIt()
    {
        var (_, before) = await fixture.Get("healthz");
        var cancelledBefore = before.GetProperty("models")[0].GetProperty("cancelled").GetInt64();
        var page = await fixture.OpenAsync();
        await page.Locator("[data-testid=example]").First.ClickAsync();
        foreach (var method in new[] { "interpretable-embedding", "occlusion" })
        {
            await page.Locator($"[data-testid='method-{method}']").CheckAsync();
        }

        await page.Locator("[data-testid=steps]").FillAsync("300");
        await page.Locator("[data-testid=run]").ClickAsync();
        await page.WaitForFunctionAsync("() => document.querySelector('[data-testid=progress]').value > 0");
        await Screenshot(page, "progress.png");
        await page.Locator("[data-testid=cancel]").ClickAsync();
        await page.Locator("[data-testid=status]:has-text('Cancelled.')").WaitForAsync();
        Assert.True(await page.Locator("[data-testid=run]").IsEnabledAsync());

        var deadline = DateTime.UtcNow.AddSeconds(20);
        long cancelled;
        do
        {
            await Task.Delay(50);
            cancelled = (await fixture.Get("healthz")).Json.GetProperty("models")[0].GetProperty("cancelled").GetInt64();
        }
        while (cancelled == cancelledBefore && DateTime.UtcNow < deadline);
        Assert.Equal(cancelledBefore + 1, cancelled);
        await page.CloseAsync();
    }

    [Fact]
    public async Task Page_OwnModelWithAGeneralFeature_ShowsItsBarsAndNoUpload()
    {
        using var model = new AttributionVisualizerTests.PhotoAndMeasurements();
        await using var server = await AttributionVisualizerTests.TwoFeatureVisualizer(model).ServeAsync();
        var page = await fixture.Browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1200, Height = 820 } });
        page.SetDefaultTimeout(30_000);
        await page.GotoAsync(server.Url.ToString());
        await page.Locator("[data-testid=example]").Nth(1).ClickAsync();
        Assert.False(await page.Locator("#upload-panel").IsVisibleAsync());
        await page.Locator("[data-testid=run]").ClickAsync();
        var bars = page.Locator("[data-testid='method-result-layer-ig'] [data-testid=features] .bar");
        await bars.Nth(3).WaitForAsync();
        Assert.Equal(4, await bars.CountAsync());
        Assert.Equal("height", await bars.First.Locator("span").First.TextContentAsync());
        await page.WaitForFunctionAsync("() => [...document.querySelectorAll('img[data-testid=heatmap]')].every(i => i.complete && i.naturalWidth > 0)");
        await Screenshot(page, "own-model.png");
        await page.CloseAsync();
    }

    [Fact]
    public async Task Page_TwoModelsSideBySide_ShowsARowPerModelWithItsOwnAnswer()
    {
        using var first = new AttributionVisualizerTests.PhotoAndMeasurements();
        using var second = new AttributionVisualizerTests.PhotoAndMeasurements();
        torch.manual_seed(5);
        var visualizer = new AttributionVisualizer(
            [first, second],
            ["cat", "dog", "bird"],
            [new ImageFeature("photo"), new GeneralFeature("measurements", ["height", "weight", "age", "speed"])],
            [new Batch([torch.rand(4, 3, 8, 8), torch.randn(4, 4)], torch.tensor(new long[] { 0, 1, 2, 0 }))]);
        await using var server = await visualizer.ServeAsync();
        var page = await fixture.Browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1200, Height = 1100 } });
        page.SetDefaultTimeout(30_000);
        await page.GotoAsync(server.Url.ToString());
        await page.Locator("[data-testid='compare-model-2']").CheckAsync();
        await page.Locator("[data-testid=example]").Nth(2).ClickAsync();
        await page.Locator("[data-testid='method-occlusion']").CheckAsync();
        await page.Locator("[data-testid=run]").ClickAsync();
        await page.Locator("[data-testid='model-row-model-2'] [data-testid=heatmap]").Nth(1).WaitForAsync();
        Assert.Equal(2, await page.Locator("[data-testid='model-row-model-1'] [data-testid=heatmap]").CountAsync());

        using var client = new HttpClient { BaseAddress = server.Url };
        foreach (var model in new[] { "model-1", "model-2" })
        {
            using var form = InsightsFixture.Form([("model", model), ("example", "2"), ("method", "layer-ig"), ("method", "occlusion")]);
            var api = JsonDocument.Parse(await (await client.PostAsync("api/explain", form)).Content.ReadAsStringAsync()).RootElement.GetProperty("results")[0];
            var row = page.Locator($"[data-testid='model-row-{model}']");
            Assert.Equal(api.GetProperty("predicted").GetString(), await row.Locator("[data-testid=predicted-label]").TextContentAsync());
            AssertShown(api.GetProperty("predictedProbability").GetDouble(), await row.Locator("[data-testid=predicted-probability]").TextContentAsync());
            AssertShown(api.GetProperty("methods").GetProperty("occlusion").GetProperty("totalContribution").GetDouble(), await row.Locator("[data-testid='method-result-occlusion'] [data-testid=number-total]").TextContentAsync());
        }

        await Screenshot(page, "side-by-side.png");
        await page.CloseAsync();
    }

    [Fact]
    public async Task Page_SceneComparedWithTheTutorialsModel_GivesItTheExamplesInputsAsAnUpload()
    {
        // The scenes model with its scenes, and the tutorial's model (here the e2e checkpoint) without them, as captum insights serves them.
        var checkpoints = SharedData.Locate("checkpoints", "CAPTUM_CHECKPOINTS_DIR");
        var tutorial = VqaModel.Load(Path.Combine(checkpoints, "e2e", "vqa.pth"), Path.Combine(checkpoints, "e2e", "resnet.pth"), new VqaModelOptions { ImageSize = 64 });
        var scenes = new SceneDataset().Open(new ExampleDatasetOptions { Count = 4, Seed = 3 });
        await using var server = await InsightsServer.StartAsync(
            [new InsightsModel(VqaModelProvider.LoadModel(null, null, new VqaModelOptions()), scenes), new InsightsModel(tutorial)]);
        var page = await fixture.Browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1200, Height = 1100 } });
        page.SetDefaultTimeout(30_000);
        await page.GotoAsync(server.Url.ToString());
        await page.Locator("[data-testid='compare-vqa']").CheckAsync();
        // Example 0 asks "what color is the triangle": the e2e checkpoint knows "what", "is" and "the" of it.
        await page.Locator("[data-testid=example]").First.ClickAsync();
        await page.Locator("[data-testid=run]").ClickAsync();
        await page.Locator("[data-testid='model-row-vqa'] [data-testid=heatmap]").First.WaitForAsync();

        // Each row is what the API gives: the scenes model the example by its index, the tutorial's its image and question uploaded.
        var example = scenes.Get(0);
        using var client = new HttpClient { BaseAddress = server.Url };
        using var byIndex = InsightsFixture.Form([("model", "scenes-vqa"), ("example", "0")]);
        using var byUpload = InsightsFixture.Form([("model", "vqa"), ("question", example.Inputs["question"].Text!)], ("image", example.Inputs["image"].Content.ToArray(), example.Id));
        foreach (var (model, form) in new[] { ("scenes-vqa", byIndex), ("vqa", byUpload) })
        {
            var response = await client.PostAsync("api/explain", form);
            Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
            var api = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("results")[0];
            var row = page.Locator($"[data-testid='model-row-{model}']");
            Assert.Equal(example.Id, api.GetProperty("image").GetString());
            Assert.Equal(api.GetProperty("predicted").GetString(), await row.Locator("[data-testid=predicted-label]").TextContentAsync());
            AssertShown(api.GetProperty("predictedProbability").GetDouble(), await row.Locator("[data-testid=predicted-probability]").TextContentAsync());
            AssertShown(api.GetProperty("methods").GetProperty("layer-ig").GetProperty("totalContribution").GetDouble(), await row.Locator("[data-testid='method-result-layer-ig'] [data-testid=number-total]").TextContentAsync());
        }

        await page.CloseAsync();
    }

    [Fact]
    public async Task Page_ModelWithOtherExamplesOfTheSameCount_IsNotComparedByIndexAndSaysWhy()
    {
        // Two visualizers' datasets of four examples each: first-a and first-b share theirs, second has others (and,
        // as every visualizer's model, takes no uploads), so it can be given neither the index nor the inputs.
        await using var served = await TwoVisualizersServer.StartAsync();
        var page = await Open(served.Server);
        await page.Locator("[data-testid=example]").Nth(2).ClickAsync();

        var sharing = page.Locator("[data-testid='compare-first-b']");
        var notSharing = page.Locator("[data-testid='compare-second']");
        Assert.True(await sharing.IsEnabledAsync());
        Assert.True(await notSharing.IsDisabledAsync());
        var reason = page.Locator("[data-testid='compare-reason-second']");
        Assert.True(await reason.IsVisibleAsync());
        Assert.Equal("(has other examples and takes no uploads)", await reason.TextContentAsync());
        Assert.Equal(string.Empty, await page.Locator("[data-testid='compare-reason-first-b']").TextContentAsync());

        // first-b explains example 2 beside first-a, by its index: its row is the API's answer for its example 2.
        var posted = new List<string>();
        page.Request += (_, request) =>
        {
            if (request.Method == "POST" && request.Url.EndsWith("/api/explain", StringComparison.Ordinal))
            {
                lock (posted)
                {
                    posted.Add(request.PostData ?? string.Empty);
                }
            }
        };
        await sharing.CheckAsync();
        await page.Locator("[data-testid=run]").ClickAsync();
        var row = page.Locator("[data-testid='model-row-first-b']");
        await row.Locator("[data-testid=heatmap]").First.WaitForAsync();
        Assert.Equal(0, await page.Locator("[data-testid='model-row-second']").CountAsync());
        await AssertRowIsTheApis(row, served.Server, "first-b", example: 2);

        // Each request gave the index with the identity of the dataset it is of, which the server checks.
        Assert.Equal(2, posted.Count);
        Assert.All(posted, form =>
        {
            Assert.Contains("name=\"example\"\r\n\r\n2\r\n", form, StringComparison.Ordinal);
            Assert.Contains("name=\"dataset\"\r\n\r\ndataset-1\r\n", form, StringComparison.Ordinal);
        });
        await page.CloseAsync();
    }

    [Fact]
    public async Task Page_UploadBesideAModelThatTakesNoUploads_DisablesItSayingWhyAndAnExampleEnablesItAgain()
    {
        // The scenes model, and a copy of it with the same scenes (one key, opened twice) that explains its examples only.
        var scenes = new SceneDataset();
        var options = new ExampleDatasetOptions { Count = 4, Seed = 3 };
        await using var server = await InsightsServer.StartAsync(
        [
            new InsightsModel(VqaModelProvider.LoadModel(null, null, new VqaModelOptions()), scenes.Open(options), examplesKey: "scenes"),
            new InsightsModel(new RenamedModel(VqaModelProvider.LoadModel(null, null, new VqaModelOptions()), "scenes-examples-only"), scenes.Open(options), acceptsUploads: false, examplesKey: "scenes"),
        ]);
        var page = await Open(server);
        var copy = page.Locator("[data-testid='compare-scenes-examples-only']");
        var reason = page.Locator("[data-testid='compare-reason-scenes-examples-only']");
        await page.Locator("[data-testid=example]").First.ClickAsync();
        await copy.CheckAsync();

        // An upload: the copy cannot take it, so it is unticked and disabled, saying why; only the scenes model runs.
        await page.Locator("[data-testid=upload-image]").SetInputFilesAsync(new FilePayload { Name = "scene.png", MimeType = "image/png", Buffer = fixture.Dataset.Get(0).Inputs["image"].Content.ToArray() });
        await page.Locator("[data-testid=upload-question]").FillAsync("what color is the circle?");
        await page.Locator("[data-testid=use-upload]").ClickAsync();
        Assert.True(await copy.IsDisabledAsync());
        Assert.False(await copy.IsCheckedAsync());
        Assert.Equal("(takes no uploads: it explains its own examples only)", await reason.TextContentAsync());
        await page.Locator("[data-testid=run]").ClickAsync();
        await page.Locator("[data-testid='model-row-scenes-vqa'] [data-testid=heatmap]").First.WaitForAsync();
        Assert.Equal(0, await page.Locator("[data-testid='model-row-scenes-examples-only']").CountAsync());
        Assert.False(await page.Locator("[data-testid=error]").IsVisibleAsync());

        // An example again: the copy has it (one key), so it is offered and explains it by its index.
        await page.Locator("[data-testid=example]").Nth(1).ClickAsync();
        Assert.True(await copy.IsEnabledAsync());
        Assert.Equal(string.Empty, await reason.TextContentAsync());
        await copy.CheckAsync();
        await page.Locator("[data-testid=run]").ClickAsync();
        var row = page.Locator("[data-testid='model-row-scenes-examples-only']");
        await row.Locator("[data-testid=heatmap]").First.WaitForAsync();
        await AssertRowIsTheApis(row, server, "scenes-examples-only", example: 1);
        await page.CloseAsync();
    }

    [Fact]
    public async Task Page_StoryModelsTypedPrompt_ColoursEveryWordAsTheApiDoes()
    {
        const string Prompt = "john went to the kitchen . mary went to the garden . where is mary ?";
        await using var server = await InsightsServer.StartAsync(
            [new InsightsModel(Captum.Plugins.TextGeneration.StoryAnswerModel.Load(), new Captum.Plugins.TextGeneration.Stories.StoryDataset().Open(new Captum.Plugins.ExampleDatasetOptions { Count = 4 }))]);
        var page = await fixture.Browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1200, Height = 820 } });
        page.SetDefaultTimeout(30_000);
        await page.GotoAsync(server.Url.ToString());
        await page.Locator("[data-testid=upload-prompt]").FillAsync(Prompt);
        await page.Locator("[data-testid=use-upload]").ClickAsync();
        await page.Locator("[data-testid=run]").ClickAsync();
        var words = page.Locator("[data-testid='method-result-layer-ig'] [data-testid=word]");
        await words.Nth(Prompt.Split(' ').Length - 1).WaitForAsync();
        await Screenshot(page, "story.png");

        using var client = new HttpClient { BaseAddress = server.Url };
        using var form = InsightsFixture.Form([("prompt", Prompt), ("method", "layer-ig")]);
        var api = JsonDocument.Parse(await (await client.PostAsync("api/explain", form)).Content.ReadAsStringAsync()).RootElement.GetProperty("results")[0];
        Assert.Equal("garden", api.GetProperty("answer").GetString());
        Assert.Equal("garden", await page.Locator("[data-testid=predicted-label]").TextContentAsync());
        Assert.Equal(Prompt.Split(' '), await words.EvaluateAllAsync<string[]>("ws => ws.map(w => w.textContent.trim())"));
        var shown = await words.EvaluateAllAsync<string[]>("ws => ws.map(w => w.dataset.value)");
        var tokens = api.GetProperty("tokenAttributions").EnumerateArray().Select(t => t.GetDouble()).ToList();
        Assert.Equal(tokens.Count, shown.Length);
        for (var i = 0; i < tokens.Count; i++)
        {
            Assert.Equal(tokens[i], double.Parse(shown[i], CultureInfo.InvariantCulture), 6);
        }

        // No image: no heat map, no image contribution, no view or sign to choose; tokens only: no baseline to choose.
        Assert.Equal(0, await page.Locator("[data-testid=heatmap]").CountAsync());
        Assert.Equal(0, await page.Locator("[data-testid=number-image]").CountAsync());
        Assert.False(await page.Locator("[data-testid=view]").IsVisibleAsync());
        Assert.False(await page.Locator("[data-testid=baseline]").IsVisibleAsync());
        await page.CloseAsync();
    }

    /// <summary>A new page on <paramref name="server"/>'s address, its first model's examples listed.</summary>
    private async Task<IPage> Open(InsightsServer server)
    {
        var page = await fixture.Browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1200, Height = 1100 } });
        page.SetDefaultTimeout(30_000);
        await page.GotoAsync(server.Url.ToString());
        await page.Locator("[data-testid=example]").First.WaitForAsync();
        return page;
    }

    /// <summary>A model's row shows the answer and probability the API gives for <paramref name="model"/>'s example <paramref name="example"/>.</summary>
    private static async Task AssertRowIsTheApis(ILocator row, InsightsServer server, string model, int example)
    {
        using var client = new HttpClient { BaseAddress = server.Url };
        using var form = InsightsFixture.Form([("model", model), ("example", example.ToString(CultureInfo.InvariantCulture))]);
        var api = JsonDocument.Parse(await (await client.PostAsync("api/explain", form)).Content.ReadAsStringAsync()).RootElement.GetProperty("results")[0];
        Assert.Equal(api.GetProperty("predicted").GetString(), await row.Locator("[data-testid=predicted-label]").TextContentAsync());
        AssertShown(api.GetProperty("predictedProbability").GetDouble(), await row.Locator("[data-testid=predicted-probability]").TextContentAsync());
    }

    /// <summary>The page shows <paramref name="expected"/> to six significant digits.</summary>
    private static void AssertShown(double expected, string? shown)
    {
        Assert.NotNull(shown);
        var value = double.Parse(shown, CultureInfo.InvariantCulture);
        Assert.True(Math.Abs(value - expected) <= 5e-6 * Math.Max(Math.Abs(expected), 1e-30) + 1e-300, $"shown {shown}, the API says {expected}");
    }

    private static async Task Screenshot(IPage page, string name)
    {
        if (Environment.GetEnvironmentVariable("CAPTUM_INSIGHTS_SCREENSHOTS") is { Length: > 0 } folder)
        {
            Directory.CreateDirectory(folder);
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(folder, name), FullPage = false });
        }
    }
}
