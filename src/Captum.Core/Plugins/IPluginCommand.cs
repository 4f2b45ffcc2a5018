using System.Globalization;

namespace Captum.Plugins;

/// <summary>
/// A command a plugin adds to a host's command line: <c>captum &lt;Name&gt; --option value ...</c>, for work that
/// belongs with the plugin's model, such as training it or measuring it. Register it in
/// <see cref="ICaptumPlugin.ConfigureServices"/>: <c>services.AddSingleton&lt;IPluginCommand, MyCommand&gt;()</c>.
/// The host parses the options (checking their kinds, filling in defaults, offering <c>--help</c>) and calls
/// <see cref="Run"/>.
/// </summary>
public interface IPluginCommand
{
    /// <summary>The command's name, lowercase with dashes, e.g. "vqa-train"; unique among the host's commands.</summary>
    string Name { get; }

    /// <summary>One sentence on what the command does.</summary>
    string Description { get; }

    /// <summary>The command's options.</summary>
    IReadOnlyList<PluginCommandOption> Options { get; }

    /// <summary>Runs the command with the parsed options and returns the exit code (0 for success).</summary>
    /// <exception cref="ArgumentException">An option's value does not fit; the host reports the message in one line.</exception>
    int Run(PluginCommandContext context);
}

/// <summary>What an option's value is.</summary>
public enum PluginOptionKind
{
    /// <summary>Any text.</summary>
    Text,

    /// <summary>A whole number (64-bit).</summary>
    Integer,

    /// <summary>A number.</summary>
    Number,

    /// <summary>A switch without a value: "true" when given, else "false".</summary>
    Flag,

    /// <summary>A file path (given to <see cref="IPluginCommand.Run"/> as a full path).</summary>
    File,

    /// <summary>A folder path (given to <see cref="IPluginCommand.Run"/> as a full path).</summary>
    Folder,
}

/// <summary>An option of a plugin command: <c>--Name value</c>.</summary>
/// <param name="Name">The name without dashes, lowercase with dashes, e.g. "seed" for <c>--seed</c>.</param>
/// <param name="Description">What it sets.</param>
/// <param name="Kind">What its value is.</param>
/// <param name="DefaultValue">The value when the option is not given (invariant culture), or null for none.</param>
/// <param name="Required">Whether the option must be given.</param>
public sealed record PluginCommandOption(string Name, string Description, PluginOptionKind Kind, string? DefaultValue = null, bool Required = false)
{
    /// <summary>
    /// Whether the option may be given several times (<c>--question a --question b</c>); read its values with
    /// <see cref="PluginCommandContext.GetTexts"/>. The default, if any, is one value. Not for flags.
    /// </summary>
    public bool Repeatable { get; init; }

    /// <summary>The only values the option accepts (the host refuses others as it parses), or null for any.</summary>
    public IReadOnlyList<string>? AllowedValues { get; init; }
}

/// <summary>A run of a plugin command: the option values, where to write, and the cancellation token.</summary>
public sealed class PluginCommandContext
{
    private readonly IReadOnlyDictionary<string, string> values;
    private readonly IReadOnlyDictionary<string, IReadOnlyList<string>> lists;

    /// <summary>Creates the context.</summary>
    /// <param name="values">The value of every option that was given or has a default, by name, in invariant culture.</param>
    /// <param name="output">Where results go (standard output).</param>
    /// <param name="error">Where progress and warnings go (standard error).</param>
    /// <param name="cancellationToken">Cancelled when the user interrupts the command.</param>
    public PluginCommandContext(IReadOnlyDictionary<string, string> values, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
        : this(values, new Dictionary<string, IReadOnlyList<string>>(), output, error, cancellationToken)
    {
    }

    /// <summary>Creates the context of a command with <see cref="PluginCommandOption.Repeatable"/> options.</summary>
    /// <param name="values">The value of every single-valued option that was given or has a default, by name, in invariant culture.</param>
    /// <param name="repeatedValues">The values of every repeatable option that was given or has a default, by name, in the order given.</param>
    /// <param name="output">Where results go (standard output).</param>
    /// <param name="error">Where progress and warnings go (standard error).</param>
    /// <param name="cancellationToken">Cancelled when the user interrupts the command.</param>
    public PluginCommandContext(
        IReadOnlyDictionary<string, string> values,
        IReadOnlyDictionary<string, IReadOnlyList<string>> repeatedValues,
        TextWriter output,
        TextWriter error,
        CancellationToken cancellationToken = default)
    {
        this.values = values ?? throw new ArgumentNullException(nameof(values));
        lists = repeatedValues ?? throw new ArgumentNullException(nameof(repeatedValues));
        Output = output ?? throw new ArgumentNullException(nameof(output));
        Error = error ?? throw new ArgumentNullException(nameof(error));
        CancellationToken = cancellationToken;
    }

    /// <summary>The single-valued option values by name (invariant culture).</summary>
    public IReadOnlyDictionary<string, string> Values => values;

    /// <summary>
    /// The values of an option in the order given: a repeatable option's, or a single-valued option's one value;
    /// empty when it was neither given nor has a default.
    /// </summary>
    public IReadOnlyList<string> GetTexts(string name) =>
        lists.TryGetValue(name, out var list) ? list : values.TryGetValue(name, out var value) ? [value] : [];

    /// <summary>Where results go.</summary>
    public TextWriter Output { get; }

    /// <summary>Where progress and warnings go.</summary>
    public TextWriter Error { get; }

    /// <summary>
    /// Cancelled when the user interrupts the command: in the <c>captum</c> command, Ctrl+C (SIGINT) or SIGTERM (kill,
    /// Kubernetes, Slurm), after which the process exits when <see cref="IPluginCommand.Run"/> returns or throws
    /// <see cref="OperationCanceledException"/> (exit code 130). Check it in long work and write nothing half-done.
    /// </summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>
    /// The options the user gave on the command line, by name, as opposed to those that have their default (the
    /// <c>captum</c> host says); null when the caller does not say.
    /// </summary>
    public IReadOnlySet<string>? GivenOptions { get; init; }

    /// <summary>
    /// Whether the user gave the option, rather than it having its default (see <see cref="GivenOptions"/>): for an
    /// option that does not go with another, e.g. <c>--scenes</c> with a <c>--from</c> that reads the run's own. False
    /// when the caller does not say which were given, so that a default is never refused as if typed.
    /// </summary>
    public bool IsGiven(string name) => GivenOptions?.Contains(name) ?? false;

    /// <summary>The option's text, or null when it was neither given nor has a default.</summary>
    public string? GetText(string name) => values.TryGetValue(name, out var value) ? value : null;

    /// <summary>The option's whole number.</summary>
    /// <exception cref="ArgumentException">The option is absent or not a whole number; the message names it.</exception>
    public long GetInteger(string name) =>
        long.TryParse(Require(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new ArgumentException($"--{name} must be a whole number, not '{values[name]}'.", name);

    /// <summary>The option's number.</summary>
    /// <exception cref="ArgumentException">The option is absent or not a number; the message names it.</exception>
    public double GetNumber(string name) =>
        double.TryParse(Require(name), NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new ArgumentException($"--{name} must be a number, not '{values[name]}'.", name);

    /// <summary>Whether the flag was given.</summary>
    public bool GetFlag(string name) => values.TryGetValue(name, out var value) && bool.TryParse(value, out var flag) && flag;

    private string Require(string name) =>
        values.TryGetValue(name, out var value) ? value : throw new ArgumentException($"--{name} is required.", name);
}
