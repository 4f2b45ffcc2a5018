using System.Reflection;
using System.Security.Cryptography;
using System.Text;

namespace Captum.Batch;

/// <summary>
/// SHA-256 digests (lowercase hex) of what a run reads: model files, manifests, a plugin's embedded resources. A run
/// folder records digests rather than paths, so the same file mounted elsewhere is the same run and other contents at
/// the same path are not.
/// </summary>
public static class ContentDigest
{
    /// <summary>The SHA-256 of <paramref name="stream"/>'s bytes from its position to its end.</summary>
    public static string Of(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    /// <summary>The SHA-256 of <paramref name="bytes"/>.</summary>
    public static string Of(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>
    /// The SHA-256 of a file's contents, or of a folder's: every file under it in ordinal order of its relative path
    /// (with '/' separators), each as its path, its length and its bytes.
    /// </summary>
    /// <param name="path">A file or a folder.</param>
    /// <exception cref="FileNotFoundException">Neither a file nor a folder has that path.</exception>
    public static string OfPath(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (File.Exists(path))
        {
            using var stream = File.OpenRead(path);
            return Of(stream);
        }

        if (!Directory.Exists(path))
        {
            throw new FileNotFoundException($"{path} does not exist.", path);
        }

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var files = Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories)
            .Select(f => (Full: f, Relative: Path.GetRelativePath(path, f).Replace(Path.DirectorySeparatorChar, '/')))
            .OrderBy(f => f.Relative, StringComparer.Ordinal);
        foreach (var (full, relative) in files)
        {
            using var stream = File.OpenRead(full);
            Append(hash, relative, stream);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>
    /// The SHA-256 of <paramref name="assembly"/>'s embedded resources (each as its name, its length and its bytes, in
    /// ordinal order of the names): what identifies weights a plugin ships inside its assembly, whatever else of the
    /// assembly changes. Null when it embeds none.
    /// </summary>
    public static string? OfResources(Assembly assembly)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        var names = assembly.GetManifestResourceNames().Order(StringComparer.Ordinal).ToList();
        if (names.Count == 0)
        {
            return null;
        }

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var name in names)
        {
            using var stream = assembly.GetManifestResourceStream(name) ?? Stream.Null;
            Append(hash, name, stream);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    // Name and length before the bytes, so that no two different sets of entries hash the same stream of bytes.
    private static void Append(IncrementalHash hash, string name, Stream stream)
    {
        var nameBytes = Encoding.UTF8.GetBytes(name);
        hash.AppendData(BitConverter.GetBytes(nameBytes.Length));
        hash.AppendData(nameBytes);
        hash.AppendData(BitConverter.GetBytes(stream.Length));
        var buffer = new byte[81920];
        int read;
        while ((read = stream.Read(buffer, 0, buffer.Length)) > 0)
        {
            hash.AppendData(buffer, 0, read);
        }
    }
}
