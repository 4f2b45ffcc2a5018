using System.Net;
using System.Text;
using System.Text.Json;
using Captum.Plugins.Vqa;
using Captum.Plugins.Vqa.Tutorial;
using Captum.TestData;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using Xunit;

namespace Captum.Insights.Tests;

/// <summary>Bad input gets a 4xx with a readable message; concurrent requests equal sequential ones; a client that leaves cancels its run.</summary>
public sealed class ReliabilityTests(InsightsFixture fixture) : IClassFixture<InsightsFixture>
{
    private byte[] ScenePng => fixture.Dataset.Get(0).Inputs["image"].Content.ToArray();

    [Fact]
    public async Task Upload_OverTheSizeLimit_Is413()
    {
        // Expect: 100-continue lets the server refuse before the body is sent, as a script's client should.
        var big = new byte[InsightsFixture.MaxUploadBytes + 4096];
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/explain") { Content = InsightsFixture.Form([("question", "what color is the circle?")], ("image", big, "big.png")) };
        request.Headers.ExpectContinue = true;
        using var response = await fixture.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("256 KiB", Error(JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement));
    }

    [Fact]
    public async Task Upload_NotAnImage_Is400NamingTheUpload()
    {
        var (status, json, _) = await fixture.Explain(InsightsFixture.Form([("question", "what color is the circle?")], ("image", Encoding.UTF8.GetBytes("hello, I am text"), "notes.txt")));
        Assert.Equal(400, status);
        Assert.Contains("notes.txt", Error(json));
    }

