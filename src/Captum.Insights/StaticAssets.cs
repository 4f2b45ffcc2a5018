using System.Collections.Frozen;

namespace Captum.Insights;

/// <summary>The page's files, embedded in this assembly (wwwroot/), read once: the server never reads files from disk.</summary>
internal static class StaticAssets
{
    private static readonly FrozenDictionary<string, (byte[] Content, string Type)> Assets = Load();

    /// <summary>The asset named <paramref name="name"/> (e.g. "app.js") and its content type.</summary>
    public static bool TryGet(string name, out byte[] content, out string type)
    {
        if (Assets.TryGetValue(name, out var asset))
        {
            (content, type) = asset;
            return true;
        }

        (content, type) = ([], string.Empty);
        return false;
    }

    private static FrozenDictionary<string, (byte[], string)> Load()
    {
        var assembly = typeof(StaticAssets).Assembly;
        var assets = new Dictionary<string, (byte[], string)>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith("wwwroot/", StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var name = resource["wwwroot/".Length..];
            var type = Path.GetExtension(name) switch
            {
                ".html" => "text/html; charset=utf-8",
                ".js" => "text/javascript; charset=utf-8",
                ".css" => "text/css; charset=utf-8",
                ".svg" => "image/svg+xml",
                _ => "application/octet-stream",
            };
            assets[name] = (copy.ToArray(), type);
        }

        return assets.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
