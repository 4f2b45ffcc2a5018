using System.Net;

namespace Captum.Insights;

/// <summary>How <see cref="InsightsServer"/> listens and what it accepts.</summary>
public sealed record InsightsServerOptions
{
    /// <summary>The address to listen on; default the loopback address 127.0.0.1. Give <see cref="IPAddress.Any"/> only to serve other machines on purpose.</summary>
    public IPAddress Address { get; init; } = IPAddress.Loopback;

    /// <summary>The port; 0 (the default) picks a free one (see <see cref="InsightsServer.Url"/>).</summary>
    public int Port { get; init; }

    /// <summary>Requests waiting per model beyond the one running; a request finding the queue full gets 503 with Retry-After. Default 16.</summary>
    public int QueueCapacity { get; init; } = 16;

    /// <summary>The largest upload (the whole request body of <c>POST /api/explain</c>) in bytes; larger gets 413. Default 8 MiB.</summary>
    public long MaxUploadBytes { get; init; } = 8L << 20;

    /// <summary>
    /// The most pixels (width x height, read from the image's header) an uploaded image may have; a larger one gets 400
    /// before it is queued or decoded. Default 25,000,000 (<see cref="DefaultMaxImagePixels"/>).
    /// </summary>
    /// <remarks>
    /// An upload is resized to the model's input (448 x 448 for the tutorial's VQA model, less for the scenes model),
    /// so more pixels add nothing to the explanation, but decoding them costs memory: a 9000 x 9000 PNG of 10 KB took
    /// the server's resident memory from 231 to 965 MiB, where it stayed. 25 MP takes a 24-megapixel camera's 6000 x 4000
    /// photo, the largest a JPEG within the default upload limit of 8 MiB usually holds. A model may have a limit of
    /// its own, which still applies (the VQA model's is PIL's 89,478,485).
    /// </remarks>
    public long MaxImagePixels { get; init; } = DefaultMaxImagePixels;

    /// <summary>The default of <see cref="MaxImagePixels"/>: 25,000,000 pixels.</summary>
    public const long DefaultMaxImagePixels = 25_000_000;

    /// <summary>The longest text input (a question) in characters; longer gets 400. Default 500.</summary>
    public int MaxTextLength { get; init; } = 500;

    /// <summary>The most integration steps a request may ask for. Default 300.</summary>
    public int MaxSteps { get; init; } = 300;

    /// <summary>
    /// Integration steps per forward and backward pass of path methods (and perturbed examples per pass of occlusion):
    /// progress is reported, and cancellation honoured, after each pass. Default 16.
    /// </summary>
    public int InternalBatchSize { get; init; } = 16;

    /// <summary>The finished runs kept for their heat maps and downloads (oldest dropped first). Default 32.</summary>
    public int RunsKept { get; init; } = 32;

    /// <summary>The most examples the examples list predicts and returns. Default 1000.</summary>
    public int MaxExamples { get; init; } = 1000;

    /// <summary>Checks the options.</summary>
    /// <exception cref="ArgumentException">An option is out of range; the message names it.</exception>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Address, nameof(Address));
        Require(Port is >= 0 and <= 65535, nameof(Port), $"must be in [0, 65535], not {Port}");
        Require(QueueCapacity >= 1, nameof(QueueCapacity), $"must be at least 1, not {QueueCapacity}");
        Require(MaxUploadBytes >= 1024, nameof(MaxUploadBytes), $"must be at least 1024, not {MaxUploadBytes}");
        Require(MaxImagePixels >= 1, nameof(MaxImagePixels), $"must be at least 1, not {MaxImagePixels}");
        Require(MaxTextLength >= 1, nameof(MaxTextLength), $"must be at least 1, not {MaxTextLength}");
        Require(MaxSteps >= 1, nameof(MaxSteps), $"must be at least 1, not {MaxSteps}");
        Require(InternalBatchSize >= 1, nameof(InternalBatchSize), $"must be at least 1, not {InternalBatchSize}");
        Require(RunsKept >= 1, nameof(RunsKept), $"must be at least 1, not {RunsKept}");
        Require(MaxExamples >= 1, nameof(MaxExamples), $"must be at least 1, not {MaxExamples}");
    }

    private static void Require(bool ok, string name, string message)
    {
        if (!ok)
        {
            throw new ArgumentException($"{name}: {message}.", name);
        }
    }
}
