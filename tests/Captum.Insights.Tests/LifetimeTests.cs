using System.Diagnostics;
using System.Net;
using System.Text.Json;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Captum.Insights.Tests;

/// <summary>
/// What the server owns and frees, how it stops, which requests it refuses (another site's), and how it tells of
/// failures: with models of its own, small and quick to serve.
/// </summary>
public sealed class LifetimeTests
{
    [Fact]
    public void Visualizer_ModelsDisposed_FreeTheExamplesAndEveryTemporary()
    {
        using var model = new AttributionVisualizerTests.PhotoAndMeasurements();
        var visualizer = AttributionVisualizerTests.TwoFeatureVisualizer(model);
        var live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        var served = visualizer.ToInsightsModels();
        Assert.True(DisposeScopeManager.Statistics.ThreadTotalLiveCount > live);
        foreach (var m in served)
        {
            m.Dispose();
        }

        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public async Task Dispose_WhileALongRunIsInProgress_EndsPromptlyAndTellsTheClient()
    {
        using var model = new Sleepy(TimeSpan.FromSeconds(1));
        var server = await Visualizer(model, size: 16).ServeAsync();
        using var client = new HttpClient { BaseAddress = server.Url };
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/explain") { Content = InsightsFixture.Form([("example", "0"), ("method", "occlusion")]) };
        request.Headers.Accept.ParseAdd("application/x-ndjson");

        // About 15 batched forward passes of a second each; the first progress line comes after the first.
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        while ((await reader.ReadLineAsync())?.Contains("\"progress\"", StringComparison.Ordinal) == false)
        {
        }

        var clock = Stopwatch.StartNew();
        await server.DisposeAsync();
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(6), $"disposing took {clock.Elapsed}");
        var last = JsonDocument.Parse((await reader.ReadToEndAsync()).Trim().Split('\n')[^1]).RootElement;
        Assert.Equal("error", last.GetProperty("type").GetString());
        Assert.Equal(503, last.GetProperty("status").GetInt32());
    }

