using System.Globalization;
using System.Text;

namespace Captum.Visualization;

/// <summary>A figure's size in inches, as matplotlib's <c>figsize</c>; figures are laid out at 100 pixels an inch.</summary>
/// <param name="Width">Width in inches, positive.</param>
/// <param name="Height">Height in inches, positive.</param>
public readonly record struct FigureSize(double Width, double Height)
{
    /// <summary>(6, 6): Captum's default for <c>visualize_image_attr</c>.</summary>
    public static FigureSize Single => new(6, 6);

    /// <summary>(8, 6): Captum's default for <c>visualize_image_attr_multiple</c>.</summary>
    public static FigureSize Multiple => new(8, 6);

    internal void Validate(string paramName)
    {
        if (!(Width > 0 && Height > 0 && double.IsFinite(Width) && double.IsFinite(Height)))
        {
            throw new ArgumentOutOfRangeException(paramName, this, "A figure size needs a positive, finite width and height.");
        }
    }
}

/// <summary>A horizontal colour bar under a panel: the colour map from <see cref="VMin"/> to <see cref="VMax"/>.</summary>
/// <param name="ColorMap">The panel's colour map.</param>
/// <param name="VMin">The value at the left end.</param>
/// <param name="VMax">The value at the right end.</param>
/// <param name="Alpha">The opacity of the bar's colours (the heat map's alpha for the blended heat map), 0 to 1.</param>
public sealed record ColorBar(ColorMap ColorMap, double VMin, double VMax, double Alpha = 1.0);

/// <summary>
/// One panel (matplotlib axes) of a <see cref="VisualizationFigure"/>: a bitmap, an optional title and an optional colour bar.
/// </summary>
public sealed class FigurePanel
{
    internal FigurePanel(VisualizationFigure figure, int index)
    {
        Figure = figure;
        Index = index;
    }

    /// <summary>The figure the panel belongs to.</summary>
    public VisualizationFigure Figure { get; }

    /// <summary>The panel's position, left to right, from 0.</summary>
    public int Index { get; }

    /// <summary>The title drawn above the bitmap as SVG text, or null.</summary>
    public string? Title { get; set; }

    /// <summary>The bitmap, drawn with its aspect ratio and without smoothing, or null for an empty panel.</summary>
    public RgbaImage? Image { get; set; }

    /// <summary>The colour bar drawn under the bitmap, or null.</summary>
    public ColorBar? ColorBar { get; set; }

    /// <summary>
    /// Whether the space of a colour bar is kept under the bitmap even without a <see cref="ColorBar"/> (Captum's hidden
    /// colour bar axis with <c>show_colorbar=True</c> for methods without a heat map, which keeps panels aligned).
    /// </summary>
    public bool ReserveColorBarSpace { get; set; }

    /// <summary>Removes the bitmap, title and colour bar.</summary>
    public void Clear()
    {
        Title = null;
        Image = null;
        ColorBar = null;
        ReserveColorBarSpace = false;
    }
}

/// <summary>
/// A figure of panels in one row (matplotlib's <c>Figure</c> with <c>subplots(1, k)</c>), written as SVG: each panel an
/// embedded PNG, titles and colour bar tick labels as SVG text (no text is drawn into bitmaps).
/// </summary>
/// <remarks>
/// Layout: the figure is <c>Size * Dpi</c> pixels; the width is split evenly between panels; in each, the bitmap is
/// scaled to the largest size that keeps its aspect ratio and leaves room for the title above and, when any panel has
/// or reserves a colour bar, for the bar (5% of the bitmap height, 0.1 inch below it, as Captum's
/// <c>append_axes("bottom", size="5%", pad=0.1)</c>) and its tick labels. Panel bitmaps carry
/// <c>class="captum-panel-image"</c>, colour bar gradients <c>class="captum-colorbar"</c>, titles
/// <c>class="captum-title"</c>.
/// </remarks>
public sealed class VisualizationFigure : ISvgFigure
{
    private const double TitleFontSize = 14;
    private const double TickFontSize = 10;
    private const string FontFamily = "DejaVu Sans, Helvetica, Arial, sans-serif";

