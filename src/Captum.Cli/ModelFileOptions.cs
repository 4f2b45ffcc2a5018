using System.CommandLine;
using Captum.Hosting;

namespace Captum.Cli;

/// <summary>
/// Every file a loaded model provider reads, as an option of a command (<c>--checkpoint</c>, <c>--resnet</c>, ...), so
/// the command serves any plugin's model without naming one.
/// </summary>
internal sealed class ModelFileOptions
{
    private readonly List<(string Name, Option<FileInfo> Option)> options = [];

    /// <summary>Adds to <paramref name="command"/> an option per file name the providers read, but for the command's own option names.</summary>
    public ModelFileOptions(PluginHost host, Command command, IReadOnlyCollection<string> ownOptions)
    {
        foreach (var file in host.ModelProviders.SelectMany(p => p.Files).DistinctBy(f => f.Name, StringComparer.OrdinalIgnoreCase))
        {
            if (!ownOptions.Contains(file.Name, StringComparer.OrdinalIgnoreCase))
            {
                var option = new Option<FileInfo>("--" + file.Name) { Description = $"{file.Description} (for the models that read a '{file.Name}' file)." };
                command.Options.Add(option);
                options.Add((file.Name, option));
            }
        }
    }

    /// <summary>The files given, by the providers' file names (matched without regard to case), as full paths.</summary>
    public Dictionary<string, string> Given(ParseResult parse) =>
        options
            .Select(f => (f.Name, File: parse.GetValue(f.Option)))
            .Where(f => f.File is not null)
            .ToDictionary(f => f.Name, f => f.File!.FullName, StringComparer.OrdinalIgnoreCase);
}
