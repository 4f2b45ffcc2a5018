using System.Globalization;
using System.Text.Json;
using System.Threading.Channels;
using Captum.Explain;
using Captum.Explain.Results;
using Captum.Plugins;
using Captum.Visualization;
using SixLabors.ImageSharp.Formats;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Captum.Insights;

/// <summary>
/// The Captum Insights web server: the page (HTML, CSS and JavaScript embedded in this assembly) and its JSON API,
/// over one or more <see cref="InsightsModel"/>s, on the loopback address unless told otherwise. Attributions on one
/// model run one at a time, in a bounded queue (a full queue answers 503 with Retry-After); a client that
/// disconnects cancels its run. The server reads no file and serves nothing but its own page, its models' examples
/// and its runs' results.
/// </summary>
/// <remarks>
/// The API (stable, for scripts): <c>GET /healthz</c>; <c>GET /api/models</c>; <c>GET /api/models/{model}/examples</c>
/// (<c>?filter=all|correct|incorrect&amp;predicted=LABEL&amp;expected=LABEL</c>: <c>predicted</c>, repeatable, is
/// Captum Insights' class filter, the examples predicted as one of the labels); <c>GET /api/models/{model}/examples/{index}/inputs/{name}</c>;
/// <c>POST /api/explain</c> (multipart form: <c>model</c>, an uploaded file per image input and a field per text input,
/// or <c>example</c> = an example's index, optionally with <c>dataset</c> = its dataset's identity, which must be the
/// model's; one or more <c>method</c>; <c>steps</c>; <c>target</c> = <c>predicted</c> or a
/// label) answering the fields of <c>captum vqa --json</c>'s result.json (<see cref="ExplanationResultDocument"/>), the
/// run's address in <c>Location</c>; with <c>Accept: application/x-ndjson</c> it streams progress lines first;
/// <c>GET /api/runs/{id}</c> (its methods, image and general inputs), <c>/api/runs/{id}/result.json</c>, <c>/report.html</c>, <c>/images/{input}?method=&amp;view=&amp;sign=</c> (PNG),
/// <c>/features/{input}?method=</c>. Errors are <c>{"error": "..."}</c> with a 4xx status. See docs/insights.md.
/// Dispose the server to stop it; it disposes the models it was given when <c>ownsModels</c> is true.
/// </remarks>
public sealed class InsightsServer : IAsyncDisposable
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };
    private static readonly string[] Views = ["heat_map", "blended_heat_map", "original_image", "masked_image", "alpha_scaling"];
    private static readonly string[] Signs = ["absolute_value", "all", "positive", "negative"];
    private static readonly string[] FixedFields = ["model", "example", "dataset", "method", "steps", "target", "baseline"];
    private static readonly string[] RepeatableFields = ["method"];

    private readonly WebApplication app;
    private readonly IReadOnlyList<ServedModel> models;
    private readonly ExplanationStrategyRegistry strategies;
    private readonly InsightsServerOptions options;
    private readonly RunStore runs;
    private readonly bool ownsModels;

    private InsightsServer(WebApplication app, IReadOnlyList<ServedModel> models, ExplanationStrategyRegistry strategies, InsightsServerOptions options, bool ownsModels)
    {
        this.app = app;
        this.models = models;
        this.strategies = strategies;
        this.options = options;
        this.ownsModels = ownsModels;
        runs = new RunStore(options.RunsKept);
    }

    /// <summary>The address the server listens on, e.g. <c>http://127.0.0.1:5123/</c>.</summary>
    public Uri Url { get; private set; } = null!;

    /// <summary>The served models.</summary>
    public IReadOnlyList<InsightsModel> Models => models.Select(m => m.Model).ToList();

    /// <summary>
    /// Starts serving <paramref name="models"/> with the explanation methods of <paramref name="strategies"/>
    /// (default the built-in ones, <see cref="ExplanationStrategies.BuiltIn"/>).
    /// </summary>
    /// <param name="models">The models, at least one, with distinct names.</param>
    /// <param name="strategies">The methods offered; null for the built-in four.</param>
    /// <param name="options">Address, port and limits; null for the defaults (127.0.0.1, a free port).</param>
    /// <param name="ownsModels">Whether disposing the server disposes the models; default true.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The running server; dispose it to stop.</returns>
    /// <exception cref="ArgumentException">No models, two with one name, one <see cref="InsightsModel.ExamplesKey"/> for datasets of different sizes, or an option out of range; the message names it.</exception>
    /// <exception cref="IOException">The port is taken.</exception>
    public static async Task<InsightsServer> StartAsync(
        IReadOnlyList<InsightsModel> models,
        ExplanationStrategyRegistry? strategies = null,
        InsightsServerOptions? options = null,
        bool ownsModels = true,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(models);
        options ??= new InsightsServerOptions();
        options.Validate();
        strategies ??= ExplanationStrategies.BuiltIn;
        if (models.Count == 0)
        {
            throw new ArgumentException("at least one model is needed.", nameof(models));
        }

        if (models.GroupBy(m => m.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            throw new ArgumentException($"two models are named '{twice.Key}'.", nameof(models));
        }

        if (!strategies.Strategies.Any())
        {
            throw new ArgumentException("at least one explanation method is needed.", nameof(strategies));
        }

        var datasets = ServedModel.DatasetIdentities(models);

        // No configuration file or variable is read (the content root is the assembly's folder and its sources are
        // cleared): the address is the options' only, and nothing is logged to the console.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.Sources.Clear();
        builder.Logging.ClearProviders();

        // The caller owns Ctrl+C and SIGTERM (the captum command stops the server on them); the host's console
        // lifetime would take the signals for itself.
        builder.Services.AddSingleton<IHostLifetime, CallerOwnedLifetime>();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(options.Address, options.Port);
            k.Limits.MaxRequestBodySize = options.MaxUploadBytes;
            k.AddServerHeader = false;
        });
        builder.Services.Configure<FormOptions>(f =>
        {
            f.MultipartBodyLengthLimit = options.MaxUploadBytes;

            // Uploads stay in memory: a section over the threshold (default 64 KiB) would be buffered to a temporary file.
            f.MemoryBufferThreshold = (int)Math.Min(options.MaxUploadBytes, int.MaxValue);
            f.ValueCountLimit = 64;
            f.ValueLengthLimit = Math.Max(options.MaxTextLength * 4, 1024);
        });
        var app = builder.Build();
        var served = models.Select((m, i) => new ServedModel(m, options.QueueCapacity, options.MaxExamples, datasets[i])).ToList();
        var server = new InsightsServer(app, served, strategies, options, ownsModels);
        server.Map(app);
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            foreach (var m in served)
            {
                m.Dispose();
            }

            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Url = new Uri(address.Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal).TrimEnd('/') + "/");
        return server;
    }

    /// <summary>Waits until <paramref name="cancellationToken"/> fires (e.g. Ctrl+C) or the server stops.</summary>
    public async Task WaitAsync(CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, app.Lifetime.ApplicationStopping);
        await Task.Delay(Timeout.Infinite, linked.Token).ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
    }

    /// <summary>
    /// Cancels the running and waiting attributions (their requests answer 503), stops the server, waits for the
    /// workers to end (at most a few seconds each), and disposes the models when owned. A model whose worker did not
    /// end in time (a method that ignores cancellation) is not disposed, as it is still in use.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var m in models)
        {
            m.Worker.Cancel();
        }

        await app.StopAsync().ConfigureAwait(false);
        await app.DisposeAsync().ConfigureAwait(false);
        foreach (var m in models)
        {
            if (m.Worker.Stop() && ownsModels)
            {
                m.Model.Dispose();
            }
        }
    }

    private void Map(WebApplication web)
    {
        web.Use(async (context, next) =>
        {
            var headers = context.Response.Headers;
            headers.XContentTypeOptions = "nosniff";
            headers["Referrer-Policy"] = "no-referrer";
            headers.ContentSecurityPolicy = "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'";
            if (RefusedHost(context.Request) is { } refusal)
            {
                await Error(context, StatusCodes.Status403Forbidden, refusal).ConfigureAwait(false);
                return;
            }

            try
            {
                if (context.GetEndpoint() is null)
                {
                    await Error(context, StatusCodes.Status404NotFound, $"no such page or API: {context.Request.Method} {Clip(context.Request.Path.ToString(), 120)}").ConfigureAwait(false);
                    return;
                }

                await next(context).ConfigureAwait(false);
                if (context.Response.StatusCode == StatusCodes.Status405MethodNotAllowed && !context.Response.HasStarted)
                {
                    // Routing's own answer to a path mapped for other methods: it sets Allow but writes no body.
                    var allowed = context.Response.Headers.Allow.ToString();
                    await Error(context, StatusCodes.Status405MethodNotAllowed, $"{Clip(context.Request.Method, 20)} is not allowed on {Clip(context.Request.Path.ToString(), 120)}; use {allowed}.").ConfigureAwait(false);
                }
            }
            catch (BadHttpRequestException ex) when (!context.Response.HasStarted)
            {
                await Error(context, ex.StatusCode, ex.StatusCode == StatusCodes.Status413PayloadTooLarge
                    ? $"the request is larger than {Bytes(options.MaxUploadBytes)}, the most an upload may be."
                    : $"bad request: {ex.Message}").ConfigureAwait(false);
            }
            catch (InvalidDataException ex) when (!context.Response.HasStarted)
            {
                // The form reader's limits (too many fields, a field too long, a multipart body over the limit).
                var tooLarge = ex.Message.Contains("length limit", StringComparison.OrdinalIgnoreCase) && ex.Message.Contains("Multipart body", StringComparison.OrdinalIgnoreCase);
                await Error(context, tooLarge ? StatusCodes.Status413PayloadTooLarge : StatusCodes.Status400BadRequest, tooLarge
                    ? $"the request is larger than {Bytes(options.MaxUploadBytes)}, the most an upload may be."
                    : $"the form is refused: {ex.Message}").ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
            {
                // The client went away; nobody reads an answer.
            }
            catch (Exception ex) when (!context.Response.HasStarted)
            {
                await Error(context, StatusCodes.Status500InternalServerError, $"internal error: {ex.GetType().Name}: {ErrorMessages.ForUser(ex)}").ConfigureAwait(false);
            }
        });

        web.MapGet("/", context => Asset(context, "index.html"));
        web.MapGet("/app.js", context => Asset(context, "app.js"));
        web.MapGet("/app.css", context => Asset(context, "app.css"));
        web.MapGet("/healthz", Health);
        web.MapGet("/api/models", ListModels);
        web.MapGet("/api/models/{model}/examples", ListExamples);
        web.MapGet("/api/models/{model}/examples/{index}/inputs/{name}", ExampleInput);
        web.MapPost("/api/explain", Explain);
        web.MapGet("/api/runs/{id}", RunInfo);
        web.MapGet("/api/runs/{id}/result.json", RunResult);
        web.MapGet("/api/runs/{id}/report.html", RunReport);
        web.MapGet("/api/runs/{id}/images/{input}", RunImage);
        web.MapGet("/api/runs/{id}/features/{input}", RunFeatures);
    }

    /// <summary>
    /// Why a request is refused, or null: its Host must name this server (the listen address, localhost or 127.0.0.1,
    /// with the port; any IP address when listening on all addresses), which defeats DNS rebinding; a POST's Origin,
    /// when sent, must be the page's own origin, which defeats cross-site form posts.
    /// </summary>
    private string? RefusedHost(HttpRequest request)
    {
        // The connection's port, not Url's: a request may arrive between the start and Url being set.
        var host = request.Host;
        var port = request.HttpContext.Connection.LocalPort;
        if (!host.HasValue || (host.Port ?? 80) != port || !AllowedHostName(host.Host))
        {
            return $"the Host '{Clip(host.Value ?? string.Empty)}' is not this server's address ({options.Address}:{port}); open http://127.0.0.1:{port}/ or http://localhost:{port}/ instead.";
        }

        if (HttpMethods.IsPost(request.Method) && request.Headers.Origin.Count > 0)
        {
            var origin = request.Headers.Origin.ToString();
            if (!string.Equals(origin, $"http://{host.Value}", StringComparison.OrdinalIgnoreCase))
            {
                return $"a POST from the page at '{Clip(origin)}' is refused: only this server's own page (http://{host.Value}) may send one.";
            }
        }

        return null;
    }

    private bool AllowedHostName(string name)
    {
        if (string.Equals(name, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        if (!System.Net.IPAddress.TryParse(name.Trim('[', ']'), out var ip))
        {
            return false;
        }

        // An address literal cannot be rebound by DNS, so listening on all addresses accepts any.
        return ip.Equals(System.Net.IPAddress.Loopback) || ip.Equals(options.Address)
            || options.Address.Equals(System.Net.IPAddress.Any) || options.Address.Equals(System.Net.IPAddress.IPv6Any);
    }

    private static Task Asset(HttpContext context, string name)
    {
        if (!StaticAssets.TryGet(name, out var content, out var type))
        {
            return Error(context, StatusCodes.Status404NotFound, $"no such page: {name}");
        }

        context.Response.ContentType = type;
        context.Response.Headers.CacheControl = "no-cache";
        return context.Response.Body.WriteAsync(content).AsTask();
    }

    private Task Health(HttpContext context) => WriteJson(context, new
        {
            status = "ok",
            models = models.Select(m => new
            {
                name = m.Model.Name,
                queued = m.Worker.Queued,
                busy = m.Worker.Busy,
                completed = m.Worker.Counts.Completed,
                cancelled = m.Worker.Counts.Cancelled,
                failed = m.Worker.Counts.Failed,
                refused = m.Worker.Counts.Refused,
            }),
        }, Json);

    private Task ListModels(HttpContext context) => WriteJson(context, new
        {
            models = models.Select(m => new
            {
                name = m.Model.Name,
                description = m.Model.Description,
                labels = m.Model.Model.Labels,
                acceptsUploads = m.Model.AcceptsUploads,
                inputs = m.Model.Model.RawInputs.Select(r => new { name = r.Name, kind = r.Kind == RawInputKind.ImageFile ? "image" : "text", description = r.Description }),
                examples = m.ExampleCount,
                dataset = m.Dataset,
                methods = strategies.Strategies.Select(s => new { name = s.Name, description = s.DescribeFor(m.Model.Model), completeness = s.HasConvergenceDelta }),
            }),
            views = Views,
            signs = Signs,
            baselines = BaselineChoice.All.Select(b => new { name = b.Name, description = b.Description }),
            limits = new { maxSteps = options.MaxSteps, maxTextLength = options.MaxTextLength, maxUploadBytes = options.MaxUploadBytes, maxImagePixels = options.MaxImagePixels, runsKept = options.RunsKept, defaultSteps = new ExplanationOptions().Steps },
        }, Json);

    private async Task ListExamples(HttpContext context, string model)
    {
        if (FindModel(model) is not { } served)
        {
            await UnknownModel(context, model).ConfigureAwait(false);
            return;
        }

        var filter = context.Request.Query["filter"].ToString();
        if (filter.Length > 0 && filter is not ("all" or "correct" or "incorrect"))
        {
            await Error(context, 400, $"filter must be all, correct or incorrect, not '{Clip(filter)}'.").ConfigureAwait(false);
            return;
        }

        // Captum Insights' class filter: the examples whose prediction is one of the classes chosen.
        var labels = served.Model.Model.Labels;
        var predicted = context.Request.Query["predicted"].Select(p => p ?? string.Empty).ToHashSet(StringComparer.Ordinal);
        if (predicted.FirstOrDefault(p => !labels.Contains(p)) is { } unknownPredicted)
        {
            await Error(context, 400, $"predicted '{Clip(unknownPredicted)}' is not one of {served.Model.Name}'s labels.").ConfigureAwait(false);
            return;
        }

        // The expected label; answer is its former name, kept for scripts.
        var expectedName = context.Request.Query.ContainsKey("expected") ? "expected" : "answer";
        if (context.Request.Query["expected"].Count + context.Request.Query["answer"].Count > 1)
        {
            await Error(context, 400, "expected (or answer, its former name) is given more than once; give one label.").ConfigureAwait(false);
            return;
        }

        var expected = context.Request.Query[expectedName].ToString();
        if (expected.Length > 0 && !labels.Contains(expected))
        {
            await Error(context, 400, $"{expectedName} '{Clip(expected)}' is not one of {served.Model.Name}'s labels.").ConfigureAwait(false);
            return;
        }

        if (served.Examples(context.RequestAborted) is not { } task)
        {
            await Busy(context, served).ConfigureAwait(false);
            return;
        }

        var all = await task.WaitAsync(context.RequestAborted).ConfigureAwait(false);
        var shown = all.Where(e => filter switch
        {
            "correct" => e.Correct == true,
            "incorrect" => e.Correct == false,
            _ => true,
        })
            .Where(e => predicted.Count == 0 || (e.Predicted is { } p && predicted.Contains(p)))
            .Where(e => expected.Length == 0 || e.Expected == expected)
            .ToList();
        await WriteJson(context, new { model = served.Model.Name, total = all.Count, examples = shown }, Json).ConfigureAwait(false);
    }

    private Task ExampleInput(HttpContext context, string model, string index, string name)
    {
        if (FindModel(model) is not { } served)
        {
            return UnknownModel(context, model);
        }

        if (!int.TryParse(index, NumberStyles.None, CultureInfo.InvariantCulture, out var i) || served.Example(i) is not { } example)
        {
            return Error(context, 404, $"{served.Model.Name} has no example '{Clip(index)}' (there are {served.ExampleCount}).");
        }

        if (!example.Inputs.TryGetValue(name, out var value) || !value.IsContent)
        {
            return Error(context, 404, $"example {i} has no file input '{Clip(name)}'.");
        }

        context.Response.ContentType = Sniff(value.Content.Span);
        context.Response.Headers.CacheControl = "max-age=3600";
        return context.Response.Body.WriteAsync(value.Content).AsTask();
    }

    private async Task Explain(HttpContext context)
    {
        var aborted = context.RequestAborted;
        if (context.Request.ContentLength > options.MaxUploadBytes)
        {
            await Error(context, 413, $"the request is {Bytes(context.Request.ContentLength.Value)}, more than {Bytes(options.MaxUploadBytes)}, the most an upload may be.").ConfigureAwait(false);
            return;
        }

        if (!context.Request.HasFormContentType)
        {
            await Error(context, 415, "send the request as multipart/form-data (fields: model, image, question, method, steps, target, or example and dataset).").ConfigureAwait(false);
            return;
        }

        IFormCollection form;
        try
        {
            form = await context.Request.ReadFormAsync(aborted).ConfigureAwait(false);
        }
        catch (IOException) when (!aborted.IsCancellationRequested)
        {
            // The body ended (as its length said) before the multipart form's closing boundary.
            await Error(context, 400, "the form is incomplete: the request's body ends before the multipart form's closing boundary.").ConfigureAwait(false);
            return;
        }

        var (request, problem) = await ReadRequest(form, aborted).ConfigureAwait(false);
        if (request is null)
        {
            await Error(context, problem!.Value.Status, problem.Value.Message).ConfigureAwait(false);
            return;
        }

        var served = models.First(m => ReferenceEquals(m.Model, request.Model));
        var streaming = context.Request.Headers.Accept.ToString().Contains("application/x-ndjson", StringComparison.OrdinalIgnoreCase);
        var progress = Channel.CreateBounded<RunProgress>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropOldest });
        var id = RunStore.NewId();
        var task = served.Worker.TryRun(
            token => ExplainRun.Execute(request, id, streaming ? p => progress.Writer.TryWrite(p) : null, token),
            aborted);
        if (task is null)
        {
            await Busy(context, served).ConfigureAwait(false);
            return;
        }

        var location = $"/api/runs/{id}/result.json";
        if (!streaming)
        {
            InsightsRun run;
            try
            {
                run = await task.ConfigureAwait(false);
            }
            catch (Exception ex) when (IsRefusal(ex))
            {
                await Error(context, StatusOf(ex), ErrorMessages.ForUser(ex)).ConfigureAwait(false);
                return;
            }
            catch (OperationCanceledException) when (!aborted.IsCancellationRequested && served.Worker.Stopping)
            {
                await Error(context, 503, Stopped).ConfigureAwait(false);
                return;
            }

            runs.Add(run);
            context.Response.Headers.Location = location;
            context.Response.Headers["X-Insights-Run"] = id;
            await WriteJson(context, run.Document, ExplanationResultDocument.JsonOptions).ConfigureAwait(false);
            return;
        }

        context.Response.ContentType = "application/x-ndjson; charset=utf-8";
        context.Response.Headers.Location = location;
        context.Response.Headers["X-Insights-Run"] = id;
        await WriteLine(context, new { type = "queued", run = id, position = served.Worker.Queued }).ConfigureAwait(false);
        _ = task.ContinueWith(_ => progress.Writer.TryComplete(), TaskScheduler.Default);
        await foreach (var p in progress.Reader.ReadAllAsync(aborted).ConfigureAwait(false))
        {
            await WriteLine(context, new { type = "progress", method = p.Method, methodIndex = p.MethodIndex, methodCount = p.MethodCount, completed = p.Completed, total = p.Total }).ConfigureAwait(false);
        }

        try
        {
            var run = await task.ConfigureAwait(false);
            runs.Add(run);
            await WriteLine(context, new { type = "result", run = id, result = run.Document }).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsRefusal(ex))
        {
            await WriteLine(context, new { type = "error", status = StatusOf(ex), error = ErrorMessages.ForUser(ex) }).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            // The client went away; nobody reads an answer.
        }
        catch (OperationCanceledException)
        {
            await WriteLine(context, new { type = "error", status = 503, error = Stopped }).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // The answer has started (status 200), so the failure is told as the stream's last line.
            await WriteLine(context, new { type = "error", status = 500, error = $"internal error: {ex.GetType().Name}: {ErrorMessages.ForUser(ex)}" }).ConfigureAwait(false);
        }
    }

    private async Task<(ExplainRequest? Request, (int Status, string Message)? Problem)> ReadRequest(IFormCollection form, CancellationToken cancellationToken)
    {
        static (ExplainRequest?, (int, string)?) Fail(string message, int status = 400) => (null, (status, message));

        // A field given twice would read as its values joined by a comma; only the repeatable ones may be.
        if (form.Keys.FirstOrDefault(k => form[k].Count > 1 && !RepeatableFields.Contains(k, StringComparer.Ordinal)) is { } repeated)
        {
            return Fail($"{Clip(repeated)} is given {form[repeated].Count} times; give it once.");
        }

        var modelName = form["model"].ToString();
        var served = modelName.Length == 0 ? models[0] : FindModel(modelName);
        if (served is null)
        {
            return Fail($"model: unknown model '{Clip(modelName)}'; choose from {string.Join(", ", models.Select(m => m.Model.Name))}.");
        }

        var model = served.Model;
        var rawSpecs = model.Model.RawInputs;
        var known = FixedFields.Concat(rawSpecs.Select(r => r.Name)).ToHashSet(StringComparer.Ordinal);
        if (form.Keys.Concat(form.Files.Select(f => f.Name)).FirstOrDefault(k => !known.Contains(k)) is { } unknownField)
        {
            return Fail($"unknown field '{Clip(unknownField)}'; the fields are {string.Join(", ", known)}.");
        }

        // Methods.
        var methodNames = form["method"].Select(m => m ?? string.Empty).ToList();
        if (methodNames.Count == 0)
        {
            methodNames.Add(strategies.Strategies[0].Name);
        }

        var methods = new List<IExplanationStrategy>();
        foreach (var name in methodNames)
        {
            if (strategies.Find(name) is not { } strategy)
            {
                return Fail($"method: unknown method '{Clip(name)}'; choose from {string.Join(", ", strategies.Names)}.");
            }

            if (methods.Contains(strategy))
            {
                return Fail($"method: '{name}' is given twice.");
            }

            methods.Add(strategy);
        }

        // Steps.
        var steps = new ExplanationOptions().Steps;
        if (form["steps"].ToString() is { Length: > 0 } stepsText
            && (!int.TryParse(stepsText, NumberStyles.None, CultureInfo.InvariantCulture, out steps) || steps < 1 || steps > options.MaxSteps))
        {
            return Fail($"steps must be a whole number in [1, {options.MaxSteps}], not '{Clip(stepsText)}'.");
        }

        // Target.
        long? target = null;
        var targetText = form["target"].ToString();
        if (targetText.Length > 0 && targetText != "predicted")
        {
            var index = IndexOf(model.Model.Labels, targetText);
            if (index < 0)
            {
                return Fail($"target must be 'predicted' or one of {model.Name}'s labels, not '{Clip(targetText)}'.");
            }

            target = index;
        }

        // Baseline.
        var baselineText = form["baseline"].ToString();
        var baseline = baselineText.Length == 0 ? BaselineChoice.Model : BaselineChoice.Find(baselineText);
        if (baseline is null)
        {
            return Fail(BaselineChoice.Unknown("baseline", Clip(baselineText)));
        }

        // Inputs: a dataset example, or uploads.
        var exampleText = form["example"].ToString();
        var datasetText = form["dataset"].ToString();
        if (datasetText.Length > 0 && exampleText.Length == 0)
        {
            return Fail("dataset names the dataset of example; give it with example, not with uploaded inputs.");
        }

        if (exampleText.Length > 0)
        {
            if (rawSpecs.Any(r => form.ContainsKey(r.Name) || form.Files.GetFile(r.Name) is not null))
            {
                return Fail("give either example or uploaded inputs, not both.");
            }

            // An index means an example of one dataset only: the client says which, and another model's is refused
            // rather than explaining whatever example this model has at that index.
            if (datasetText.Length > 0 && !string.Equals(datasetText, served.Dataset, StringComparison.Ordinal))
            {
                var theirs = served.Dataset is null ? $"{model.Name} has no examples" : $"{model.Name}'s examples are dataset '{served.Dataset}' (the identities of GET /api/models): an index names an example of its own dataset only";
                return Fail(model.AcceptsUploads
                    ? $"dataset: example {Clip(exampleText)} is of dataset '{Clip(datasetText)}', and {theirs}; give {model.Name} the example's inputs as an upload."
                    : $"dataset: example {Clip(exampleText)} is of dataset '{Clip(datasetText)}', and {theirs}; {model.Name} takes no uploads, so it cannot explain that example.");
            }

            if (!int.TryParse(exampleText, NumberStyles.None, CultureInfo.InvariantCulture, out var index) || served.Example(index) is not { } example)
            {
                return Fail($"example must be an example's index in [0, {served.ExampleCount}), not '{Clip(exampleText)}'.");
            }

            return (new ExplainRequest(model, example.Inputs, example.Id, example.ExpectedLabel, methods, steps, target, options.InternalBatchSize, baseline), null);
        }

        if (!model.AcceptsUploads)
        {
            // A model that takes no uploads has examples (InsightsModel refuses one with neither).
            return Fail($"{model.Name} takes no uploaded inputs: it explains its own examples only; give example, an index in [0, {served.ExampleCount}).");
        }

        var inputs = new Dictionary<string, RawInputValue>(StringComparer.Ordinal);
        string? source = null;
        foreach (var spec in rawSpecs)
        {
            if (spec.Kind == RawInputKind.ImageFile)
            {
                if (form.ContainsKey(spec.Name))
                {
                    return Fail($"{spec.Name} must be an uploaded file; a text value (such as a path) is never read.");
                }

                var files = form.Files.GetFiles(spec.Name);
                if (files.Count != 1)
                {
                    return Fail(files.Count == 0 ? $"{spec.Name}: upload an image file ({spec.Description})." : $"{spec.Name} is uploaded {files.Count} times; upload one file.");
                }

                var file = files[0];
                if (file.Length == 0)
                {
                    return Fail($"{spec.Name}: the uploaded file is empty.");
                }

                var bytes = new byte[file.Length];
                await using (var stream = file.OpenReadStream())
                {
                    await stream.ReadExactlyAsync(bytes, cancellationToken).ConfigureAwait(false);
                }

                // Only the file name's last part is kept, for messages and the result's image field.
                var shown = Path.GetFileName(file.FileName.Replace('\\', '/'));
                shown = string.IsNullOrWhiteSpace(shown) ? "upload" : Clip(shown, 100);

                // Checked here, from the header, before the request takes a place in the model's queue.
                if (UnreadableImage(spec.Name, shown, bytes) is { } refusal)
                {
                    return Fail(refusal);
                }

                inputs[spec.Name] = RawInputValue.FromContent(bytes, shown);
                source ??= shown;
            }
            else
            {
                if (form.Files.GetFile(spec.Name) is not null)
                {
                    return Fail($"{spec.Name} must be text, not a file.");
                }

                var text = form[spec.Name].ToString();
                if (string.IsNullOrWhiteSpace(text))
                {
                    return Fail($"{spec.Name} is empty: type {spec.Description}.");
                }

                if (text.Length > options.MaxTextLength)
                {
                    return Fail($"{spec.Name} is {text.Length} characters long; at most {options.MaxTextLength} are taken.");
                }

                if (text.Any(c => char.IsControl(c) && c is not ('\t' or '\n' or '\r')))
                {
                    return Fail($"{spec.Name} contains control characters.");
                }

                inputs[spec.Name] = text;
            }
        }

        return (new ExplainRequest(model, inputs, source ?? "upload", null, methods, steps, target, options.InternalBatchSize, baseline), null);
    }

    /// <summary>
    /// Why an uploaded image is refused before it is queued, or null: its header must be one of a format ImageSharp
    /// reads (<see cref="ImageHeaders.Read"/>), its size at most <see cref="InsightsServerOptions.MaxImagePixels"/>, and
    /// the file whole (<see cref="ImageStructure.Incomplete"/>): the checks the VQA plugin's image files get too. Nothing
    /// is decoded here; the model's own checks (its own pixel limit) follow on its worker.
    /// </summary>
    private string? UnreadableImage(string input, string name, byte[] bytes)
    {
        using var stream = new MemoryStream(bytes, writable: false);
        ImageFileInfo info;
        IImageFormat format;
        try
        {
            info = ImageHeaders.Read(stream, name, out format);
        }
        catch (ArgumentException ex)
        {
            return $"{input}: {ErrorMessages.ForUser(ex)}";
        }

        if (info.Pixels > options.MaxImagePixels)
        {
            return string.Create(
                CultureInfo.InvariantCulture,
                $"{input}: {name} is {info.Width} x {info.Height}, {info.Pixels:N0} pixels, more than the {options.MaxImagePixels:N0} an uploaded image may have (max-image-pixels); the model resizes it to its input anyway, so scale it down first.");
        }

        stream.Position = 0;
        return ImageStructure.Incomplete(format, stream) is { } truncated
            ? $"{input}: {ErrorMessages.ForUser(ImageHeaders.Unreadable(name, truncated))}"
            : null;
    }

    private Task RunInfo(HttpContext context, string id) => runs.Find(id) is not { } run
        ? UnknownRun(context, id)
        : WriteJson(
            context,
            new
            {
                id = run.Id,
                methods = run.Document.Methods,
                images = run.Images.Keys,
                features = run.Features.Keys.Select(k => k.Input).Distinct(),
            },
            Json);

    private Task RunResult(HttpContext context, string id)
    {
        if (runs.Find(id) is not { } run)
        {
            return UnknownRun(context, id);
        }

        context.Response.Headers.ContentDisposition = "attachment; filename=result.json";
        return WriteJson(context, run.Document, ExplanationResultDocument.JsonOptions);
    }

    private Task RunReport(HttpContext context, string id)
    {
        if (runs.Find(id) is not { } run)
        {
            return UnknownRun(context, id);
        }

        // A download: the report is a page of its own, not part of the app.
        context.Response.Headers.ContentDisposition = "attachment; filename=report.html";
        context.Response.ContentType = "text/html; charset=utf-8";
        return context.Response.WriteAsync(run.ReportHtml);
    }

    private Task RunImage(HttpContext context, string id, string input)
    {
        if (runs.Find(id) is not { } run)
        {
            return UnknownRun(context, id);
        }

        if (!run.Images.TryGetValue(input, out var original))
        {
            return Error(context, 404, $"the run has no image input '{Clip(input)}'.");
        }

        var query = context.Request.Query;
        var view = query["view"].ToString() is { Length: > 0 } v ? v : "heat_map";
        var sign = query["sign"].ToString() is { Length: > 0 } s ? s : "absolute_value";
        if (Array.IndexOf(Views, view) < 0)
        {
            return Error(context, 400, $"view must be one of {string.Join(", ", Views)}, not '{Clip(view)}'.");
        }

        if (Array.IndexOf(Signs, sign) < 0)
        {
            return Error(context, 400, $"sign must be one of {string.Join(", ", Signs)}, not '{Clip(sign)}'.");
        }

        RgbaImage image;
        if (view == "original_image")
        {
            image = ImageVisualizer.RenderImageAttr(original, original, ImageVisualizationMethod.OriginalImage);
        }
        else
        {
            var method = query["method"].ToString();
            if (!run.ImageAttributions.TryGetValue((input, method), out var attribution))
            {
                return Error(context, 400, $"method must be one of the run's methods ({string.Join(", ", run.Document.Methods)}), not '{Clip(method)}'.");
            }

            try
            {
                image = ImageVisualizer.RenderImageAttr(attribution, original, ParseView(view), ParseSign(sign));
            }
            catch (ArgumentException ex)
            {
                // Captum refuses some views for some signs (a masked image of positive and negative attributions).
                return Error(context, 400, ErrorMessages.ForUser(ex));
            }
        }

        context.Response.ContentType = "image/png";
        context.Response.Headers.CacheControl = "max-age=3600";
        return context.Response.Body.WriteAsync(image.ToPng()).AsTask();
    }

    private Task RunFeatures(HttpContext context, string id, string input)
    {
        if (runs.Find(id) is not { } run)
        {
            return UnknownRun(context, id);
        }

        var method = context.Request.Query["method"].ToString();
        return run.Features.TryGetValue((input, method), out var values)
            ? WriteJson(context, new { input, method, names = values.Names, values = values.Values }, Json)
            : Error(context, 404, $"the run has no general input '{Clip(input)}' explained by '{Clip(method)}'.");
    }

    private ServedModel? FindModel(string name) => models.FirstOrDefault(m => string.Equals(m.Model.Name, name, StringComparison.Ordinal));

    private Task UnknownModel(HttpContext context, string name) =>
        Error(context, 404, $"unknown model '{Clip(name)}'; the models are {string.Join(", ", models.Select(m => m.Model.Name))}.");

    private static Task UnknownRun(HttpContext context, string id) =>
        Error(context, 404, $"no run '{Clip(id)}': runs are kept for a while only; explain again.");

    private const string Stopped = "the server is stopping; the run was cancelled.";

    private static Task Busy(HttpContext context, ServedModel served)
    {
        if (served.Worker.Stopping)
        {
            return Error(context, 503, Stopped);
        }

        context.Response.Headers.RetryAfter = served.Worker.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        return Error(context, 503, $"{served.Model.Name} is busy: its queue is full. Try again in {served.Worker.RetryAfterSeconds} s.");
    }

    private static Task Error(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        return WriteJson(context, new { error = message }, Json);
    }

    private static Task WriteJson(HttpContext context, object value, JsonSerializerOptions serializer) =>
        context.Response.WriteAsJsonAsync(value, value.GetType(), serializer, context.RequestAborted);

    private static async Task WriteLine(HttpContext context, object value)
    {
        await context.Response.WriteAsync(JsonSerializer.Serialize(value, Json) + "\n", context.RequestAborted).ConfigureAwait(false);
        await context.Response.Body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }

    private static int IndexOf(IReadOnlyList<string> labels, string label)
    {
        for (var i = 0; i < labels.Count; i++)
        {
            if (labels[i] == label)
            {
                return i;
            }
        }

        return -1;
    }

    private static ImageVisualizationMethod ParseView(string view) => view switch
    {
        "blended_heat_map" => ImageVisualizationMethod.BlendedHeatMap,
        "masked_image" => ImageVisualizationMethod.MaskedImage,
        "alpha_scaling" => ImageVisualizationMethod.AlphaScaling,
        "original_image" => ImageVisualizationMethod.OriginalImage,
        _ => ImageVisualizationMethod.HeatMap,
    };

    private static VisualizationSign ParseSign(string sign) => sign switch
    {
        "all" => VisualizationSign.All,
        "positive" => VisualizationSign.Positive,
        "negative" => VisualizationSign.Negative,
        _ => VisualizationSign.AbsoluteValue,
    };

    /// <summary>The content type of a file input by its first bytes (PNG, JPEG, GIF, BMP, WebP), or a generic one.</summary>
    private static string Sniff(ReadOnlySpan<byte> bytes) => bytes switch
    {
        [0x89, (byte)'P', (byte)'N', (byte)'G', ..] => "image/png",
        [0xFF, 0xD8, ..] => "image/jpeg",
        [(byte)'G', (byte)'I', (byte)'F', ..] => "image/gif",
        [(byte)'B', (byte)'M', ..] => "image/bmp",
        [(byte)'R', (byte)'I', (byte)'F', (byte)'F', _, _, _, _, (byte)'W', (byte)'E', (byte)'B', (byte)'P', ..] => "image/webp",
        _ => "application/octet-stream",
    };

    /// <summary>The status of a run's failure: 400 for input the model refuses (an image that does not decode), 422 for a result that cannot be given.</summary>
    private static int StatusOf(Exception ex) => ExplainRun.IsBadInput(ex) ? 400 : 422;

    /// <summary>
    /// Whether a run's failure is the model refusing this request rather than a fault of the server: bad input, a
    /// result that cannot be given, or libtorch refusing the computation (a model that cannot take this input).
    /// </summary>
    private static bool IsRefusal(Exception ex) =>
        ex is ArgumentException or InvalidOperationException or NotSupportedException or System.Runtime.InteropServices.ExternalException;

    /// <summary>A user's value shortened for a message.</summary>
    private static string Clip(string value, int length = 60) => value.Length <= length ? value : value[..length] + "…";

    private static string Bytes(long bytes) => bytes switch
    {
        >= 1 << 20 when bytes % (1 << 20) == 0 => $"{bytes >> 20} MiB",
        >= 1 << 10 when bytes % (1 << 10) == 0 => $"{bytes >> 10} KiB",
        _ => $"{bytes} bytes",
    };

    /// <summary>A host lifetime that leaves the process's signals to the caller.</summary>
    private sealed class CallerOwnedLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