    [Fact]
    public async Task Upload_NotAnImage_IsRefusedForTheReasonTheVqaPluginGivesItsImageFiles()
    {
        var text = Encoding.UTF8.GetBytes("hello, I am text");
        var plugin = Assert.Throws<ArgumentException>(() => ImageFiles.Inspect(text, "notes.txt"));

        var (status, json, _) = await fixture.Explain(InsightsFixture.Form([("question", "what color is the circle?")], ("image", text, "notes.txt")));

        // One header check (Captum.Visualization's ImageHeaders) for both, the upload's field first.
        Assert.Equal(400, status);
        Assert.Equal($"image: {ErrorMessages.OneLine(plugin)}", Error(json));
        Assert.StartsWith("image: cannot read image notes.txt: not an image in a format ImageSharp reads", Error(json), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Upload_TruncatedPng_Is400ForTheReasonTheVqaPluginGivesItsImageFiles()
    {
        var cut = ScenePng[..(ScenePng.Length / 2)];
        var plugin = Assert.Throws<ArgumentException>(() => ImageFiles.Inspect(cut, "cut.png"));

        var (status, json, _) = await fixture.Explain(InsightsFixture.Form([("question", "what color is the circle?")], ("image", cut, "cut.png")));

        Assert.Equal(400, status);
        Assert.Equal($"image: {ErrorMessages.OneLine(plugin)}", Error(json));
    }

    [Fact]
    public async Task Upload_ImageOverTheModelsPixelLimit_Is400()
    {
        using var image = new Image<Rgb24>(600, 600);
        using var png = new MemoryStream();
        image.SaveAsPng(png);
        var (status, json, _) = await fixture.Explain(InsightsFixture.Form([("question", "what color is the circle?")], ("image", png.ToArray(), "huge.png")));
        Assert.Equal(400, status);
        Assert.Contains("pixels", Error(json));
    }

    [Fact]
    public async Task Upload_HeaderOf9000By9000OnADefaultServer_Is400NamingTheLimitBeforeTheQueue()
    {
        // The scenes model and the server as they are by default: the model's own limit is PIL's 89,478,485 pixels.
        await using var server = await InsightsServer.StartAsync([new InsightsModel(VqaModelProvider.LoadModel(null, null, new VqaModelOptions()))]);
        using var client = new HttpClient { BaseAddress = server.Url };
        using var form = InsightsFixture.Form([("question", "what color is the circle?")], ("image", PngFiles.Rgb(9000, 9000, pixelData: null), "huge.png"));
        using var response = await client.PostAsync("api/explain", form);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(
            "image: huge.png is 9000 x 9000, 81,000,000 pixels, more than the 25,000,000 an uploaded image may have (max-image-pixels); the model resizes it to its input anyway, so scale it down first.",
            Error(JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement));

        // Refused from its header while the request was read: the model's worker never had it.
        var model = JsonDocument.Parse(await client.GetStringAsync("healthz")).RootElement.GetProperty("models")[0];
        Assert.Equal([0, 0, 0, 0], new[] { "completed", "cancelled", "failed", "refused" }.Select(c => model.GetProperty(c).GetInt64()));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public async Task Question_Empty_Is400(string question)
    {
        var (status, json, _) = await fixture.Explain(InsightsFixture.Form([("question", question)], ("image", ScenePng, "scene.png")));
        Assert.Equal(400, status);
        Assert.Contains("question is empty", Error(json));
    }

    [Fact]
    public async Task Healthz_QuestionTheModelRefuses_CountsARefusalNotAFailure()
    {
        var before = (await fixture.Get("healthz")).Json.GetProperty("models")[0];

        var (status, json, _) = await fixture.Explain(InsightsFixture.Form([("question", "zzz qqq")], ("image", ScenePng, "scene.png")));

        // The model's own check on its worker: no word of the question is known.
        Assert.Equal(400, status);
        Assert.StartsWith("question: no word of it is in the model's vocabulary", Error(json), StringComparison.Ordinal);
        var after = (await fixture.Get("healthz")).Json.GetProperty("models")[0];
        Assert.Equal(before.GetProperty("refused").GetInt64() + 1, after.GetProperty("refused").GetInt64());
        Assert.Equal(before.GetProperty("failed").GetInt64(), after.GetProperty("failed").GetInt64());
    }

    [Fact]
    public async Task Healthz_ArgumentErrorInAMethodsWork_CountsAFailureNotARefusal()
    {
        // Not the model refusing the user's input while preparing it: a method's own argument error (a bug).
        await using var server = await InsightsServer.StartAsync(
            [new InsightsModel(VqaModelProvider.LoadModel(null, null, new VqaModelOptions()), fixture.Dataset, ownsModel: true)],
            new Captum.Explain.ExplanationStrategyRegistry([new ArgumentBugStrategy()]));
        using var client = new HttpClient { BaseAddress = server.Url };

        using var response = await client.PostAsync("api/explain", InsightsFixture.Form([("example", "0"), ("method", ArgumentBugStrategy.MethodName)]));
        var health = JsonDocument.Parse(await client.GetStringAsync("healthz")).RootElement.GetProperty("models")[0];

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal((1L, 0L), (health.GetProperty("failed").GetInt64(), health.GetProperty("refused").GetInt64()));
    }

    private sealed class ArgumentBugStrategy : Captum.Explain.IExplanationStrategy
    {
        public const string MethodName = "argument-bug";

        public string Name => MethodName;

        public string Description => "throws an ArgumentException of its own";

        public Captum.Explain.Explanation Explain(Captum.Plugins.IInterpretableModel model, Captum.Plugins.PreparedInput input, Captum.Explain.ExplanationOptions options, CancellationToken cancellationToken = default) =>
            throw new ArgumentException("k must be positive.", "k");
    }

    [Fact]
    public async Task Question_TenThousandCharacters_Is400()
    {
        var (status, json, _) = await fixture.Explain(InsightsFixture.Form([("question", new string('a', 10_000))], ("image", ScenePng, "scene.png")));
        Assert.Equal(400, status);
        Assert.False(string.IsNullOrWhiteSpace(Error(json)));
    }

    [Theory]
    [InlineData("method", "saliency-magic", "unknown method 'saliency-magic'")]
    [InlineData("steps", "abc", "steps must be a whole number")]
    [InlineData("steps", "0", "steps must be a whole number")]
    [InlineData("steps", "100000", "steps must be a whole number")]
    [InlineData("target", "banana", "target must be 'predicted'")]
    [InlineData("model", "gpt-7", "unknown model 'gpt-7'")]
    [InlineData("example", "-1", "example must be")]
    [InlineData("example", "99", "example must be")]
    [InlineData("example", "../1", "example must be")]
    [InlineData("colour", "red", "unknown field 'colour'")]
    [InlineData("image", "/etc/passwd", "never read")]
    public async Task Field_UnknownOrOutOfRange_Is400WithAMessage(string field, string value, string message)
    {
        var fields = new List<(string, string)> { (field, value) };
        if (field is not ("example" or "image"))
        {
            fields.Add(("example", "0"));
        }

        var (status, json, _) = await fixture.Explain(InsightsFixture.Form(fields));
        Assert.Equal(400, status);
        Assert.Contains(message, Error(json));
    }

    [Theory]
    [InlineData("question", "what color is the circle", "what shape is it")]
    [InlineData("target", "red", "blue")]
    [InlineData("steps", "5", "6")]
    [InlineData("model", "scenes-vqa", "scenes-vqa")]
    public async Task Field_GivenTwice_Is400NamingIt(string field, string first, string second)
    {
        var fields = new List<(string, string)> { (field, first), (field, second) };
        if (field != "question")
        {
            fields.Add(("question", "what color is the circle"));
        }

        var (status, json, _) = await fixture.Explain(InsightsFixture.Form(fields, ("image", ScenePng, "scene.png")));
        Assert.Equal(400, status);
        Assert.Contains($"{field} is given 2 times; give it once.", Error(json));
    }

    [Fact]
    public async Task Explain_MultipartBodyWithoutItsClosingBoundary_Is400SayingTheFormIsIncomplete()
    {
        // curl --data-binary of a file cut before its closing "--XX--" line.
        using var body = new ByteArrayContent(Encoding.ASCII.GetBytes("--XX\r\nContent-Disposition: form-data; name=\"example\"\r\n\r\n0\r\n"));
        body.Headers.TryAddWithoutValidation("Content-Type", "multipart/form-data; boundary=XX");
        var (status, json, _) = await fixture.Explain(body);
        Assert.Equal(400, status);
        Assert.Contains("the form is incomplete", Error(json));
        Assert.Equal(HttpStatusCode.OK, (await fixture.Client.GetAsync("healthz")).StatusCode);
    }

    [Theory]
    [InlineData("GET", "api/explain", "POST")]
    [InlineData("POST", "api/models", "GET")]
    [InlineData("DELETE", "api/runs/0123456789abcdef0123456789abcdef/result.json", "GET")]
    [InlineData("PUT", "healthz", "GET")]
    public async Task Api_WrongMethod_Is405WithAnErrorAndAllow(string method, string path, string allowed)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        using var response = await fixture.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal([allowed], response.Content.Headers.Allow);
        var error = Error(JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement);
        Assert.Contains($"{method} is not allowed", error);
        Assert.Contains($"use {allowed}", error);
    }

    [Fact]
    public async Task Explain_NotAForm_Is415()
    {
        var response = await fixture.Client.PostAsync("api/explain", new StringContent("{\"example\": 0}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
    }

    [Theory]
    [InlineData("../../../../etc/passwd")]
    [InlineData("%2e%2e/%2e%2e/%2e%2e/etc/passwd")]
    [InlineData("api/runs/..%2F..%2F..%2Fetc%2Fpasswd/result.json")]
    [InlineData("api/runs/0123456789abcdef0123456789abcdef/report.html")]
    [InlineData("api/models/vqa/examples/0/inputs/..%2F..%2Fetc%2Fpasswd")]
    [InlineData("api/models/..%2Fetc/examples")]
    [InlineData("wwwroot/index.html")]
    [InlineData("Captum.Insights.dll")]
    public async Task Path_OutsideTheApp_Is404AndServesNothingElse(string path)
    {
        var response = await fixture.Client.GetAsync(path);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("root:", text);
        Assert.False(string.IsNullOrWhiteSpace(Error(JsonDocument.Parse(text).RootElement)));
    }

    [Fact]
    public async Task Concurrent_Requests_EqualTheSequentialResults()
    {
        var requests = Enumerable.Range(0, 6).Select(i => (Example: i % 4, Method: i % 2 == 0 ? "layer-ig" : "gradient-x-activation")).ToList();
        var sequential = new List<string>();
        foreach (var (example, method) in requests)
        {
            sequential.Add(Numbers(await fixture.Explain(Form(example, method))));
        }

        var concurrent = await Task.WhenAll(requests.Select(async r => Numbers(await fixture.Explain(Form(r.Example, r.Method)))));
        Assert.Equal(sequential, concurrent);

        static MultipartFormDataContent Form(int example, string method) =>
            InsightsFixture.Form([("example", example.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("method", method), ("steps", "10")]);

        static string Numbers((int Status, JsonElement Json, HttpResponseMessage _) answer)
        {
            Assert.Equal(200, answer.Status);
            return answer.Json.GetProperty("results").GetRawText();
        }
    }

    [Fact]
    public async Task Client_DisconnectingMidRun_CancelsTheRunAndTheQueueMovesOn()
    {
        var before = await Counts();
        using var cancel = new CancellationTokenSource();
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/explain")
        {
            Content = InsightsFixture.Form([("example", "0"), ("steps", "300"), ("method", "layer-ig"), ("method", "interpretable-embedding"), ("method", "gradient-x-activation"), ("method", "occlusion")]),
        };
        request.Headers.Accept.ParseAdd("application/x-ndjson");
        // A client of its own that closes the connection when it stops reading (HttpClient's default first drains the
        // rest of the answer for up to 2 s to reuse the connection, and the run could end meanwhile).
        using var leaving = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = fixture.Server.Url };
        using (var response = await leaving.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel.Token))
        {
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancel.Token));
            string? line;
            while ((line = await reader.ReadLineAsync(cancel.Token)) is not null && !line.Contains("\"progress\"", StringComparison.Ordinal))
            {
            }

            Assert.NotNull(line);
            cancel.Cancel();
        }

        var deadline = DateTime.UtcNow.AddSeconds(20);
        var after = await Counts();
        while (after.Cancelled == before.Cancelled && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
            after = await Counts();
        }

        Assert.True(before.Cancelled + 1 == after.Cancelled, (await fixture.Get("healthz")).Json.GetRawText());
        var (status, _, _) = await fixture.Explain(InsightsFixture.Form([("example", "1"), ("steps", "4")]));
        Assert.Equal(200, status);
    }

    private async Task<(long Completed, long Cancelled)> Counts()
    {
        var (_, health) = await fixture.Get("healthz");
        var model = health.GetProperty("models")[0];
        return (model.GetProperty("completed").GetInt64(), model.GetProperty("cancelled").GetInt64());
    }

    private static string Error(JsonElement json) => json.GetProperty("error").GetString()!;
}

/// <summary>A full queue answers 503 with Retry-After at once, and the waiting requests still complete; a bad upload is refused before it.</summary>
public sealed class QueueTests(SmallQueueFixture fixture) : IClassFixture<SmallQueueFixture>
{
    [Fact]
    public async Task Queue_Full_Answers503WithRetryAfter()
    {
        await using var full = await FullQueue.Fill(fixture);
        var (status, json, refused) = await fixture.Explain(InsightsFixture.Form([("example", "2"), ("steps", "2")]));
        Assert.Equal(503, status);
        Assert.True(refused.Headers.RetryAfter?.Delta?.TotalSeconds >= 1);
        Assert.Contains("busy", json.GetProperty("error").GetString());

        Assert.Equal(200, await full.Release());
    }

