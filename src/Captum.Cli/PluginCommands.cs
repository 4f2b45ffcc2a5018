using System.CommandLine;
using System.Globalization;
using Captum.Hosting;
using Captum.Plugins;
using Captum.Runtime;

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
        var readers = new List<(PluginCommandOption Spec, Func<ParseResult, IReadOnlyList<string>?> Read, Option Option)>();
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
            readers.Add((spec, read, option));
        }

        command.SetAction((parse, cancellationToken) =>
        {
            CaptumCli.WarnAboutFailures(host, error);
            var values = new Dictionary<string, string>(StringComparer.Ordinal);
            var repeated = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
            var givenOptions = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (spec, read, option) in readers)
            {
                if (parse.GetResult(option) is { Implicit: false })
                {
                    givenOptions.Add(spec.Name);
                }

                if (read(parse) is not { } given)
                {
                    continue;
                }

                if (spec.Repeatable)
                {
                    repeated[spec.Name] = given;
                }
                else
                {
                    values[spec.Name] = given[0];
                }
            }

            // SIGTERM (kill, Kubernetes evicting a pod, Slurm preempting a task) cancels a plugin command as Ctrl+C does,
            // so that it stops at its next cancellation check and writes what it must, instead of the runtime ending the
            // process at once (exit 143) in the middle of a write.
            using var stop = new TerminationSignal(cancellationToken);
            try
            {
                return Task.FromResult(Fail.Guard(error, () => pluginCommand.Run(new PluginCommandContext(values, repeated, output, error, stop.Token) { GivenOptions = givenOptions })));
            }
            catch (OperationCanceledException) when (stop.Token.IsCancellationRequested)
            {
                error.WriteLine($"{pluginCommand.Name}: cancelled.");
                return Task.FromResult(BatchCommands.CancelledExitCode);
            }
        });
        return command;
    }

    /// <summary>A typed option (so the parser checks values) and how to read its values back as invariant text (null when absent).</summary>
    private static (Option Option, Func<ParseResult, IReadOnlyList<string>?> Read) Typed<T>(PluginCommandOption spec, Func<string, T> parse, Func<T, string> format)
    {
        if (spec.Repeatable && spec.Kind != PluginOptionKind.Flag)
        {
            var many = new Option<T[]>("--" + spec.Name) { Description = spec.Description, Required = spec.Required };
            Restrict(many, spec);
            if (spec.DefaultValue is { } defaultText)
            {
                var value = parse(defaultText);
                many.DefaultValueFactory = _ => [value];
            }

            return (many, result => result.GetValue(many) is { Length: > 0 } values ? values.Select(format).ToArray() : null);
        }

        var option = new Option<T>("--" + spec.Name)
        {
            Description = spec.Description,
            Required = spec.Required,
        };
        Restrict(option, spec);
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
            return given && result.GetValue(option) is { } value ? [format(value)] : null;
        });
    }

    private static void Restrict<TValue>(Option<TValue> option, PluginCommandOption spec)
    {
        if (spec.AllowedValues is { Count: > 0 } allowed)
        {
            option.AcceptOnlyFromAmong([.. allowed]);
        }
    }
}