    private readonly List<FigurePanel> _panels = [];

    /// <summary>Creates an empty figure.</summary>
    /// <param name="size">The size in inches; default (6, 6).</param>
    /// <param name="dpi">Pixels an inch; default 100 (matplotlib's default).</param>
    public VisualizationFigure(FigureSize? size = null, int dpi = 100)
    {
        var s = size ?? FigureSize.Single;
        s.Validate(nameof(size));
        ArgumentOutOfRangeException.ThrowIfLessThan(dpi, 1);
        Size = s;
        Dpi = dpi;
    }

    /// <summary>The size in inches.</summary>
    public FigureSize Size { get; }

    /// <summary>Pixels an inch.</summary>
    public int Dpi { get; }

    /// <summary>The width in pixels.</summary>
    public double PixelWidth => Size.Width * Dpi;

    /// <summary>The height in pixels.</summary>
    public double PixelHeight => Size.Height * Dpi;

    /// <summary>The panels, left to right.</summary>
    public IReadOnlyList<FigurePanel> Panels => _panels;

    /// <summary>Creates a figure with <paramref name="count"/> empty panels in a row (matplotlib's <c>subplots(1, count)</c>).</summary>
    /// <param name="count">The number of panels, at least 1.</param>
    /// <param name="size">The size in inches; default (8, 6).</param>
    /// <returns>The figure.</returns>
    public static VisualizationFigure Subplots(int count, FigureSize? size = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        var figure = new VisualizationFigure(size ?? FigureSize.Multiple);
        for (var i = 0; i < count; i++)
        {
            figure.AddPanel();
        }

        return figure;
    }

    /// <summary>Adds an empty panel at the right.</summary>
    /// <returns>The panel.</returns>
    public FigurePanel AddPanel()
    {
        var panel = new FigurePanel(this, _panels.Count);
        _panels.Add(panel);
        return panel;
    }

