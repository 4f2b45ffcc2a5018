namespace Captum.Plugins;

/// <summary>
/// The check a command makes of its output folder, or of an output file such as a <c>--json</c> one, before it
/// computes anything, so that a run of minutes or hours is never lost to an output that cannot be written at the end.
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

        var full = FullPath(label, option, folder);
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

    /// <summary>
    /// Checks that <paramref name="path"/> can be written as a file: it is not a folder nor an existing file that
    /// cannot be written, and its folder is one or can be made as one where a file can be made (as <see cref="Check"/>
    /// checks a folder). Nothing that exists is changed, and no folder is made: the command makes the file's folder when
    /// it writes the file (<see cref="WriteFile"/>).
    /// </summary>
    /// <param name="option">The option that gave the file, without dashes (e.g. "json"); errors name it as "--json".</param>
    /// <param name="path">The file, as the user gave it.</param>
    /// <exception cref="ArgumentException">The file cannot be written; the message names <paramref name="option"/> and says why, and <see cref="ArgumentException.ParamName"/> is <paramref name="option"/>.</exception>
    public static void CheckFile(string option, string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(option);
        var label = "--" + option;
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new ArgumentException($"{label}: no file given.", option);
        }

        var full = FullPath(label, option, path);
        if (Directory.Exists(full) || Path.EndsInDirectorySeparator(path))
        {
            throw new ArgumentException($"{label}: {path} is a folder, not a file.", option);
        }

        var folder = Path.GetDirectoryName(full) ?? throw new ArgumentException($"{label}: {path} has no folder to be written in.", option);
        Check(option, folder, Path.GetFileName(full));
    }

    /// <summary>
    /// Writes <paramref name="contents"/> to a file checked by <see cref="CheckFile"/>, making its folder first when it
    /// is not there yet. The file is written completely or not at all (a temporary file beside it, flushed, renamed).
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="contents">Its text, written as UTF-8.</param>
    public static void WriteFile(string path, string contents)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        AtomicFile.WriteAllText(path, contents);
    }

    /// <summary>
    /// Whether <paramref name="a"/> and <paramref name="b"/> name the same file once <c>..</c> and the symbolic links
    /// along them (the file's own too) are resolved: <c>run/report.html</c>, <c>run/../run/report.html</c> and
    /// <c>link-to-run/report.html</c> are one file. For a command to refuse an option that names one of its own outputs
    /// (e.g. <c>captum llm --append-to</c> naming <c>--out</c>'s report.html) however it is spelled. Parts that do not
    /// exist yet are compared as given; names ignore case on Windows and macOS.
    /// </summary>
    /// <param name="a">One path, as the user gave it.</param>
    /// <param name="b">The other.</param>
    public static bool IsSameFile(string a, string b)
    {
        ArgumentException.ThrowIfNullOrEmpty(a);
        ArgumentException.ThrowIfNullOrEmpty(b);
        return FilePaths.Same(a, b);
    }

    /// <summary>The full path of <paramref name="given"/>, or an error naming the option when it is not a usable path.</summary>
    private static string FullPath(string label, string option, string given)
    {
        try
        {
            return Path.GetFullPath(given);
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new ArgumentException($"{label}: {given} is not a usable path ({ErrorMessages.OneLine(ex)}).", option, ex);
        }
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
