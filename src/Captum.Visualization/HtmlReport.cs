using System.Text;

namespace Captum.Visualization;

/// <summary>
/// Builds one self-contained HTML document from headings, paragraphs, text visualizations
/// (<see cref="TextVisualizer.VisualizeText"/> tables) and image figures (inline SVG with embedded PNGs): no external
/// files, scripts or styles. The document is also well-formed XML.
/// </summary>
/// <example>
/// <code>
/// var report = new HtmlReport("VQA attributions")
///     .AddHeading("Question")
///     .AddText(records)
///     .AddFigure(figure, "Image attribution");
/// report.Save("vqa.html");
/// </code>
/// </example>
public sealed class HtmlReport
{
    private readonly List<string> _parts = [];

    /// <summary>Creates an empty report.</summary>
    /// <param name="title">The document title (the <c>&lt;title&gt;</c> and a first <c>&lt;h1&gt;</c>).</param>
    public HtmlReport(string title = "Captum attributions")
    {
        ArgumentNullException.ThrowIfNull(title);
        Title = title;
    }

    /// <summary>The document title.</summary>
    public string Title { get; }

    /// <summary>The number of parts (headings, paragraphs, figures, text tables) added so far.</summary>
    public int Count => _parts.Count;

    /// <summary>Adds a heading (escaped).</summary>
    /// <param name="text">The heading text.</param>
    /// <param name="level">The heading level, 1 to 6; default 2.</param>
    /// <returns>This report.</returns>
    public HtmlReport AddHeading(string text, int level = 2)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentOutOfRangeException.ThrowIfLessThan(level, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(level, 6);
        _parts.Add($"<h{level}>{Markup.Escape(text)}</h{level}>");
        return this;
    }

    /// <summary>Adds a paragraph of text (escaped).</summary>
    /// <param name="text">The text.</param>
    /// <returns>This report.</returns>
    public HtmlReport AddParagraph(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        _parts.Add($"<p>{Markup.Escape(text)}</p>");
        return this;
    }

    /// <summary>Adds Captum's text visualization of <paramref name="records"/> (<see cref="TextVisualizer.VisualizeText"/>).</summary>
    /// <param name="records">The rows; at least one.</param>
    /// <param name="legend">Whether to draw the legend.</param>
    /// <returns>This report.</returns>
    public HtmlReport AddText(IEnumerable<VisualizationDataRecord> records, bool legend = true)
    {
        _parts.Add("<section class=\"captum-section\">" + TextVisualizer.VisualizeText(records, legend) + "</section>");
        return this;
    }

    /// <summary>Adds a figure as inline SVG, with an optional caption (escaped).</summary>
    /// <param name="figure">The figure: a <see cref="VisualizationFigure"/>, an <see cref="SvgChart"/> of <see cref="TokenAttributionPlots"/>, or any <see cref="ISvgFigure"/>.</param>
    /// <param name="caption">The caption, or null.</param>
    /// <returns>This report.</returns>
    public HtmlReport AddFigure(ISvgFigure figure, string? caption = null)
    {
        ArgumentNullException.ThrowIfNull(figure);
        var sb = new StringBuilder("<figure class=\"captum-figure\">");
        sb.Append(figure.ToSvg());
        if (!string.IsNullOrEmpty(caption))
        {
            sb.Append("<figcaption>").Append(Markup.Escape(caption)).Append("</figcaption>");
        }

        sb.Append("</figure>");
        _parts.Add(sb.ToString());
        return this;
    }

    /// <summary>
    /// Adds markup as given, not escaped. Only for trusted HTML; to keep the document well-formed XML it must be
    /// well-formed itself.
    /// </summary>
    /// <param name="html">The markup.</param>
    /// <returns>This report.</returns>
    public HtmlReport AddRawHtml(string html)
    {
        ArgumentNullException.ThrowIfNull(html);
        _parts.Add(html);
        return this;
    }

    /// <summary>The HTML5 document.</summary>
    /// <returns>The document text.</returns>
    public string ToHtml()
    {
        var sb = new StringBuilder();
        sb.Append(DocumentStart).Append("<head>\n<meta charset=\"utf-8\" />\n<title>")
          .Append(Markup.Escape(Title))
          .Append("</title>\n<style>\n")
          .Append("body { font-family: DejaVu Sans, Helvetica, Arial, sans-serif; margin: 1.5em; color: #222; }\n")
          .Append("table { border-collapse: collapse; margin: 0.5em 0; }\n")
          .Append("th { text-align: left; padding: 4px 8px; border-bottom: 1px solid #888; }\n")
          .Append("td { padding: 4px 8px; vertical-align: top; }\n")
          .Append("figure.captum-figure { margin: 1em 0; }\n")
          .Append("figure.captum-figure svg { max-width: 100%; height: auto; }\n")
          .Append("figcaption { font-size: 0.9em; color: #555; }\n")
          .Append("</style>\n</head>\n<body>\n<h1>")
          .Append(Markup.Escape(Title))
          .Append("</h1>\n");
        foreach (var part in _parts)
        {
            sb.Append(part).Append('\n');
        }

        sb.Append(DocumentEnd);
        return sb.ToString();
    }