    /// <summary>The figure as a standalone SVG document (no XML declaration; UTF-8 when saved).</summary>
    /// <returns>The SVG markup.</returns>
    public string ToSvg()
    {
        var width = PixelWidth;
        var height = PixelHeight;
        var sb = new StringBuilder();
        sb.Append("<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" version=\"1.1\" class=\"captum-figure\" ")
          .Append("width=\"").Append(Markup.Num(width)).Append("\" height=\"").Append(Markup.Num(height))
          .Append("\" viewBox=\"0 0 ").Append(Markup.Num(width)).Append(' ').Append(Markup.Num(height)).Append("\">");
        sb.Append("<rect x=\"0\" y=\"0\" width=\"").Append(Markup.Num(width)).Append("\" height=\"").Append(Markup.Num(height)).Append("\" fill=\"white\"/>");

        var anyTitle = _panels.Any(p => !string.IsNullOrEmpty(p.Title));
        var anyBar = _panels.Any(p => p.ColorBar is not null || p.ReserveColorBarSpace);
        var count = Math.Max(1, _panels.Count);
        var cellWidth = width / count;
        var margin = Math.Min(8.0, Math.Min(cellWidth, height) / 10);
        var titleHeight = anyTitle ? TitleFontSize * 1.8 : 0;
        var barPad = 0.1 * Dpi;
        var barLabels = anyBar ? 4 + TickFontSize + 6 : 0;

        foreach (var panel in _panels)
        {
            var cellX = panel.Index * cellWidth;
            sb.Append("<g class=\"captum-panel\" data-index=\"").Append(panel.Index.ToString(CultureInfo.InvariantCulture)).Append("\">");
            var aspect = panel.Image is { } img ? img.Width / (double)img.Height : 1.0;
            var availWidth = Math.Max(1, cellWidth - (2 * margin));
            var availHeight = Math.Max(1, height - (2 * margin) - titleHeight - (anyBar ? barPad + barLabels : 0));
            var maxImageHeight = availHeight / (anyBar ? 1.05 : 1.0);
            var imageHeight = Math.Min(maxImageHeight, availWidth / aspect);
            var imageWidth = imageHeight * aspect;
            var barHeight = anyBar ? Math.Max(2, 0.05 * imageHeight) : 0;
            var blockHeight = titleHeight + imageHeight + (anyBar ? barPad + barHeight + barLabels : 0);
            var top = Math.Max(margin, (height - blockHeight) / 2);
            var x = cellX + ((cellWidth - imageWidth) / 2);
            var imageTop = top + titleHeight;

            if (!string.IsNullOrEmpty(panel.Title))
            {
                sb.Append("<text class=\"captum-title\" x=\"").Append(Markup.Num(cellX + (cellWidth / 2)))
                  .Append("\" y=\"").Append(Markup.Num(imageTop - (TitleFontSize * 0.6)))
                  .Append("\" text-anchor=\"middle\" font-family=\"").Append(FontFamily)
                  .Append("\" font-size=\"").Append(Markup.Num(TitleFontSize)).Append("\">")
                  .Append(Markup.Escape(panel.Title)).Append("</text>");
            }

            if (panel.Image is { } image)
            {
                sb.Append("<image class=\"captum-panel-image\" x=\"").Append(Markup.Num(x))
                  .Append("\" y=\"").Append(Markup.Num(imageTop))
                  .Append("\" width=\"").Append(Markup.Num(imageWidth))
                  .Append("\" height=\"").Append(Markup.Num(imageHeight))
                  .Append("\" preserveAspectRatio=\"none\" style=\"image-rendering: pixelated\" xlink:href=\"")
                  .Append(image.ToDataUri()).Append("\"/>");
                sb.Append("<rect x=\"").Append(Markup.Num(x)).Append("\" y=\"").Append(Markup.Num(imageTop))
                  .Append("\" width=\"").Append(Markup.Num(imageWidth)).Append("\" height=\"").Append(Markup.Num(imageHeight))
                  .Append("\" fill=\"none\" stroke=\"black\" stroke-width=\"0.8\"/>");
            }

            if (panel.ColorBar is { } bar)
            {
                AppendColorBar(sb, bar, x, imageTop + imageHeight + barPad, imageWidth, barHeight);
            }

            sb.Append("</g>");
        }

        sb.Append("</svg>");
        return sb.ToString();
    }

    /// <summary>The figure as an HTML fragment: the inline SVG in <c>&lt;figure class="captum-figure"&gt;</c>.</summary>
    /// <returns>The HTML fragment.</returns>
    public string ToHtml() => "<figure class=\"captum-figure\">" + ToSvg() + "</figure>";

    /// <summary>Writes <see cref="ToSvg"/> to a file (UTF-8).</summary>
    /// <param name="path">The file path, usually ending in .svg.</param>
    public void SaveSvg(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        File.WriteAllText(path, ToSvg(), new UTF8Encoding(false));
    }

    /// <summary>The tick positions and labels of a colour bar from vmin to vmax that fits a bar of the given width.</summary>
    internal static IReadOnlyList<(double Value, string Label)> Ticks(double vmin, double vmax, double barWidth)
    {
        if (!(vmax > vmin) || !double.IsFinite(vmin) || !double.IsFinite(vmax))
        {
            return [(vmin, FormatTick(vmin, 0))];
        }

        // The smallest "nice" step (1, 2, 2.5 or 5 times a power of ten) whose labels fit side by side.
        var baseExponent = (int)Math.Floor(Math.Log10(vmax - vmin)) - 2;
        for (var e = baseExponent; e <= baseExponent + 3; e++)
        {
            foreach (var m in new[] { 1.0, 2.0, 2.5, 5.0 })
            {
                var step = m * Math.Pow(10, e);
                var decimals = Math.Max(0, -e + (m == 2.5 ? 1 : 0));
                var first = Math.Ceiling((vmin / step) - 1e-9);
                var last = Math.Floor((vmax / step) + 1e-9);
                var n = (int)(last - first) + 1;
                if (n > 9)
                {
                    continue;
                }

                var ticks = Enumerable.Range(0, n).Select(i => (first + i) * step).Select(v => (v, FormatTick(v, decimals))).ToList();
                var widest = ticks.Max(t => LabelWidth(t.Item2));
                if (n == 1 || barWidth / (n - 1) >= widest + 12)
                {
                    return ticks;
                }
            }
        }

        // Too narrow for nice steps: the two ends if their labels fit inside the bar, else one label, so labels never
        // run into each other or into the next panel's.
        var ends = new List<(double Value, string Label)> { (vmin, FormatTick(vmin, 2)), (vmax, FormatTick(vmax, 2)) };
        if (LabelWidth(ends[0].Label) + LabelWidth(ends[1].Label) + 6 <= barWidth)
        {
            return ends;
        }

        return vmin < 0 && vmax > 0 ? [(0.0, FormatTick(0, 0))] : [ends[1]];
    }

