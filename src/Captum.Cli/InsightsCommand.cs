using System.CommandLine;
using System.Globalization;
using System.Net;
using Captum.Hosting;
using Captum.Insights;
using Captum.Plugins;
using Captum.Runtime;
using Microsoft.Extensions.DependencyInjection;

namespace Captum.Cli;

/// <summary>
/// <c>captum insights</c>: serves the models the loaded plugins offer, with their example datasets, in Captum
/// Insights (<see cref="InsightsServer"/>) on 127.0.0.1 until stopped; prints the address and opens nothing. Every
/// model file a provider reads is an option (<c>--checkpoint</c>, <c>--resnet</c>, ...), so the command names no plugin.
/// </summary>
internal static class InsightsCommand
{
    private static readonly string[] OwnOptions = ["port", "address", "model", "examples", "seed", "queue", "max-image-pixels", "max-upload-bytes", "plugins", "help"];

    public static Command Create(PluginHost host, TextWriter output, TextWriter error)
    {
        var port = new Option<int>("--port") { Description = "The port to listen on; 0 picks a free one.", DefaultValueFactory = _ => 0 };
        var address = new Option<string>("--address") { Description = "The address to listen on; give 0.0.0.0 only to serve other machines on purpose.", DefaultValueFactory = _ => "127.0.0.1" };
        var model = new Option<string[]>("--model") { Description = "A model to serve, by its provider's name (repeatable; the page opens with the first); default every model that loads without files, and those whose files are given, listed those first, then by name." };
        var examples = new Option<int?>("--examples") { Description = "The number of dataset examples to list; default each dataset's own." };
        var seed = new Option<long>("--seed") { Description = "The seed of generated datasets.", DefaultValueFactory = _ => 0 };
        var queue = new Option<int>("--queue") { Description = "Requests that may wait per model; more are answered 503 with Retry-After.", DefaultValueFactory = _ => new InsightsServerOptions().QueueCapacity };
        var maxPixels = new Option<long>("--max-image-pixels")
        {
            Description = "The most pixels an uploaded image may have (read from its header, before it is queued); larger gets 400. Uploads are resized to the model's input, so more add nothing but memory. A model's own limit still applies.",
            DefaultValueFactory = _ => InsightsServerOptions.DefaultMaxImagePixels,
        };
        var maxUpload = new Option<long>("--max-upload-bytes") { Description = "The largest explain request (its uploads) in bytes; larger gets 413.", DefaultValueFactory = _ => new InsightsServerOptions().MaxUploadBytes };
        var command = new Command("insights", "Serve the plugins' models in Captum Insights, a web page to browse their examples and explore attributions (127.0.0.1 only unless --address says otherwise).")
        {
            port, address, model, examples, seed, queue, maxPixels, maxUpload,
        };

        var fileOptions = new ModelFileOptions(host, command, OwnOptions);

        command.SetAction(async (parse, commandLineToken) =>
        {
            // Ctrl+C and SIGTERM stop the server gracefully: running attributions are cancelled, then it closes.
            using var stop = new TerminationSignal(commandLineToken);
            var cancellationToken = stop.Token;
            CaptumCli.WarnAboutFailures(host, error);
            InsightsServer? server = null;
            IPAddress? listen = null;
            var code = Fail.Guard(error, () =>
            {
                var files = fileOptions.Given(parse);
                listen = IPAddress.TryParse(parse.GetValue(address), out var ip) ? ip : throw new ArgumentException($"--address must be an IP address, not '{parse.GetValue(address)}'.");
                var options = ServerOptions(new InsightsServerOptions
                {
                    Address = listen,
                    Port = parse.GetValue(port),
                    QueueCapacity = parse.GetValue(queue),
                    MaxImagePixels = parse.GetValue(maxPixels),
                    MaxUploadBytes = parse.GetValue(maxUpload),
                });
                var count = parse.GetValue(examples);
                if (count is < 1 || count > options.MaxExamples)
                {
                    throw new ArgumentException($"--examples: must be in [1, {options.MaxExamples}] (the most the page lists), not {count}.");
                }

                var served = LoadModels(host, parse.GetValue(model) ?? [], files, count, parse.GetValue(seed), error);
                try
                {
                    server = InsightsServer.StartAsync(served, host.ExplanationStrategies, options, cancellationToken: cancellationToken).GetAwaiter().GetResult();
                }
                catch
                {
                    foreach (var m in served)
                    {
                        m.Dispose();
                    }

                    throw;
                }

                return 0;
            });
            if (server is null)
            {
                return code;
            }

            await using (server)
            {
                if (!IPAddress.IsLoopback(listen!))
                {
                    error.WriteLine($"captum: warning: serving on {listen}, reachable from other machines, as asked.");
                }

                output.WriteLine($"Captum Insights: {server.Url} (models: {string.Join(", ", server.Models.Select(m => m.Name))})");
                output.WriteLine("Press Ctrl+C to stop.");
                output.Flush();
                await server.WaitAsync(cancellationToken);
            }

            return 0;
        });
        return command;
    }

    /// <summary>
    /// The server's options, checked before any model loads; one out of range is named by its option (<c>--port</c>,
    /// <c>--queue</c>, <c>--max-image-pixels</c>, <c>--max-upload-bytes</c>).
    /// </summary>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    private static InsightsServerOptions ServerOptions(InsightsServerOptions options)
    {
        try
        {
            options.Validate();
        }
        catch (ArgumentException ex) when (OptionOf(ex.ParamName) is { } option)
        {
            throw ErrorMessages.Renamed(ex, option, "--" + option);
        }

        return options;

        static string? OptionOf(string? property) => property switch
        {
            nameof(InsightsServerOptions.Port) => "port",
            nameof(InsightsServerOptions.QueueCapacity) => "queue",
            nameof(InsightsServerOptions.MaxImagePixels) => "max-image-pixels",
            nameof(InsightsServerOptions.MaxUploadBytes) => "max-upload-bytes",
            _ => null,
        };
    }

