using System.Globalization;

namespace Captum;

/// <summary>Files written completely or not at all: to a temporary name beside the target, flushed to disk, then renamed over it.</summary>
internal static class AtomicFile
{
    /// <summary>The suffix of temporary files; a file with it is never complete and is deleted on resume.</summary>
    public const string TempSuffix = ".tmp";

    /// <summary>A temporary name beside <paramref name="path"/> unique to this process and call.</summary>
    public static string TempName(string path) =>
        string.Create(CultureInfo.InvariantCulture, $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}{TempSuffix}");

    /// <summary>Writes <paramref name="text"/> to <paramref name="path"/> through a temporary file and a rename.</summary>
    public static void WriteAllText(string path, string text)
    {
        var temp = WriteTemp(path, text);
        try
        {
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>Writes <paramref name="text"/> to a new temporary file beside <paramref name="path"/>, flushed to disk, and returns its name.</summary>
    public static string WriteTemp(string path, string text)
    {
        var temp = TempName(path);
        try
        {
            using var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None);
            using var writer = new StreamWriter(stream);
            writer.Write(text);
            writer.Flush();
            stream.Flush(flushToDisk: true);
            return temp;
        }
        catch
        {
            // A full disk or a failed flush: no half-written temporary file stays behind.
            TryDelete(temp);
            throw;
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
