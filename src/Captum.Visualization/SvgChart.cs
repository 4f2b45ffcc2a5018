using System.Text;

namespace Captum.Visualization;

/// <summary>Anything drawn as one standalone SVG document, which <see cref="HtmlReport.AddFigure"/> inlines.</summary>
public interface ISvgFigure
{
    /// <summary>The figure as a standalone SVG document (no XML declaration).</summary>
    /// <returns>The SVG markup.</returns>
    string ToSvg();
}

/// <summary>
/// A chart drawn entirely in SVG shapes and text (no bitmap): the token heat map and sequence bar chart of
/// <see cref="TokenAttributionPlots"/>. Immutable; a managed object with nothing to dispose.
/// </summary>
public sealed class SvgChart : ISvgFigure
{
    private readonly string _svg;

    internal SvgChart(string svg, double pixelWidth, double pixelHeight)
    {
        _svg = svg;
        PixelWidth = pixelWidth;
        PixelHeight = pixelHeight;
    }

    /// <summary>The width in pixels.</summary>
    public double PixelWidth { get; }

    /// <summary>The height in pixels.</summary>
    public double PixelHeight { get; }

    /// <inheritdoc />
    public string ToSvg() => _svg;

    /// <summary>The chart as an HTML fragment: the inline SVG in <c>&lt;figure class="captum-figure"&gt;</c>.</summary>
    /// <returns>The HTML fragment.</returns>
    public string ToHtml() => "<figure class=\"captum-figure\">" + _svg + "</figure>";

    /// <summary>Writes <see cref="ToSvg"/> to a file (UTF-8).</summary>
    /// <param name="path">The file path, usually ending in .svg.</param>
    public void SaveSvg(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        File.WriteAllText(path, _svg, new UTF8Encoding(false));
    }
}
