using System.CommandLine;
using Captum.Hosting;

namespace Captum.Cli;

/// <summary>The captum command line: <c>captum vqa ...</c>, <c>captum plugins</c>.</summary>
public static class CaptumCli
{
    /// <summary>The environment variable listing extra plugin folders (separated by the path separator).</summary>
    public const string PluginsVariable = "CAPTUM_PLUGINS";

    /// <summary>Runs the command line and returns the exit code (0 success, 1 usage error, 2 failure).</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(args);
        var pluginsOption = new Option<string[]>("--plugins")
        {
            Description = $"A folder of plugins (repeatable); also ${PluginsVariable}; default: plugins/ beside the command.",
            Recursive = true,
        };
        var root = new RootCommand("CaptumSharp: explain what a model's answer rests on.")
        {
            VqaCommand.Create(pluginsOption, output, error),
            PluginsCommand(pluginsOption, output),
        };
        root.Options.Add(pluginsOption);
        var parsed = root.Parse(args);
        return parsed.Invoke(new InvocationConfiguration { Output = output, Error = error });
    }

    /// <summary>The plugin folders to search: the options, then the environment variable, then plugins/ beside the command.</summary>
    internal static IReadOnlyList<string> PluginRoots(string[]? options)
    {
        var roots = new List<string>();
        roots.AddRange(options ?? []);
        var fromEnv = Environment.GetEnvironmentVariable(PluginsVariable);
        if (!string.IsNullOrWhiteSpace(fromEnv))
        {
            roots.AddRange(fromEnv.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries));
        }

        roots.Add(Path.Combine(AppContext.BaseDirectory, "plugins"));
        return roots;
    }

    /// <summary>Loads the plugins and reports those that failed on <paramref name="error"/>.</summary>
    internal static PluginHost LoadPlugins(string[]? options, TextWriter error)
    {
        var host = PluginHost.Load(PluginRoots(options));
        foreach (var failure in host.Failures)
        {
            error.WriteLine($"captum: warning: plugin {failure.Path} did not load: {failure.Reason}");
        }

        return host;
    }

    private static Command PluginsCommand(Option<string[]> pluginsOption, TextWriter output)
    {
        var command = new Command("plugins", "List the plugins found and the models they offer.");
        command.SetAction(parse =>
        {
            using var host = PluginHost.Load(PluginRoots(parse.GetValue(pluginsOption)));
            foreach (var plugin in host.Plugins)
            {
                output.WriteLine($"{plugin.Plugin.Name}\t{plugin.Plugin.Description}\t{plugin.AssemblyPath}");
            }

            foreach (var provider in host.ModelProviders)
            {
                output.WriteLine($"  model {provider.Name}: {provider.Description} (files: {string.Join(", ", provider.Files.Select(f => f.Name + (f.Required ? "" : "?")))})");
            }

            foreach (var failure in host.Failures)
            {
                output.WriteLine($"FAILED {failure.Path}: {failure.Reason}");
            }

            return 0;
        });
        return command;
    }
}
