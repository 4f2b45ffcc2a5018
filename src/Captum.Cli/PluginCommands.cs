using System.CommandLine;
using System.Globalization;
using Captum.Hosting;
using Captum.Plugins;

namespace Captum.Cli;

/// <summary>Turns the plugins' <see cref="IPluginCommand"/>s into subcommands of the captum command line.</summary>
internal static class PluginCommands
{
    /// <summary>A command for every plugin command whose name is still free (the others are skipped, with a warning printed at every start).</summary>
    public static IEnumerable<Command> Create(PluginHost host, RootCommand root, TextWriter output, TextWriter error)
    {
        var taken = new HashSet<string>(root.Subcommands.Select(c => c.Name), StringComparer.OrdinalIgnoreCase);
        foreach (var pluginCommand in host.Commands)
        {
            if (!taken.Add(pluginCommand.Name))
            {
                error.WriteLine($"captum: warning: a plugin's command '{pluginCommand.Name}' is ignored: the name is taken.");
                continue;
            }

            yield return Create(host, pluginCommand, output, error);
        }
    }

    private static Command Create(PluginHost host, IPluginCommand pluginCommand, TextWriter output, TextWriter error)
    {
        var command = new Command(pluginCommand.Name, pluginCommand.Description);
        var readers = new List<(string Name, Func<ParseResult, string?> Read)>();
        foreach (var spec in pluginCommand.Options)
        {
            var (option, read) = spec.Kind switch
            {
                PluginOptionKind.Integer => Typed(spec, s => long.Parse(s, NumberStyles.Integer, CultureInfo.InvariantCulture), v => v.ToString(CultureInfo.InvariantCulture)),
                PluginOptionKind.Number => Typed(spec, s => double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture), v => v.ToString("R", CultureInfo.InvariantCulture)),
                PluginOptionKind.Flag => Typed(spec, bool.Parse, v => v ? "true" : "false"),
                PluginOptionKind.File => Typed(spec, s => new FileInfo(s), v => v.FullName),
                PluginOptionKind.Folder => Typed(spec, s => new DirectoryInfo(s), v => v.FullName),
                _ => Typed(spec, s => s, v => v),
            };
            command.Options.Add(option);
            readers.Add((spec.Name, read));
        }

        command.SetAction((parse, cancellationToken) =>
        {
            CaptumCli.WarnAboutFailures(host, error);
            var values = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (name, read) in readers)
            {
                if (read(parse) is { } value)
                {
                    values[name] = value;
                }
            }

            return Task.FromResult(Fail.Guard(error, () => pluginCommand.Run(new PluginCommandContext(values, output, error, cancellationToken))));
        });
        return command;
    }

    /// <summary>A typed option (so the parser checks values) and how to read it back as invariant text.</summary>
    private static (Option Option, Func<ParseResult, string?> Read) Typed<T>(PluginCommandOption spec, Func<string, T> parse, Func<T, string> format)
    {
        var option = new Option<T>("--" + spec.Name)
        {
            Description = spec.Description,
            Required = spec.Required,
        };
        if (spec.Kind == PluginOptionKind.Flag)
        {
            option.Arity = ArgumentArity.ZeroOrOne;
        }

        if (spec.DefaultValue is { } text)
        {
            var value = parse(text);
            option.DefaultValueFactory = _ => value;
        }

        return (option, result =>
        {
            var given = result.GetResult(option) is { Implicit: false } || spec.DefaultValue is not null || spec.Kind == PluginOptionKind.Flag;
            return given && result.GetValue(option) is { } value ? format(value) : null;
        });
    }
}
