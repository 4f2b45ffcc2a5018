using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Captum.TestData;
using Xunit;

namespace Captum.Insights.Tests;

/// <summary><c>captum insights</c> run as a user runs it: a process of the built command with its bundled plugins.</summary>
public sealed partial class InsightsCommandTests
{
    private static string Captum => Path.Combine(
        AppContext.BaseDirectory.Split($"{Path.DirectorySeparatorChar}tests{Path.DirectorySeparatorChar}")[0],
        "src", "Captum.Cli", "bin", new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name, "net10.0", "captum.dll");

    [Fact]
    public async Task Insights_Started_PrintsALoopbackUrlAndServesTheBundledModelsWithTheirDatasets()
    {
        await WhileServing(["--examples", "5"], async client =>
        {
            var models = JsonDocument.Parse(await client.GetStringAsync("api/models")).RootElement.GetProperty("models");
            // The bundled plugins' models, by name: the scenes VQA model (first, the page opens with it) and the story model.
            Assert.Equal(["scenes-vqa", "story"], models.EnumerateArray().Select(m => m.GetProperty("name").GetString()));
            Assert.All(models.EnumerateArray(), m => Assert.Equal(5, m.GetProperty("examples").GetInt32()));

            // As many examples, but the scenes and the stories: two datasets.
            Assert.Equal(["dataset-1", "dataset-2"], models.EnumerateArray().Select(m => m.GetProperty("dataset").GetString()));
            Assert.Equal("ok", JsonDocument.Parse(await client.GetStringAsync("healthz")).RootElement.GetProperty("status").GetString());
        });
    }

    [Fact]
    public async Task Insights_AModelsFileGiven_ListsThatModelFirstAndItsDefaultBesideTheOthers()
    {
        var shipped = Path.Combine(Path.GetDirectoryName(Captum)!, "plugins", "Captum.Plugins.TextGeneration", "Stories", "story-model");
        await WhileServing(["--examples", "1", "--story-model", shipped], async client =>
        {
            var models = JsonDocument.Parse(await client.GetStringAsync("api/models")).RootElement.GetProperty("models");
            Assert.Equal(["story:story-model", "scenes-vqa", "story"], models.EnumerateArray().Select(m => m.GetProperty("name").GetString()));
            Assert.All(models.EnumerateArray(), m => Assert.Equal(1, m.GetProperty("examples").GetInt32()));

            // Both story models open the stories with one count and seed, which give one dataset: they share it.
            Assert.Equal(["dataset-1", "dataset-2", "dataset-1"], models.EnumerateArray().Select(m => m.GetProperty("dataset").GetString()));
        });
    }

    [Fact]
    public async Task Insights_TutorialCheckpointGiven_ServesItWithoutTheScenesBesideTheScenesModel()
    {
        var checkpoints = SharedData.Locate("checkpoints", "CAPTUM_CHECKPOINTS_DIR");
        string[] files = ["--checkpoint", Path.Combine(checkpoints, "e2e", "vqa.pth"), "--resnet", Path.Combine(checkpoints, "e2e", "resnet.pth")];
        await WhileServing(["--examples", "2", .. files], async client =>
        {
            var models = JsonDocument.Parse(await client.GetStringAsync("api/models")).RootElement.GetProperty("models").EnumerateArray().ToList();
            Assert.Equal(["vqa", "scenes-vqa", "story"], models.Select(m => m.GetProperty("name").GetString()));

            // The generated scenes are the scenes model's examples only: the tutorial's model explains uploads.
            Assert.Equal([0, 2, 2], models.Select(m => m.GetProperty("examples").GetInt32()));
            Assert.Equal([null, "dataset-1", "dataset-2"], models.Select(m => m.GetProperty("dataset").GetString()));
            Assert.True(models[0].GetProperty("acceptsUploads").GetBoolean());
        });
    }