    [Theory]
    [InlineData("evil.example")]
    [InlineData("localhost.evil.example")]
    public async Task Request_HostNotTheServers_Is403(string host)
    {
        using var model = new AttributionVisualizerTests.PhotoAndMeasurements();
        await using var server = await AttributionVisualizerTests.TwoFeatureVisualizer(model).ServeAsync();
        using var client = new HttpClient { BaseAddress = server.Url };
        using var request = new HttpRequestMessage(HttpMethod.Get, "api/models");
        request.Headers.Host = $"{host}:{server.Url.Port}";
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("not this server's address", Error(await response.Content.ReadAsStringAsync()));

        // The server's own names pass.
        foreach (var name in new[] { "localhost", "127.0.0.1" })
        {
            using var own = new HttpRequestMessage(HttpMethod.Get, "api/models");
            own.Headers.Host = $"{name}:{server.Url.Port}";
            Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(own)).StatusCode);
        }
    }

    [Theory]
    [InlineData("http://evil.example", HttpStatusCode.Forbidden)]
    [InlineData("null", HttpStatusCode.Forbidden)]
    [InlineData("SELF", HttpStatusCode.OK)]
    public async Task Post_FromAnotherOrigin_Is403(string origin, HttpStatusCode expected)
    {
        using var model = new AttributionVisualizerTests.PhotoAndMeasurements();
        await using var server = await AttributionVisualizerTests.TwoFeatureVisualizer(model).ServeAsync();
        using var client = new HttpClient { BaseAddress = server.Url };
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/explain") { Content = InsightsFixture.Form([("example", "0"), ("method", "gradient-x-activation"), ("steps", "2")]) };
        request.Headers.Add("Origin", origin == "SELF" ? server.Url.GetLeftPart(UriPartial.Authority) : origin);
        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, text);
        if (expected == HttpStatusCode.Forbidden)
        {
            Assert.Contains("only this server's own page", Error(text));
        }
    }

    [Fact]
    public async Task StreamedExplain_UnexpectedError_EndsWithAnErrorLine()
    {
        using var model = new Failing(example => new KeyNotFoundException("the model lost its key"), failOnBatch: true);
        await using var server = await Visualizer(model, size: 8).ServeAsync();
        using var client = new HttpClient { BaseAddress = server.Url };
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/explain") { Content = InsightsFixture.Form([("example", "0"), ("method", "occlusion")]) };
        request.Headers.Accept.ParseAdd("application/x-ndjson");
        using var response = await client.SendAsync(request);
        var last = JsonDocument.Parse((await response.Content.ReadAsStringAsync()).Trim().Split('\n')[^1]).RootElement;
        Assert.Equal("error", last.GetProperty("type").GetString());
        Assert.Equal(500, last.GetProperty("status").GetInt32());
        Assert.Contains("the model lost its key", last.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Examples_OneExampleFails_IsListedWithItsErrorAndTheOthersPredicted()
    {
        // Example 2's measurements are out of what the model accepts.
        using var model = new Failing(example => example == 2 ? new ArgumentException("measurement out of range") : null, failOnBatch: false);
        await using var server = await Visualizer(model, size: 8).ServeAsync();
        using var client = new HttpClient { BaseAddress = server.Url };
        for (var call = 0; call < 2; call++)
        {
            var examples = JsonDocument.Parse(await client.GetStringAsync("api/models/model/examples")).RootElement.GetProperty("examples");
            Assert.Equal(4, examples.GetArrayLength());
            Assert.Equal(JsonValueKind.Null, examples[2].GetProperty("predicted").ValueKind);
            Assert.Contains("measurement out of range", examples[2].GetProperty("error").GetString());
            Assert.All(new[] { 0, 1, 3 }, i => Assert.Equal(JsonValueKind.String, examples[i].GetProperty("predicted").ValueKind));
        }
    }

    [Fact]
    public void Worker_Stopped_RefusesNewWorkWithoutThrowing()
    {
        var worker = new ModelWorker("test", 1);
        worker.Dispose();
        Assert.True(worker.Stopping);
        Assert.Null(worker.TryRun(_ => 1, CancellationToken.None));
        worker.Dispose();
    }

    private static string Error(string json) => JsonDocument.Parse(json).RootElement.GetProperty("error").GetString()!;

    /// <summary>Four examples of a photo of <paramref name="size"/> pixels and four measurements; example i's first measurement is i.</summary>
    private static AttributionVisualizer Visualizer(nn.Module model, int size)
    {
        var measurements = torch.randn(4, 4);
        measurements[.., 0] = torch.arange(4, dtype: ScalarType.Float32);
        return new AttributionVisualizer(
            [model],
            ["cat", "dog", "bird"],
            [new ImageFeature("photo"), new GeneralFeature("measurements", ["a", "b", "c", "d"])],
            [new Batch([torch.rand(4, 3, size, size), measurements], torch.tensor(new long[] { 0, 1, 2, 0 }))]);
    }

    /// <summary>A model that sleeps on every batched forward pass (a long attribution); single examples are quick.</summary>
    private sealed class Sleepy(TimeSpan delay) : nn.Module<Tensor, Tensor, Tensor>(nameof(Sleepy))
    {
        public override Tensor forward(Tensor photo, Tensor measurements)
        {
            if (photo.shape[0] > 1)
            {
                Thread.Sleep(delay);
            }

            return (photo.mean([1, 2, 3]).unsqueeze(1) + measurements[.., ..3]) * 1.0;
        }
    }

    /// <summary>A model that throws what <paramref name="failure"/> gives for an example (by its first measurement), or on any batched pass.</summary>
    private sealed class Failing(Func<int, Exception?> failure, bool failOnBatch) : nn.Module<Tensor, Tensor, Tensor>(nameof(Failing))
    {
        public override Tensor forward(Tensor photo, Tensor measurements)
        {
            if (failOnBatch ? photo.shape[0] > 1 : failure((int)measurements[0, 0].item<float>()) is not null)
            {
                throw failure((int)measurements[0, 0].item<float>())!;
            }

            return (photo.mean([1, 2, 3]).unsqueeze(1) + measurements[.., ..3]) * 1.0;
        }
    }
}
