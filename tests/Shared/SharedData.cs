namespace Captum.TestData;

/// <summary>
/// Locates the project's shared, read-only test data (golden cases, PyTorch checkpoints), which lives in
/// a folder named <c>shared</c> beside the checkout rather than in the repository.
/// </summary>
internal static class SharedData
{
    /// <summary>
    /// The folder <paramref name="relative"/> under the shared data: <paramref name="variable"/> when that
    /// environment variable is set; else <c>../shared/&lt;relative&gt;</c> beside the repository root; else,
    /// for a clone of a local checkout (as CI makes), beside the checkout it was cloned from.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">No candidate exists; the message lists where it looked.</exception>
    public static string Locate(string relative, string variable)
    {
        var configured = Environment.GetEnvironmentVariable(variable);
        if (!string.IsNullOrWhiteSpace(configured))
        {
            var full = Path.GetFullPath(configured);
            return Directory.Exists(full)
                ? full
                : throw new DirectoryNotFoundException($"{variable} is set to '{configured}', but the folder {full} does not exist.");
        }

        var root = RepositoryRoot();
        var candidates = new List<string> { Path.GetFullPath(Path.Combine(root, "..", "shared", relative)) };
        if (OriginCheckout(root) is { } origin)
        {
            candidates.Add(Path.GetFullPath(Path.Combine(origin, "..", "shared", relative)));
        }

        return candidates.FirstOrDefault(Directory.Exists)
            ?? throw new DirectoryNotFoundException(
                $"The shared data folder '{relative}' was not found (looked in {string.Join(", ", candidates)}). Set {variable} to it.");
    }

    /// <summary>The first directory above the binaries that holds CaptumSharp.sln.</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "CaptumSharp.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException($"No directory above {AppContext.BaseDirectory} contains CaptumSharp.sln.");
    }

    /// <summary>The local checkout this repository was cloned from (remote "origin" as a path), if any.</summary>
    private static string? OriginCheckout(string root)
    {
        var config = Path.Combine(root, ".git", "config");
        if (!File.Exists(config))
        {
            return null;
        }

        var inOrigin = false;
        foreach (var raw in File.ReadLines(config))
        {
            var line = raw.Trim();
            if (line.StartsWith('['))
            {
                inOrigin = line == "[remote \"origin\"]";
                continue;
            }

            if (inOrigin && line.StartsWith("url", StringComparison.Ordinal) && line.IndexOf('=') is var eq and > 0)
            {
                var url = line[(eq + 1)..].Trim();
                if (url.StartsWith("file://", StringComparison.Ordinal))
                {
                    url = url["file://".Length..];
                }

                return Path.IsPathRooted(url) && Directory.Exists(url) ? Path.GetFullPath(url) : null;
            }
        }

        return null;
    }
}
