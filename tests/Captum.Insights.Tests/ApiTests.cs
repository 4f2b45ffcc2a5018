using System.Net;
using System.Text.Json;
using Captum.Explain.Results;
using Xunit;

namespace Captum.Insights.Tests;

/// <summary>The JSON API over the scenes VQA model: what it lists, what it answers, and that it equals the command's result.json.</summary>
public sealed class ApiTests(InsightsFixture fixture) : IClassFixture<InsightsFixture>
{
    [Fact]
    public async Task Healthz_Running_SaysOkAndNamesTheModel()
    {
        var (status, json) = await fixture.Get("healthz");
        Assert.Equal(200, status);
        Assert.Equal("ok", json.GetProperty("status").GetString());
        Assert.Equal(await ModelName(), json.GetProperty("models")[0].GetProperty("name").GetString());
    }

    [Fact]
    public async Task Models_Listed_HaveLabelsInputsExamplesAndEveryBuiltInMethod()
    {
        var (status, json) = await fixture.Get("api/models");
        Assert.Equal(200, status);
        var model = json.GetProperty("models")[0];
        Assert.True(model.GetProperty("labels").GetArrayLength() > 2);
        Assert.Equal(["image", "question"], model.GetProperty("inputs").EnumerateArray().Select(i => i.GetProperty("name").GetString()));
        Assert.Equal(["image", "text"], model.GetProperty("inputs").EnumerateArray().Select(i => i.GetProperty("kind").GetString()));
        Assert.Equal(InsightsFixture.ExampleCount, model.GetProperty("examples").GetInt32());
        Assert.Equal(["layer-ig", "interpretable-embedding", "gradient-x-activation", "occlusion"], model.GetProperty("methods").EnumerateArray().Select(m => m.GetProperty("name").GetString()));
        Assert.Contains("blended_heat_map", json.GetProperty("views").EnumerateArray().Select(v => v.GetString()));
    }

    [Fact]
    public async Task Models_Methods_SayWhoseSumsAddUpToTheOutputsChange()
    {
        var (_, json) = await fixture.Get("api/models");

        // Completeness: the path methods, which have a convergence delta; not occlusion nor gradient times activation.
        var methods = json.GetProperty("models")[0].GetProperty("methods").EnumerateArray().ToDictionary(m => m.GetProperty("name").GetString()!, m => m.GetProperty("completeness").GetBoolean());
        Assert.Equal(new Dictionary<string, bool> { ["layer-ig"] = true, ["interpretable-embedding"] = true, ["gradient-x-activation"] = false, ["occlusion"] = false }, methods);
    }

