using System.Globalization;
using System.Text.Json;

namespace Captum.Batch;

/// <summary>
/// What a sharded run computes, as its output folder's <c>run.json</c> records it (<see cref="RunSpecFile"/>):
/// every worker writing to the folder must compute the same thing, or its rows could not be merged.
/// <see cref="AttributionRunSpec"/> is one; a plugin's sharded command defines its own.
/// </summary>
/// <typeparam name="TSelf">The spec type itself.</typeparam>
public interface IShardedRunSpec<in TSelf>
{
    /// <summary>The run's number of units (examples, scenes).</summary>
    int Count { get; }

    /// <summary>The number of shards the units are split into.</summary>
    int ShardCount { get; }

    /// <summary>
    /// What differs between this spec and <paramref name="other"/> (the folder's), one phrase per field (see
    /// <see cref="SpecDifferences"/>); empty when they are the same run.
    /// </summary>
    IReadOnlyList<string> Differences(TSelf other);
}

/// <summary>A run folder's <c>run.json</c>: recorded by the first worker, checked by every other one.</summary>
public static class RunSpecFile
{
    /// <summary>The file name of a run's spec in its output folder.</summary>
    public const string FileName = "run.json";

    internal static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.Never,
    };

    /// <summary>
    /// Records <paramref name="spec"/> in <paramref name="folder"/>'s <c>run.json</c> (camelCase JSON), or, when the
    /// folder already has one, checks it is the same run. Safe when several workers start at once: the file is written
    /// under a temporary name and linked into place only if none exists.
    /// </summary>
    /// <param name="spec">This worker's spec.</param>
    /// <param name="folder">The output folder (created when missing).</param>
    /// <param name="producer">What writes such folders, for messages, e.g. "captum attribute-dataset".</param>
    /// <exception cref="ArgumentException">The folder holds a different run; the message names every difference (parameter "out").</exception>
    /// <exception cref="InvalidDataException">The folder's run.json is not readable as <typeparamref name="TSpec"/>.</exception>
    public static void RecordOrCheck<TSpec>(TSpec spec, string folder, string producer)
        where TSpec : IShardedRunSpec<TSpec>
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(folder);
        if (TryCreate(spec, folder))
        {
            return;
        }

        var differences = spec.Differences(Read<TSpec>(folder, producer));
        if (differences.Count > 0)
        {
            throw new ArgumentException(
                $"--out {folder} holds another run ({string.Join("; ", differences)}): give another --out folder, or the same options.",
                "out");
        }
    }

    /// <summary>
    /// Writes <paramref name="spec"/> as <paramref name="folder"/>'s <c>run.json</c> (camelCase JSON) unless the
    /// folder has one: under a temporary name, then linked into place only if none exists, so that of several workers
    /// starting at once exactly one records it.
    /// </summary>
    /// <returns>True when this call recorded it; false when the folder already had a run.json to check against.</returns>
    internal static bool TryCreate<TSpec>(TSpec spec, string folder)
    {
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, FileName);
        if (File.Exists(path))
        {
            return false;
        }

        var temp = AtomicFile.WriteTemp(path, JsonSerializer.Serialize(spec, Json));
        try
        {
            File.Move(temp, path, overwrite: false);
            return true;
        }
        catch (IOException) when (File.Exists(path))
        {
            File.Delete(temp);
            return false;
        }
    }

    /// <summary>Reads <paramref name="folder"/>'s <c>run.json</c>.</summary>
    /// <param name="folder">The output folder.</param>
    /// <param name="producer">What writes such folders, for messages, e.g. "captum attribute-dataset".</param>
    /// <exception cref="ArgumentException">The folder has none (it is not an output folder of <paramref name="producer"/>).</exception>
    /// <exception cref="InvalidDataException">It is not readable as <typeparamref name="TSpec"/>.</exception>
    public static TSpec Read<TSpec>(string folder, string producer)
    {
        var path = Path.Combine(folder, FileName);
        if (!File.Exists(path))
        {
            throw new ArgumentException($"{folder} has no {FileName}: it is not an output folder of {producer}.", nameof(folder));
        }

        try
        {
            return JsonSerializer.Deserialize<TSpec>(File.ReadAllText(path), Json)
                ?? throw new InvalidDataException($"{path} is empty.");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{path} is not a run.json of {producer}, or is damaged (another command's or plugin's run folder has a run.json of another kind): {ex.Message}", ex);
        }
    }
}

/// <summary>
/// Collects what differs between two run specs, one phrase per field, e.g. "method: the folder has 'occlusion', this
/// run 'layer-ig'" (texts quoted, dictionaries as sorted name=value lists, null as "none", numbers invariant).
/// </summary>
public sealed class SpecDifferences
{
    private readonly List<string> differences = [];

    /// <summary>Adds a phrase when <paramref name="folder"/>'s value and <paramref name="mine"/> read differently.</summary>
    /// <param name="name">The field, as the message names it.</param>
    /// <param name="folder">The folder's value.</param>
    /// <param name="mine">This run's value.</param>
    /// <returns>This, to chain.</returns>
    public SpecDifferences Compare(string name, object? folder, object? mine)
    {
        var (a, b) = (Text(folder), Text(mine));
        if (!string.Equals(a, b, StringComparison.Ordinal))
        {
            differences.Add($"{name}: the folder has {a}, this run {b}");
        }

        return this;
    }

    /// <summary>
    /// Adds a phrase per entry whose value differs between <paramref name="folder"/> and <paramref name="mine"/> (one
    /// missing reads "none"), e.g. "model file 'checkpoint' SHA-256: the folder has '3f…', this run '9a…'".
    /// </summary>
    /// <param name="name">What an entry is, as the message names it, e.g. "model file".</param>
    /// <param name="what">What its value is, e.g. "SHA-256".</param>
    /// <param name="folder">The folder's entries.</param>
    /// <param name="mine">This run's entries.</param>
    /// <returns>This, to chain.</returns>
    public SpecDifferences CompareEach(string name, string what, IReadOnlyDictionary<string, string> folder, IReadOnlyDictionary<string, string> mine)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(mine);
        foreach (var key in folder.Keys.Union(mine.Keys).Order(StringComparer.Ordinal))
        {
            Compare($"{name} '{key}' {what}", folder.GetValueOrDefault(key), mine.GetValueOrDefault(key));
        }

        return this;
    }

    /// <summary>The phrases collected, in the order compared.</summary>
    public IReadOnlyList<string> ToList() => [.. differences];

    private static string Text(object? value) => value switch
    {
        null => "none",
        string s => $"'{s}'",
        // Ordinal order whatever the dictionary's comparer: one read back from run.json sorts with the culture's.
        IDictionary<string, string> map => map.Count == 0 ? "none" : string.Join(", ", map.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}")),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "none",
    };
}
