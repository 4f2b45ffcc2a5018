using System.Globalization;
using System.Text.Json;

namespace Captum.Batch;

/// <summary>
/// A shard's <c>manifest.json</c>: which part files of the shard are complete, and whether the whole shard is.
/// Only what it lists counts; it is replaced atomically after each part file is renamed into place.
/// </summary>
public sealed record ShardManifest
{
    /// <summary>The file name in a shard's folder.</summary>
    public const string FileName = "manifest.json";

    /// <summary>The shard.</summary>
    public required int ShardIndex { get; init; }

    /// <summary>The number of shards of the run.</summary>
    public required int ShardCount { get; init; }

    /// <summary>The shard's first example.</summary>
    public required int First { get; init; }

    /// <summary>One past the shard's last example.</summary>
    public required int End { get; init; }

    /// <summary>Whether every example of [<see cref="First"/>, <see cref="End"/>) is in a listed part.</summary>
    public bool Complete { get; init; }

    /// <summary>The complete part files, in the order written.</summary>
    public List<ShardPart> Parts { get; init; } = [];

    /// <summary>The number of examples the parts hold.</summary>
    public int Rows => Parts.Sum(p => p.Rows);

    /// <summary>The examples of the shard no part holds, as [first, end) ranges in order.</summary>
    public IReadOnlyList<(int First, int End)> Missing()
    {
        var missing = new List<(int, int)>();
        var next = First;
        foreach (var part in Parts.OrderBy(p => p.First))
        {
            if (part.First > next)
            {
                missing.Add((next, part.First));
            }

            next = Math.Max(next, part.First + part.Rows);
        }

        if (next < End)
        {
            missing.Add((next, End));
        }

        return missing;
    }

    /// <summary>Reads a shard folder's manifest; null when it has none.</summary>
    /// <exception cref="InvalidDataException">
    /// The manifest is not readable, or a part it lists is not the part file of its first example
    /// (<see cref="ShardPart.NameFor"/>) in the shard's folder (a manifest edited or damaged to name another file,
    /// which a worker would then check, delete or merge), lies outside the shard's examples or overlaps another.
    /// </exception>
    public static ShardManifest? Read(string shardFolder)
    {
        var path = Path.Combine(shardFolder, FileName);
        if (!File.Exists(path))
        {
            return null;
        }

        ShardManifest manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<ShardManifest>(File.ReadAllText(path), AttributionRunSpec.Json)
                ?? throw new InvalidDataException($"{path} is empty.");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{path} is not a readable shard manifest: {ex.Message}", ex);
        }

        InvalidDataException Damaged(string what) => new(string.Create(
            CultureInfo.InvariantCulture,
            $"{path} {what}: the manifest is damaged or was edited, and no file it names is touched. Remove the shard's folder to compute the shard again."));
        if (manifest.Parts is null)
        {
            throw Damaged("has no list of parts");
        }

        var next = manifest.First;
        foreach (var part in manifest.Parts.OrderBy(p => p?.First ?? int.MinValue))
        {
            if (part is null || part.File != ShardPart.NameFor(part.First) || part.Rows < 1)
            {
                throw Damaged(part is null
                    ? "lists an empty part"
                    : $"lists the part \"{part.File}\" (first {part.First}, {part.Rows} rows), which is not the part file of example {part.First} ({ShardPart.NameFor(part.First)}) with rows");
            }

            if (part.First < next || (long)part.First + part.Rows > manifest.End)
            {
                throw Damaged($"lists the part {part.File} of examples [{part.First}, {(long)part.First + part.Rows}), which {(part.First < manifest.First || (long)part.First + part.Rows > manifest.End ? $"lies outside the shard's [{manifest.First}, {manifest.End})" : "overlaps another part")}");
            }

            next = part.First + part.Rows;
        }

        return manifest;
    }

    /// <summary>Replaces the shard folder's manifest with this one (temporary file, then rename).</summary>
    public void Write(string shardFolder) =>
        AtomicFile.WriteAllText(Path.Combine(shardFolder, FileName), JsonSerializer.Serialize(this, AttributionRunSpec.Json));
}

/// <summary>A complete part file of a shard: one Parquet row group of consecutive examples.</summary>
/// <param name="File">The file name in the shard's folder.</param>
/// <param name="First">Its first example.</param>
/// <param name="Rows">Its number of examples.</param>
/// <param name="Errors">How many of its rows have an error.</param>
/// <param name="Sha256">The SHA-256 (hex) of the file as written, by which a damaged part is recognised; null in manifests
/// written before it was recorded (their parts are checked by reading them).</param>
public sealed record ShardPart(string File, int First, int Rows, int Errors, string? Sha256 = null)
{
    /// <summary>The file name of the part starting at example <paramref name="first"/>.</summary>
    public static string NameFor(int first) => string.Create(CultureInfo.InvariantCulture, $"part-{first:D9}.parquet");
}