    /// <summary>How long <see cref="AppendTo(string)"/> waits for another program or thread adding to the same report: 30 seconds.</summary>
    public static readonly TimeSpan DefaultAppendWait = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Adds this report at the end of a report already on disk, one written by <see cref="Save"/> (of any CaptumSharp
    /// command or program): a section with <see cref="Title"/> as a level-2 heading and this report's parts, before
    /// the closing tags. The file is replaced at once (written beside it, flushed, then renamed), so a failure or a
    /// crash leaves it as it was. Programs and threads appending to one report at the same time take turns, each
    /// section kept: an exclusive lock on <c><paramref name="path"/>.lock</c> beside it is held from reading the report
    /// to the rename, waited for at most <see cref="DefaultAppendWait"/>. The lock dies with the process that holds it
    /// (on Linux and macOS it is <c>flock</c>'s), so the empty lock file that stays needs no deleting, also after a crash.
    /// </summary>
    /// <param name="path">The existing report.</param>
    /// <exception cref="ArgumentException">The file does not exist or was not written by <see cref="Save"/>; the message names <paramref name="path"/>.</exception>
    /// <exception cref="IOException">Another program or thread held the lock for all of <see cref="DefaultAppendWait"/>; the message names <paramref name="path"/> and the lock file.</exception>
    public void AppendTo(string path) => AppendTo(path, DefaultAppendWait);

    /// <summary>
    /// <see cref="AppendTo(string)"/>, waiting at most <paramref name="wait"/> for another program or thread adding to
    /// the same report.
    /// </summary>
    /// <param name="path">The existing report.</param>
    /// <param name="wait">How long to wait for the lock; <see cref="TimeSpan.Zero"/> tries once.</param>
    /// <exception cref="ArgumentException">The file does not exist or was not written by <see cref="Save"/>; the message names <paramref name="path"/>.</exception>
    /// <exception cref="IOException">Another program or thread held the lock for all of <paramref name="wait"/>; the message names <paramref name="path"/> and the lock file.</exception>
    public void AppendTo(string path, TimeSpan wait)
    {
        // Checked before the lock file is made beside it: a mistyped path leaves nothing behind.
        ReadAppendable(path);

        // A report reached through a symbolic link is locked and replaced where it lies: every spelling of its path takes
        // one lock, and the link stays a link.
        var report = FilePaths.Canonical(path);
        using var held = FileLock.Acquire(LockFile(report), wait, path);

        // Read again under the lock: the section another appender added meanwhile is kept.
        var existing = ReadAppendable(report);
        var sb = new StringBuilder(existing, 0, existing.Length - DocumentEnd.Length, existing.Length + 4096);
        sb.Append("<section class=\"captum-appended\">\n<h2>").Append(Markup.Escape(Title)).Append("</h2>\n");
        foreach (var part in _parts)
        {
            sb.Append(part).Append('\n');
        }

        sb.Append("</section>\n").Append(DocumentEnd);
        AtomicFile.WriteAllText(report, sb.ToString());
    }

    /// <summary>The lock file <see cref="AppendTo(string, TimeSpan)"/> holds while it adds to <paramref name="path"/>: <c>path.lock</c>.</summary>
    /// <param name="path">The report.</param>
    /// <returns>The lock file's path.</returns>
    public static string LockFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return path + ".lock";
    }

    /// <summary>
    /// Checks, before any work, that <see cref="AppendTo(string)"/> can add to <paramref name="path"/>: the file exists and was
    /// written by <see cref="Save"/>.
    /// </summary>
    /// <exception cref="ArgumentException">It cannot; the message names <paramref name="path"/>.</exception>
    public static void CheckAppendable(string path) => ReadAppendable(path);

    private const string DocumentStart = "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n";

    private const string DocumentEnd = "</body>\n</html>\n";

    private static string ReadAppendable(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new ArgumentException($"path: no report at {path}; it must be a report.html that CaptumSharp wrote.", nameof(path));
        }

        // Shared for writing and deleting: a reader outside the lock must not keep the lock's holder from replacing the
        // file (Windows refuses to rename over a file open without delete sharing).
        string text;
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
        using (var reader = new StreamReader(stream, Encoding.UTF8))
        {
            text = reader.ReadToEnd();
        }

        return text.StartsWith(DocumentStart, StringComparison.Ordinal) && text.EndsWith(DocumentEnd, StringComparison.Ordinal)
            ? text
            : throw new ArgumentException($"path: {path} is not a report that CaptumSharp wrote (HtmlReport.Save); nothing can be added to it.", nameof(path));
    }

    /// <summary>Writes <see cref="ToHtml"/> to a file (UTF-8).</summary>
    /// <param name="path">The file path, usually ending in .html.</param>
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        File.WriteAllText(path, ToHtml(), new UTF8Encoding(false));
    }
}
