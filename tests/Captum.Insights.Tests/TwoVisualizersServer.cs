namespace Captum.Insights.Tests;

/// <summary>
/// A server of two visualizers' models, of one photo and four measurements, over datasets of four examples each:
/// first-a and first-b share theirs (seed 5); second has others (seed 6) and, as every visualizer's model, takes no
/// uploads. Disposing it stops the server and disposes the modules.
/// </summary>
internal sealed class TwoVisualizersServer : IAsyncDisposable
{
    private readonly AttributionVisualizerTests.PhotoAndMeasurements[] modules = [new(), new(), new()];

    private TwoVisualizersServer()
    {
    }

    public InsightsServer Server { get; private set; } = null!;

    public static async Task<TwoVisualizersServer> StartAsync()
    {
        var started = new TwoVisualizersServer();
        var one = AttributionVisualizerTests.PhotoVisualizer([started.modules[0], started.modules[1]], ["first-a", "first-b"], seed: 5);
        var other = AttributionVisualizerTests.PhotoVisualizer([started.modules[2]], ["second"], seed: 6);
        started.Server = await InsightsServer.StartAsync([.. one.ToInsightsModels(), .. other.ToInsightsModels()]);
        return started;
    }

    public async ValueTask DisposeAsync()
    {
        if (Server is not null)
        {
            await Server.DisposeAsync();
        }

        foreach (var module in modules)
        {
            module.Dispose();
        }
    }
}