    /// <summary>The width a tick label takes, estimated from its length (the SVG is not measured).</summary>
    private static double LabelWidth(string label) => label.Length * TickFontSize * 0.62;

    private static string FormatTick(double value, int decimals)
    {
        var rounded = Math.Round(value, decimals);
        if (rounded == 0)
        {
            rounded = 0; // no "-0"
        }

        var text = rounded.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

        // matplotlib writes negative tick labels with a Unicode minus sign.
        return text.StartsWith('-') ? "\u2212" + text[1..] : text;
    }

    private static void AppendColorBar(StringBuilder sb, ColorBar bar, double x, double y, double width, double height)
    {
        var map = bar.ColorMap;
        var gradient = new RgbaImage(map.N, 1);
        var alpha = Math.Clamp(bar.Alpha, 0, 1);
        for (var i = 0; i < map.N; i++)
        {
            var c = map[i];
            gradient[i, 0] = (c with { A = c.A * alpha }).ToPixel();
        }

        sb.Append("<image class=\"captum-colorbar\" x=\"").Append(Markup.Num(x)).Append("\" y=\"").Append(Markup.Num(y))
          .Append("\" width=\"").Append(Markup.Num(width)).Append("\" height=\"").Append(Markup.Num(height))
          .Append("\" preserveAspectRatio=\"none\" style=\"image-rendering: pixelated\" xlink:href=\"")
          .Append(gradient.ToDataUri()).Append("\"/>");
        sb.Append("<rect x=\"").Append(Markup.Num(x)).Append("\" y=\"").Append(Markup.Num(y))
          .Append("\" width=\"").Append(Markup.Num(width)).Append("\" height=\"").Append(Markup.Num(height))
          .Append("\" fill=\"none\" stroke=\"black\" stroke-width=\"0.8\"/>");
        foreach (var (value, label) in Ticks(bar.VMin, bar.VMax, width))
        {
            var tx = bar.VMax > bar.VMin ? x + (width * (value - bar.VMin) / (bar.VMax - bar.VMin)) : x;

            // A label is kept over its bar (an end label centred on the end would reach into the next panel's).
            var half = LabelWidth(label) / 2;
            var labelX = width >= 2 * half ? Math.Clamp(tx, x + half, x + width - half) : x + (width / 2);
            sb.Append("<line x1=\"").Append(Markup.Num(tx)).Append("\" y1=\"").Append(Markup.Num(y + height))
              .Append("\" x2=\"").Append(Markup.Num(tx)).Append("\" y2=\"").Append(Markup.Num(y + height + 3.5))
              .Append("\" stroke=\"black\" stroke-width=\"0.8\"/>");
            sb.Append("<text class=\"captum-colorbar-tick\" x=\"").Append(Markup.Num(labelX)).Append("\" y=\"")
              .Append(Markup.Num(y + height + 4 + TickFontSize)).Append("\" text-anchor=\"middle\" font-family=\"")
              .Append(FontFamily).Append("\" font-size=\"").Append(Markup.Num(TickFontSize)).Append("\">")
              .Append(Markup.Escape(label)).Append("</text>");
        }
    }
}
