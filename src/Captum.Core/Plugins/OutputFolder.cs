namespace Captum.Plugins;

/// <summary>
/// The check a command makes of its output folder before it computes anything, so that a run of minutes or hours is
/// never lost to an output that cannot be written at the end.
/// </summary>
public static class OutputFolder
{
    /// <summary>
    /// Checks that <paramref name="folder"/> is a folder or can be made as one, that none of <paramref name="files"/>
    /// in it is a folder or an existing file that cannot be written, and that a file can be made in it (a temporary
    /// one, created and deleted). Nothing that exists is changed, and no folder is made.
    /// </summary>
    /// <param name="option">The option that gave the folder, without dashes (e.g. "out"); errors name it as "--out".</param>
    /// <param name="folder">The folder, as the user gave it.</param>
    /// <param name="files">The file names the command will write in the folder, e.g. "report.html".</param>
    /// <exception cref="ArgumentException">The folder cannot be written; the message names <paramref name="option"/> and says why, and <see cref="ArgumentException.ParamName"/> is <paramref name="option"/>.</exception>
    public static void Check(string option, string folder, params IEnumerable<string> files)
    {
        ArgumentException.ThrowIfNullOrEmpty(option);
        ArgumentNullException.ThrowIfNull(files);
        var label = "--" + option;
        if (string.IsNullOrWhiteSpace(folder))
        {
            throw new ArgumentException($"{label}: no folder given.", option);
        }

        string full;
        try
        {
            full = Path.GetFullPath(folder);
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new ArgumentException($"{label}: {folder} is not a usable path ({ErrorMessages.OneLine(ex)}).", option, ex);
        }

        if (File.Exists(full))
        {
            throw new ArgumentException($"{label}: {folder} is a file, not a folder.", option);
        }

        var existing = full;
        while (!Directory.Exists(existing))
        {
            if (File.Exists(existing))
            {
                throw new ArgumentException($"{label}: {existing} is a file, so the folder {folder} cannot be made.", option);
            }

            existing = Path.GetDirectoryName(existing) ?? throw new ArgumentException($"{label}: {folder} has no folder to be made in.", option);
        }

        foreach (var name in files)
        {
            var path = Path.Combine(full, name);
            if (Directory.Exists(path))
            {
                throw new ArgumentException($"{label}: {path} is a folder, so {name} cannot be written.", option);
            }

            if (File.Exists(path))
            {
                // Opened for writing without truncating: the file is left as it is.
                Writable(label, option, path, () => new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite).Dispose());
            }
        }

        var probe = Path.Combine(existing, $".captum-{Guid.NewGuid():N}.tmp");
        Writable(label, option, existing, () => new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose).Dispose());
    }

    private static void Writable(string label, string option, string path, Action open)
    {
        try
        {
            open();
        }
        catch (Exception ex) when (ex is UnauthorizedAccessException or IOException)
        {
            throw new ArgumentException($"{label}: cannot write in {path} ({ErrorMessages.OneLine(ex)}).", option, ex);
        }
    }
}