    /// <summary>
    /// Loads the chosen models (default: every provider that needs no file, and every provider some of whose files
    /// are given), each with the first example dataset registered for it that fits it; listed in the order of --model,
    /// else those whose files were given first, then by name. Without --model, a provider given files serves the model
    /// of its files and, beside it, its default model (when that loads without files and is named otherwise): a
    /// checkpoint the user trained beside the model the plugin ships.
    /// </summary>
    /// <exception cref="ArgumentException">An unknown model, a model whose required file is missing, or no model at all.</exception>
    private static List<InsightsModel> LoadModels(PluginHost host, IReadOnlyList<string> names, IReadOnlyDictionary<string, string> files, int? examples, long seed, TextWriter error)
    {
        var providers = names.Count > 0
            ? names.Select(host.GetModelProvider).ToList()
            : host.ModelProviders.Where(p => p.Files.All(f => !f.Required || files.ContainsKey(f.Name))).ToList();
        if (providers.Count == 0)
        {
            throw new ArgumentException("no plugin offers a model that loads without files; give --model and its files (captum plugins lists them).");
        }

        var loaded = new List<InsightsModel>();
        var withFiles = new HashSet<InsightsModel>();
        try
        {
            foreach (var provider in providers)
            {
                var given = provider.Files.Where(f => files.ContainsKey(f.Name)).ToDictionary(f => f.Name, f => files[f.Name], StringComparer.Ordinal);
                if (provider.Files.FirstOrDefault(f => f.Required && !given.ContainsKey(f.Name)) is { } missing)
                {
                    throw new ArgumentException($"--{missing.Name} is required by the {provider.Name} model: {missing.Description}.");
                }

                var loads = new List<Dictionary<string, string>> { given };
                if (given.Count > 0 && names.Count == 0 && provider.Files.All(f => !f.Required))
                {
                    loads.Add([]);
                }

                foreach (var load in loads)
                {
                    var interpretable = provider.Load(load, new Dictionary<string, string>());
                    if (load.Count == 0 && loaded.FirstOrDefault(m => string.Equals(m.Name, interpretable.Name, StringComparison.Ordinal)) is { } same)
                    {
                        // A scenes checkpoint given as --checkpoint is named as the shipped scenes model: the given one is served.
                        error.WriteLine($"captum: note: the {provider.Name} model of the given files is named {same.Name}, as its default model is; only the one of the files is served.");
                        interpretable.Dispose();
                        continue;
                    }

                    IExampleDataset? opened = null;
                    try
                    {
                        string? key;
                        (opened, key) = OpenDataset(host, provider, interpretable, examples, seed, error);
                        loaded.Add(new InsightsModel(interpretable, opened, provider.Description, examplesKey: key));
                        if (load.Count > 0)
                        {
                            withFiles.Add(loaded[^1]);
                        }
                    }
                    catch
                    {
                        // Not yet in an InsightsModel, so nothing else disposes them.
                        opened?.Dispose();
                        interpretable.Dispose();
                        throw;
                    }
                }
            }
        }
        catch
        {
            foreach (var m in loaded)
            {
                m.Dispose();
            }

            throw;
        }

        // Without --model the page lists first the models whose files were given (the tutorial's, with --checkpoint and
        // --resnet), then the others, each by name (its first is the one it opens with), not by the order in which
        // plugin folders happened to load; with --model, in the order given.
        return names.Count > 0 ? loaded : [.. loaded.OrderBy(m => !withFiles.Contains(m)).ThenBy(m => m.Name, StringComparer.Ordinal)];
    }

    /// <summary>
    /// The first example dataset registered for <paramref name="provider"/>'s models that fits <paramref name="model"/>
    /// (<see cref="IExampleDatasetProvider.Fits"/>: a generated dataset need not fit a model trained on other data), opened,
    /// with its key: its name and options, which give the same examples every time it is opened
    /// (<see cref="IExampleDatasetProvider.Open"/>), so two models given it (<c>story</c> and <c>story:DIR</c>) share
    /// their examples; null, with a note, when there is none, so the page explains uploads only.
    /// </summary>
    private static (IExampleDataset? Dataset, string? Key) OpenDataset(PluginHost host, IInterpretableModelProvider provider, IInterpretableModel model, int? examples, long seed, TextWriter error)
    {
        var registered = host.ExampleDatasets.Where(d => string.Equals(d.ModelName, provider.Name, StringComparison.OrdinalIgnoreCase)).ToList();
        if (registered.FirstOrDefault(d => d.Fits(model)) is { } dataset)
        {
            var count = examples ?? dataset.DefaultCount;
            var key = string.Create(CultureInfo.InvariantCulture, $"{dataset.ModelName} model's {dataset.Name} dataset, {count} examples, seed {seed}");
            return (dataset.Open(new ExampleDatasetOptions { Count = examples, Seed = seed }), key);
        }

        error.WriteLine(registered.Count == 0
            ? $"captum: note: no plugin offers a dataset for the {model.Name} model; the page explains uploads only."
            : $"captum: note: the {string.Join(", ", registered.Select(d => d.Name))} dataset does not fit the {model.Name} model; the page explains uploads only.");
        return (null, null);
    }
}