    [Theory]
    [InlineData("notes.txt", "image: cannot read image notes.txt")]
    [InlineData("huge.png", "image: huge.png is 9000 x 9000, 81,000,000 pixels, more than the 25,000,000")]
    [InlineData("cut.png", "image: cannot read image cut.png: the PNG file is truncated")]
    public async Task Upload_BadImageWhileTheQueueIsFull_Is400NotBusy(string fileName, string message)
    {
        await using var full = await FullQueue.Fill(fixture);
        var content = fileName switch
        {
            "huge.png" => PngFiles.Rgb(9000, 9000, pixelData: null),
            "cut.png" => fixture.Dataset.Get(0).Inputs["image"].Content.ToArray()[..100],
            _ => Encoding.UTF8.GetBytes("hello, I am text"),
        };
        var (status, json, _) = await fixture.Explain(InsightsFixture.Form([("question", "what color is the circle?")], ("image", content, fileName)));
        Assert.Equal(400, status);
        Assert.StartsWith(message, json.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    /// <summary>The queue of a <see cref="SmallQueueFixture"/> made full: one long run streaming its progress, one request waiting.</summary>
    private sealed class FullQueue(CancellationTokenSource cancel, HttpResponseMessage running, Task<(int Status, JsonElement Json, HttpResponseMessage Response)> waiting) : IAsyncDisposable
    {
        private bool released;

        public static async Task<FullQueue> Fill(InsightsFixture fixture)
        {
            var cancel = new CancellationTokenSource();
            using var request = new HttpRequestMessage(HttpMethod.Post, "api/explain") { Content = InsightsFixture.Form([("example", "0"), ("steps", "300"), ("method", "layer-ig"), ("method", "interpretable-embedding")]) };
            request.Headers.Accept.ParseAdd("application/x-ndjson");
            var response = await fixture.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel.Token);
            var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancel.Token));
            string? line;
            while ((line = await reader.ReadLineAsync(cancel.Token)) is not null && !line.Contains("\"progress\"", StringComparison.Ordinal))
            {
            }

            Assert.True(line is not null, "the long run's stream ended without a progress line: it is not running");

            // The one running, one waiting (the capacity, SmallQueueFixture's 1): the next is refused.
            var waiting = fixture.Explain(InsightsFixture.Form([("example", "1"), ("steps", "2")]));
            var deadline = DateTime.UtcNow.AddSeconds(10);
            int queued;
            while ((queued = (await fixture.Get("healthz")).Json.GetProperty("models")[0].GetProperty("queued").GetInt32()) < 1 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
            }

            Assert.True(queued == 1, $"the queue never filled: {queued} queued, not 1");
            return new FullQueue(cancel, response, waiting);
        }

        /// <summary>Leaves the long run (its client goes away, which cancels it) and returns the waiting request's status.</summary>
        public async Task<int> Release()
        {
            released = true;
            await cancel.CancelAsync();
            running.Dispose();
            return (await waiting).Status;
        }

        public async ValueTask DisposeAsync()
        {
            if (!released)
            {
                await Release();
            }

            cancel.Dispose();
        }
    }
}
