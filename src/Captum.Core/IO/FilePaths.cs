namespace Captum;

/// <summary>Whether two paths name the same file, or one lies inside a folder, as far as their names and symbolic links tell.</summary>
internal static class FilePaths
{
    /// <summary>How many symbolic links one path may pass through (Linux's limit, SYMLOOP_MAX, is 40).</summary>
    private const int MaxLinks = 40;

    /// <summary>How the file system compares names: ignoring case on Windows and macOS (their default file systems), not on Linux.</summary>
    public static StringComparison Comparison { get; } =
        OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;

    /// <summary>
    /// The full path of <paramref name="path"/> with every symbolic link along it that exists resolved (the final file
    /// too), so that <c>run/../run/x</c>, <c>link-to-run/x</c> and <c>run/x</c> are one path. Parts that do not exist
    /// yet are kept as given. Hard links are not told apart: they are one file under two names.
    /// </summary>
    public static string Canonical(string path)
    {
        var full = Path.GetFullPath(path);
        var links = 0;
        var current = Path.GetPathRoot(full)!;
        var rest = new Queue<string>(full[current.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries));
        while (rest.TryDequeue(out var part))
        {
            var next = Path.GetFullPath(Path.Combine(current, part));
            FileSystemInfo info = Directory.Exists(next) ? new DirectoryInfo(next) : new FileInfo(next);
            if (!info.Exists || info.LinkTarget is not { } target || ++links > MaxLinks)
            {
                current = next;
                continue;
            }

            // The link's target, relative to the link's folder, then the parts after it.
            var resolved = Path.GetFullPath(Path.Combine(current, target));
            current = Path.GetPathRoot(resolved)!;
            rest = new Queue<string>(resolved[current.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries).Concat(rest));
        }

        return current;
    }

    /// <summary>Whether <paramref name="a"/> and <paramref name="b"/> are the same file (<see cref="Canonical"/> of each).</summary>
    public static bool Same(string a, string b) => string.Equals(Canonical(a), Canonical(b), Comparison);

    /// <summary>
    /// <paramref name="path"/> relative to <paramref name="folder"/> (both <see cref="Canonical"/>) when it lies inside
    /// it, e.g. <c>shard-00000/manifest.json</c>; null when it does not (or is the folder itself).
    /// </summary>
    public static string? Inside(string path, string folder)
    {
        var file = Canonical(path);
        var root = Path.TrimEndingDirectorySeparator(Canonical(folder)) + Path.DirectorySeparatorChar;
        return file.Length > root.Length && file.StartsWith(root, Comparison) ? file[root.Length..] : null;
    }
}
