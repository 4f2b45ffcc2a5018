using System.Net.Http.Headers;
using System.Text.Json;
using Captum.Plugins;
using Captum.Plugins.Vqa;
using Captum.Plugins.Vqa.Scenes;
using Xunit;

namespace Captum.Insights.Tests;

/// <summary>
/// One Captum Insights server for a test class, on a free loopback port: the scenes VQA model that ships with the
/// plugin (its pixel limit lowered to <see cref="MaxPixels"/> so a "huge" image is small to make) and the first
/// <see cref="ExampleCount"/> examples of the scenes dataset.
/// </summary>
public class InsightsFixture : IAsyncLifetime
{
    /// <summary>The model's pixel limit in these tests.</summary>
    public const long MaxPixels = 200_000;

    /// <summary>The examples served.</summary>
    public const int ExampleCount = 8;

    /// <summary>The upload limit in these tests.</summary>
    public const long MaxUploadBytes = 256 * 1024;

    public InsightsServer Server { get; private set; } = null!;

    public HttpClient Client { get; private set; } = null!;

    /// <summary>Example <c>i</c> of the served dataset, as the server has it.</summary>
    public IExampleDataset Dataset { get; private set; } = null!;

    protected virtual int QueueCapacity => 16;

    /// <summary>The seed of the served scenes.</summary>
    protected virtual long Seed => 3;

    public virtual async Task InitializeAsync()
    {
        var model = VqaModelProvider.LoadModel(null, null, new VqaModelOptions { MaxImagePixels = MaxPixels });
        Dataset = new SceneDataset().Open(new ExampleDatasetOptions { Count = ExampleCount, Seed = Seed });
        Server = await InsightsServer.StartAsync(
            [new InsightsModel(model, Dataset, "the scenes VQA model")],
            options: new InsightsServerOptions { QueueCapacity = QueueCapacity, MaxUploadBytes = MaxUploadBytes });
        Client = new HttpClient { BaseAddress = Server.Url, Timeout = TimeSpan.FromSeconds(60) };
    }

    public virtual async Task DisposeAsync()
    {
        Client.Dispose();
        await Server.DisposeAsync();
    }

    /// <summary>A multipart form of fields (a value may repeat a name) and files.</summary>
    public static MultipartFormDataContent Form(IEnumerable<(string Name, string Value)> fields, params (string Name, byte[] Content, string FileName)[] files)
    {
        var form = new MultipartFormDataContent();
        foreach (var (name, value) in fields)
        {
            form.Add(new StringContent(value), name);
        }

        foreach (var (name, content, fileName) in files)
        {
            var part = new ByteArrayContent(content);
            part.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            form.Add(part, name, fileName);
        }

        return form;
    }

    /// <summary>POSTs a form to /api/explain and returns the status and the parsed JSON answer.</summary>
    public async Task<(int Status, JsonElement Json, HttpResponseMessage Response)> Explain(HttpContent form, CancellationToken cancellationToken = default)
    {
        var response = await Client.PostAsync("api/explain", form, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        return ((int)response.StatusCode, JsonDocument.Parse(text).RootElement.Clone(), response);
    }

    /// <summary>GETs a JSON answer.</summary>
    public async Task<(int Status, JsonElement Json)> Get(string path)
    {
        var response = await Client.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }
}

/// <summary>
/// A server whose examples the scenes model answers both rightly and wrongly: of the 8 scenes of seed 2 it gets 2
/// wrong (examples 2 and 7), where it gets all 8 of seed 3 right.
/// </summary>
public sealed class MixedPredictionsFixture : InsightsFixture
{
    protected override long Seed => 2;
}

/// <summary>A server whose queue holds a single waiting request, to see it fill.</summary>
public sealed class SmallQueueFixture : InsightsFixture
{
    protected override int QueueCapacity => 1;
}