    [Fact]
    public async Task Models_StoryAndScenesModels_DescribeTheMethodsByTheirOwnInputs()
    {
        await using var server = await InsightsServer.StartAsync(
            [new InsightsModel(Captum.Plugins.TextGeneration.StoryAnswerModel.Load()), new InsightsModel(Captum.Plugins.Vqa.VqaModelProvider.LoadModel(null, null, new Captum.Plugins.Vqa.VqaModelOptions()))]);
        using var client = new HttpClient { BaseAddress = server.Url };
        var models = JsonDocument.Parse(await client.GetStringAsync("api/models")).RootElement.GetProperty("models").EnumerateArray()
            .ToDictionary(m => m.GetProperty("name").GetString()!, m => m.GetProperty("methods").EnumerateArray().ToDictionary(x => x.GetProperty("name").GetString()!, x => x.GetProperty("description").GetString()!));

        // The story model has a prompt and no image: nothing about patches, images or a tutorial of another model.
        Assert.All(models["story"].Values, d => Assert.DoesNotContain("image", d, StringComparison.OrdinalIgnoreCase));
        Assert.All(models["story"].Values, d => Assert.DoesNotContain("tutorial", d, StringComparison.OrdinalIgnoreCase));
        Assert.Equal(
            "Occlusion: prompt one element (a token) at a time, replaced by the baseline; one forward pass each, no gradients, no delta; the sums are not the output's change.",
            models["story"]["occlusion"]);
        Assert.StartsWith("Occlusion: image in patches an eighth of the side wide (half-overlapping), each pixel given the mean change of the patches over it, and question one element (a token) at a time,", models["scenes-vqa"]["occlusion"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExampleInput_Image_IsTheDatasetsPng()
    {
        var name = await ModelName();
        var bytes = await fixture.Client.GetByteArrayAsync($"api/models/{name}/examples/2/inputs/image");
        Assert.Equal(fixture.Dataset.Get(2).Inputs["image"].Content.ToArray(), bytes);
    }

    [Fact]
    public async Task Explain_Example_AnswersTheFieldsOfResultJson()
    {
        var (status, json, response) = await fixture.Explain(InsightsFixture.Form([("example", "1"), ("method", "layer-ig"), ("method", "occlusion"), ("steps", "8")]));
        Assert.Equal(200, status);
        // Every field result.json has, and no other: the document deserializes and serializes back to the same JSON.
        var document = JsonSerializer.Deserialize<ExplanationResultDocument>(json.GetRawText(), ExplanationResultDocument.JsonOptions)!;
        Assert.Equal(JsonSerializer.Serialize(json), JsonSerializer.Serialize(JsonDocument.Parse(document.ToJson()).RootElement));
        Assert.Equal(["layer-ig", "occlusion"], document.Methods);
        Assert.Equal(8, document.Steps);
        var result = Assert.Single(document.Results);
        Assert.Equal(fixture.Dataset.Get(1).ExpectedLabel, result.Expected);
        Assert.Equal(fixture.Dataset.Get(1).Id, result.Image);
        Assert.Equal(result.Tokens!.Count, result.TokenAttributions!.Count);
        Assert.NotNull(result.Methods["layer-ig"].Delta);
        Assert.Null(result.Methods["occlusion"].Delta);
        Assert.Equal(result.TextContribution + result.ImageContribution, result.TotalContribution, 5);
        Assert.EndsWith("/result.json", response.Headers.Location!.ToString());

        var (again, stored) = await fixture.Get(response.Headers.Location!.ToString().TrimStart('/'));
        Assert.Equal(200, again);
        Assert.Equal(json.GetRawText(), stored.GetRawText());
    }

    [Fact]
    public async Task Explain_UploadedImageAndQuestion_EqualTheExamplesExplanation()
    {
        var example = fixture.Dataset.Get(4);
        var (_, byExample, _) = await fixture.Explain(InsightsFixture.Form([("example", "4"), ("steps", "6")]));
        var (status, byUpload, _) = await fixture.Explain(InsightsFixture.Form(
            [("question", example.Inputs["question"].Text!), ("steps", "6")],
            ("image", example.Inputs["image"].Content.ToArray(), "scene.png")));
        Assert.Equal(200, status);
        var a = byExample.GetProperty("results")[0];
        var b = byUpload.GetProperty("results")[0];
        Assert.Equal("scene.png", b.GetProperty("image").GetString());
        Assert.Equal(a.GetProperty("answer").GetString(), b.GetProperty("answer").GetString());
        Assert.Equal(a.GetProperty("tokenAttributions").GetRawText(), b.GetProperty("tokenAttributions").GetRawText());
        Assert.Equal(a.GetProperty("imageContribution").GetDouble(), b.GetProperty("imageContribution").GetDouble());
    }

    [Fact]
    public async Task Explain_ChosenTarget_ExplainsThatLabelAndNamesThePrediction()
    {
        var (_, models) = await fixture.Get("api/models");
        var labels = models.GetProperty("models")[0].GetProperty("labels").EnumerateArray().Select(l => l.GetString()!).ToList();
        var (_, byPrediction, _) = await fixture.Explain(InsightsFixture.Form([("example", "0"), ("steps", "4")]));
        var predicted = byPrediction.GetProperty("results")[0];
        Assert.Equal(predicted.GetProperty("answer").GetString(), predicted.GetProperty("predicted").GetString());
        Assert.Equal(predicted.GetProperty("answerIndex").GetInt64(), predicted.GetProperty("predictedIndex").GetInt64());
        Assert.Equal(predicted.GetProperty("probability").GetDouble(), predicted.GetProperty("predictedProbability").GetDouble());
        var other = (int)((predicted.GetProperty("answerIndex").GetInt64() + 1) % labels.Count);

        var (status, json, _) = await fixture.Explain(InsightsFixture.Form([("example", "0"), ("steps", "4"), ("target", labels[other])]));

        Assert.Equal(200, status);
        var result = json.GetProperty("results")[0];
        Assert.Equal(labels[other], result.GetProperty("answer").GetString());
        Assert.Equal(other, result.GetProperty("answerIndex").GetInt64());
        Assert.Equal(predicted.GetProperty("answer").GetString(), result.GetProperty("predicted").GetString());
        Assert.Equal(predicted.GetProperty("answerIndex").GetInt64(), result.GetProperty("predictedIndex").GetInt64());
        Assert.Equal(predicted.GetProperty("probability").GetDouble(), result.GetProperty("predictedProbability").GetDouble());
        Assert.NotEqual(result.GetProperty("probability").GetDouble(), result.GetProperty("predictedProbability").GetDouble());
    }

    [Fact]
    public async Task Explain_Baselines_ZeroIsTheScenesModelsOwnAndBlurChangesTheImagesShare()
    {
        var (_, models) = await fixture.Get("api/models");
        Assert.Equal(["model", "zero", "blur"], models.GetProperty("baselines").EnumerateArray().Select(b => b.GetProperty("name").GetString()));

        var results = new Dictionary<string, JsonElement>();
        foreach (var baseline in new[] { "model", "zero", "blur" })
        {
            var (status, json, _) = await fixture.Explain(InsightsFixture.Form([("example", "2"), ("steps", "8"), ("baseline", baseline)]));
            Assert.Equal(200, status);
            Assert.Equal(baseline, json.GetProperty("baseline").GetString());
            results[baseline] = json.GetProperty("results")[0];
        }

        // The scenes model's own image baseline is the tutorial's zero; its question baseline is padding under all three.
        Assert.Equal(results["model"].GetProperty("imageContribution").GetDouble(), results["zero"].GetProperty("imageContribution").GetDouble());
        Assert.Equal(results["model"].GetProperty("tokenAttributions").GetRawText(), results["zero"].GetProperty("tokenAttributions").GetRawText());
        Assert.NotEqual(results["model"].GetProperty("imageContribution").GetDouble(), results["blur"].GetProperty("imageContribution").GetDouble());
    }

    [Fact]
    public async Task Explain_UnknownBaseline_400NamingIt()
    {
        var (status, json, _) = await fixture.Explain(InsightsFixture.Form([("example", "0"), ("baseline", "black")]));

        Assert.Equal(400, status);
        Assert.StartsWith("baseline must be one of model, zero, blur", json.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunImages_EveryViewAndSign_ArePngsOfTheImagesSize()
    {
        var (_, _, response) = await fixture.Explain(InsightsFixture.Form([("example", "0"), ("steps", "4")]));
        var run = response.Headers.GetValues("X-Insights-Run").Single();
        foreach (var view in new[] { "heat_map", "blended_heat_map", "original_image", "masked_image", "alpha_scaling" })
        {
            foreach (var sign in new[] { "absolute_value", "all" })
            {
                var png = await fixture.Client.GetAsync($"api/runs/{run}/images/image?method=layer-ig&view={view}&sign={sign}");
                if (sign == "all" && view is "masked_image" or "alpha_scaling")
                {
                    // Captum refuses these: a mask cannot be negative.
                    Assert.Equal(HttpStatusCode.BadRequest, png.StatusCode);
                    Assert.Contains("choose a different sign", await png.Content.ReadAsStringAsync());
                    continue;
                }

                Assert.True(png.StatusCode == HttpStatusCode.OK, $"{view} {sign}: {(int)png.StatusCode} {await png.Content.ReadAsStringAsync()}");
                Assert.Equal("image/png", png.Content.Headers.ContentType!.MediaType);
                var bytes = await png.Content.ReadAsByteArrayAsync();
                Assert.Equal(0x89, bytes[0]);
            }
        }

        var report = await fixture.Client.GetAsync($"api/runs/{run}/report.html");
        Assert.Equal(HttpStatusCode.OK, report.StatusCode);
        Assert.Contains("<html", await report.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Explain_Streaming_SendsProgressThenTheResult()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/explain") { Content = InsightsFixture.Form([("example", "0"), ("steps", "20")]) };
        request.Headers.Accept.ParseAdd("application/x-ndjson");
        using var response = await fixture.Client.SendAsync(request);
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal("queued", lines[0].GetProperty("type").GetString());
        Assert.Contains(lines, l => l.GetProperty("type").GetString() == "progress");
        Assert.Equal("result", lines[^1].GetProperty("type").GetString());
        Assert.Equal("layer-ig", lines[^1].GetProperty("result").GetProperty("method").GetString());
    }

    private async Task<string> ModelName()
    {
        var (_, json) = await fixture.Get("api/models");
        return json.GetProperty("models")[0].GetProperty("name").GetString()!;
    }
}

/// <summary>The examples list's filters, over scenes the model answers both rightly and wrongly.</summary>
public sealed class ExampleFilterTests(MixedPredictionsFixture fixture) : IClassFixture<MixedPredictionsFixture>
{
    [Fact]
    public async Task Examples_CorrectAndIncorrect_PartitionAllByPredictionAndAgreeWithTheDataset()
    {
        var name = (await fixture.Get("api/models")).Json.GetProperty("models")[0].GetProperty("name").GetString()!;
        var (_, all) = await fixture.Get($"api/models/{name}/examples");
        var (_, correct) = await fixture.Get($"api/models/{name}/examples?filter=correct");
        var (_, incorrect) = await fixture.Get($"api/models/{name}/examples?filter=incorrect");
        var examples = all.GetProperty("examples").EnumerateArray().ToList();
        Assert.Equal(InsightsFixture.ExampleCount, examples.Count);

        // Each filter lists exactly the examples whose prediction is (or is not) the expected answer, and both list some.
        var right = examples.Where(e => e.GetProperty("predicted").GetString() == e.GetProperty("expected").GetString()).Select(Index).ToList();
        var wrong = examples.Select(Index).Except(right).ToList();
        Assert.NotEmpty(right);
        Assert.NotEmpty(wrong);
        Assert.Equal(right, correct.GetProperty("examples").EnumerateArray().Select(Index));
        Assert.Equal(wrong, incorrect.GetProperty("examples").EnumerateArray().Select(Index));
        Assert.All(incorrect.GetProperty("examples").EnumerateArray(), e => Assert.False(string.IsNullOrEmpty(e.GetProperty("predicted").GetString())));
        for (var i = 0; i < examples.Count; i++)
        {
            var expected = fixture.Dataset.Get(i);
            Assert.Equal(expected.Id, examples[i].GetProperty("id").GetString());
            Assert.Equal(expected.ExpectedLabel, examples[i].GetProperty("expected").GetString());
            Assert.Equal(expected.Inputs["question"].Text, examples[i].GetProperty("texts").GetProperty("question").GetString());
            Assert.Equal(wrong.Contains(i), !examples[i].GetProperty("correct").GetBoolean());
        }
    }

    [Fact]
    public async Task Examples_Predicted_KeepsThoseWhosePredictionIsAmongTheLabelsAsCaptumsClassFilter()
    {
        var name = (await fixture.Get("api/models")).Json.GetProperty("models")[0].GetProperty("name").GetString()!;
        var examples = (await fixture.Get($"api/models/{name}/examples")).Json.GetProperty("examples").EnumerateArray().ToList();
        var wrong = examples.First(e => !e.GetProperty("correct").GetBoolean());
        var label = wrong.GetProperty("predicted").GetString()!;
        var (status, byPrediction) = await fixture.Get($"api/models/{name}/examples?predicted={Uri.EscapeDataString(label)}");

        // Every example predicted as the label, the wrongly answered one among them, whatever it expects.
        Assert.Equal(200, status);
        Assert.Equal(examples.Where(e => e.GetProperty("predicted").GetString() == label).Select(Index), byPrediction.GetProperty("examples").EnumerateArray().Select(Index));
        Assert.Contains(Index(wrong), byPrediction.GetProperty("examples").EnumerateArray().Select(Index));

        // Several labels: those predicted as any of them.
        var other = examples.Select(e => e.GetProperty("predicted").GetString()!).First(p => p != label);
        var (_, byEither) = await fixture.Get($"api/models/{name}/examples?predicted={Uri.EscapeDataString(label)}&predicted={Uri.EscapeDataString(other)}");
        Assert.Equal(
            examples.Where(e => e.GetProperty("predicted").GetString() is { } p && (p == label || p == other)).Select(Index),
            byEither.GetProperty("examples").EnumerateArray().Select(Index));
    }

    [Fact]
    public async Task Examples_ExpectedOrItsFormerNameAnswer_KeepsThoseExpectingTheLabelWhateverTheirPrediction()
    {
        var name = (await fixture.Get("api/models")).Json.GetProperty("models")[0].GetProperty("name").GetString()!;
        var examples = (await fixture.Get($"api/models/{name}/examples")).Json.GetProperty("examples").EnumerateArray().ToList();
        var label = examples.First(e => !e.GetProperty("correct").GetBoolean()).GetProperty("expected").GetString()!;
        var expected = examples.Where(e => e.GetProperty("expected").GetString() == label).Select(Index).ToList();

        foreach (var parameter in new[] { "expected", "answer" })
        {
            var (status, json) = await fixture.Get($"api/models/{name}/examples?{parameter}={Uri.EscapeDataString(label)}");
            Assert.Equal(200, status);
            Assert.Equal(expected, json.GetProperty("examples").EnumerateArray().Select(Index));
        }
    }

    [Theory]
    [InlineData("predicted=nonsense", "predicted 'nonsense' is not one of scenes-vqa's labels.")]
    [InlineData("expected=nonsense", "expected 'nonsense' is not one of scenes-vqa's labels.")]
    [InlineData("expected=red&answer=red", "expected (or answer, its former name) is given more than once; give one label.")]
    public async Task Examples_LabelFilterNotALabel_Is400NamingTheParameter(string query, string message)
    {
        var (status, json) = await fixture.Get($"api/models/scenes-vqa/examples?{query}");

        Assert.Equal(400, status);
        Assert.Equal(message, json.GetProperty("error").GetString());
    }

    private static int Index(JsonElement example) => example.GetProperty("index").GetInt32();
}