    [Fact]
    public async Task Insights_UploadLimitsGiven_AreTheServersAndRefuseALargerImage()
    {
        await WhileServing(["--examples", "1", "--model", "vqa", "--max-image-pixels", "1000", "--max-upload-bytes", "65536"], async client =>
        {
            var limits = JsonDocument.Parse(await client.GetStringAsync("api/models")).RootElement.GetProperty("limits");
            Assert.Equal((1000, 65536), (limits.GetProperty("maxImagePixels").GetInt64(), limits.GetProperty("maxUploadBytes").GetInt64()));

            using var form = InsightsFixture.Form([("question", "what color is the circle?")], ("image", PngFiles.Rgb(40, 40, pixelData: null), "scene.png"));
            using var response = await client.PostAsync("api/explain", form);
            Assert.Equal(400, (int)response.StatusCode);
            Assert.Contains("1,600 pixels, more than the 1,000", await response.Content.ReadAsStringAsync());
        });
    }

    /// <summary>Starts <c>captum insights --port 0</c> with <paramref name="args"/>, checks it prints a loopback URL, runs <paramref name="check"/> against it, and stops it.</summary>
    private static async Task WhileServing(string[] args, Func<HttpClient, Task> check)
    {
        using var process = Start(["insights", "--port", "0", .. args]);
        try
        {
            var line = await ReadLineWithin(process, TimeSpan.FromSeconds(60));
            var url = UrlPattern().Match(line ?? string.Empty);
            Assert.True(url.Success, $"no loopback URL in '{line}'");
            using var client = new HttpClient { BaseAddress = new Uri(url.Value) };
            await check(client);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task Insights_Terminated_StopsServing()
    {
        using var process = Start("insights", "--port", "0", "--examples", "2");
        var url = UrlPattern().Match(await ReadLineWithin(process, TimeSpan.FromSeconds(60)) ?? string.Empty);
        Assert.True(url.Success);
        using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
        }

        using var client = new HttpClient();
        await Assert.ThrowsAsync<HttpRequestException>(() => client.GetStringAsync(url.Value + "healthz"));
    }

    [Fact]
    public async Task Insights_Help_OffersThePluginsModelFilesAsOptions()
    {
        using var process = Start("insights", "--help");
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.Contains("--checkpoint", output);
        Assert.Contains("--resnet", output);
        Assert.Contains("--port", output);
        Assert.Contains("127.0.0.1", output);
    }

    [Fact]
    public async Task Insights_AddressNotAnIp_FailsInOneLine()
    {
        using var process = Start("insights", "--address", "../../etc");
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.Equal(2, process.ExitCode);
        Assert.Contains("--address must be an IP address", error);
    }

    [Theory]
    [InlineData("--port", "99999", "--port: must be in [0, 65535], not 99999.")]
    [InlineData("--queue", "0", "--queue: must be at least 1, not 0.")]
    [InlineData("--max-image-pixels", "0", "--max-image-pixels: must be at least 1, not 0.")]
    [InlineData("--max-upload-bytes", "100", "--max-upload-bytes: must be at least 1024, not 100.")]
    [InlineData("--examples", "0", "--examples: must be in [1, 1000] (the most the page lists), not 0.")]
    [InlineData("--examples", "100000000", "--examples: must be in [1, 1000] (the most the page lists), not 100000000.")]
    public async Task Insights_OptionOutOfRange_ExitsTwoWithTheOptionFirst(string option, string value, string message)
    {
        using var process = Start("insights", option, value);
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            // It serves instead of refusing: stop it.
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        Assert.Equal(2, process.ExitCode);
        Assert.Equal("captum: error: " + message, (await error).Trim());
    }

    private static Process Start(params string[] args)
    {
        Assert.True(File.Exists(Captum), $"{Captum} is not built");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Captum);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        return Process.Start(info)!;
    }

    private static async Task<string?> ReadLineWithin(Process process, TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        return await process.StandardOutput.ReadLineAsync(cancel.Token);
    }

    [GeneratedRegex(@"http://127\.0\.0\.1:\d+/")]
    private static partial Regex UrlPattern();
}
