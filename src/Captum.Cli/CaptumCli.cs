using System.CommandLine;
using Captum.Explain;
using Captum.Hosting;
using Captum.Runtime;

namespace Captum.Cli;

/// <summary>
/// The captum command line: <c>captum plugins</c>, and the commands the plugins add. captum knows no plugin by
/// name: it loads those it finds and mounts their commands (<see cref="PluginCommands"/>).
/// </summary>
public static class CaptumCli
{
    /// <summary>The environment variable listing extra plugin folders (separated by the path separator).</summary>
    public const string PluginsVariable = "CAPTUM_PLUGINS";

    /// <summary>
    /// Runs the command line and returns the exit code: 0 success, 1 usage error, 2 failure (an argument or file
    /// refused, one line on <paramref name="error"/>); a plugin's command may return others (see its help).
    /// </summary>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(error);

        // The plugins are loaded before the command line is parsed, since they add commands to it.
        var folders = PluginFolderOptions(args);
        if (MissingPluginFolder(folders) is { } problem)
        {
            return Fail.With(error, problem);
        }

        WarnAboutMissingVariableFolders(error);
        CheckKernels();
        using var host = PluginHost.Load(PluginRoots(folders));
        var parsed = Root(host, output, error).Parse(args);
        // Ctrl+C and SIGTERM cancel the command, which stops at the end of its current pass and writes what it has
        // done (attribute-dataset's rows, Insights' shutdown). System.CommandLine's own handling was measured not to
        // catch them here (the process ended at once, exit 130 or 143), so every long-running command listens itself
        // through a TerminationSignal linked to the token it is given.
        return parsed.Invoke(new InvocationConfiguration { Output = output, Error = error, ProcessTerminationTimeout = TimeSpan.FromMinutes(5) });
    }

    // Before any plugin or command runs a model: libtorch's oneDNN kernels are checked once and switched off where
    // they compute wrong numbers (TorchRuntime; `captum plugins` says so). A missing libtorch is reported by the
    // command that needs it.
    private static void CheckKernels()
    {
        try
        {
            TorchRuntime.EnsureAvailableQuietly();
        }
        catch (TorchRuntimeUnavailableException)
        {
        }
    }

    /// <summary>The command line: the built-in commands, then every plugin's.</summary>
    internal static RootCommand Root(PluginHost host, TextWriter output, TextWriter error)
    {
        var root = new RootCommand("CaptumSharp: explain what a model's answer rests on.")
        {
            PluginsCommand(host, output),
            BatchCommands.AttributeDataset(host, output, error),
            BatchCommands.MergeResults(output, error),
            InsightsCommand.Create(host, output, error),
            ExplainCommand.Create(host, output, error),
        };
        root.Options.Add(PluginsOption());
        foreach (var command in PluginCommands.Create(host, root, output, error))
        {
            root.Subcommands.Add(command);
        }

        return root;
    }

    private static Option<string[]> PluginsOption() => new("--plugins")
    {
        Description = $"A folder of plugins (repeatable); also ${PluginsVariable}; default: plugins/ beside the command.",
        Recursive = true,
    };

    /// <summary>The <c>--plugins</c> values, read before the plugins' commands exist (every other token is ignored here).</summary>
    private static string[]? PluginFolderOptions(string[] args)
    {
        var option = PluginsOption();
        var probe = new RootCommand { TreatUnmatchedTokensAsErrors = false };
        probe.Options.Add(option);
        return probe.Parse(args).GetValue(option);
    }

    /// <summary>Why a <c>--plugins</c> value is not a folder, for the first that is not; null when all are.</summary>
    internal static string? MissingPluginFolder(IEnumerable<string>? folders)
    {
        foreach (var folder in folders ?? [])
        {
            if (!Directory.Exists(folder))
            {
                return File.Exists(folder)
                    ? $"--plugins: {folder} is a file; give the folder of plugins it is in."
                    : $"--plugins: folder not found: {folder}";
            }
        }

        return null;
    }

    /// <summary>Warns about folders of <c>$CAPTUM_PLUGINS</c> that do not exist (a variable may outlive its folders, so this is no error).</summary>
    private static void WarnAboutMissingVariableFolders(TextWriter error)
    {
        foreach (var folder in VariableFolders().Where(f => !Directory.Exists(f)))
        {
            error.WriteLine($"captum: warning: ${PluginsVariable} names a folder that does not exist: {folder}");
        }
    }

    private static string[] VariableFolders() =>
        Environment.GetEnvironmentVariable(PluginsVariable) is { } value && !string.IsNullOrWhiteSpace(value)
            ? value.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            : [];

    /// <summary>The plugin folders to search: the options, then the environment variable, then plugins/ beside the command.</summary>
    internal static IReadOnlyList<string> PluginRoots(string[]? options)
    {
        var roots = new List<string>();
        roots.AddRange(options ?? []);
        roots.AddRange(VariableFolders());
        roots.Add(Path.Combine(AppContext.BaseDirectory, "plugins"));
        return roots;
    }

    /// <summary>Reports the plugins that failed to load on <paramref name="error"/>.</summary>
    internal static void WarnAboutFailures(PluginHost host, TextWriter error)
    {
        foreach (var failure in host.Failures)
        {
            error.WriteLine($"captum: warning: plugin {failure.Path} did not load: {failure.Reason}");
        }
    }

    private static Command PluginsCommand(PluginHost host, TextWriter output)
    {
        var command = new Command("plugins", "List the plugins found, the models they offer, the commands and the explanation methods they add.");
        command.SetAction(parse =>
        {
            // Each plugin with what it registered beneath it (what a plugin registers lives in its own assembly); the
            // methods that come with captum are not listed.
            var models = host.ModelProviders;
            var datasets = host.ExampleDatasets;
            var commands = host.Commands;
            var strategies = host.ExplanationStrategies.Strategies;
            foreach (var plugin in host.Plugins)
            {
                var owner = plugin.Plugin.GetType().Assembly;
                output.WriteLine($"{plugin.Plugin.Name}\t{plugin.Plugin.Description}\t{plugin.AssemblyPath}");
                foreach (var provider in models.Where(m => m.GetType().Assembly == owner))
                {
                    var files = provider.Files.Count == 0 ? string.Empty : $" (files: {string.Join(", ", provider.Files.Select(f => f.Name + (f.Required ? "" : "?")))})";
                    output.WriteLine($"  model {provider.Name}: {provider.Description}{files}");
                }

                foreach (var dataset in datasets.Where(d => d.GetType().Assembly == owner))
                {
                    output.WriteLine($"  dataset {dataset.Name} (model {dataset.ModelName}, {dataset.DefaultCount} examples by default): {dataset.Description}");
                }

                foreach (var pluginCommand in commands.Where(c => c.GetType().Assembly == owner))
                {
                    output.WriteLine($"  command {pluginCommand.Name}: {pluginCommand.Description}");
                }

                foreach (var strategy in strategies.Where(s => s.GetType().Assembly == owner))
                {
                    output.WriteLine($"  method {strategy.Name}: {strategy.Description}");
                }
            }

            foreach (var failure in host.Failures)
            {
                output.WriteLine($"FAILED {failure.Path}: {failure.Reason}");
            }

            if (TorchRuntime.KernelWarning is { } warning)
            {
                output.WriteLine($"libtorch: {warning}");
            }

            try
            {
                TorchRuntime.EnsureAvailable();
            }
            catch (TorchRuntimeUnavailableException ex)
            {
                output.WriteLine($"libtorch: {ErrorMessages.OneLine(ex)} No model can run until this is fixed.");
            }

            return 0;
        });
        return command;
    }
}
