using System.Globalization;
using System.Text;

namespace Captum.Visualization;

/// <summary>
/// A column of per-row numbers drawn beside <see cref="TokenAttributionPlots.TokenHeatMap"/>'s cells, or in the table
/// under <see cref="TokenAttributionPlots.SequenceBarChart"/> (the step scores of an LLM attribution: each answer
/// token's probability, the entropy of the next-token distribution).
/// </summary>
/// <param name="Header">The column's heading (escaped when drawn).</param>
/// <param name="Values">One value per heat map row; NaN and infinities are written as such on grey.</param>
/// <param name="Max">The value drawn with the darkest shade (0 is white); null: the column's largest finite value.</param>
public sealed record ScoreColumn(string Header, IReadOnlyList<double> Values, double? Max = null);

/// <summary>
/// The two plots Captum draws for an LLM attribution result, as SVG from plain data: the token heat map (answer
/// tokens by input features) and the sequence bar chart (one bar per input feature).
/// </summary>
/// <remarks>
/// <para>Python: <c>LLMAttributionResult.plot_token_attr</c> and <c>plot_seq_attr</c> (captum.attr._core.llm_attr).
/// This library does not reference Captum.Attr: give the tokens and values, or call the extensions on
/// <c>LLMAttributionResult</c> in Captum.Explain (<c>PlotTokenAttribution</c>, <c>PlotSequenceAttribution</c>).</para>
/// <para>Element classes, for styling and tests: heat map cells <c>captum-cell</c> (with <c>data-row</c>,
/// <c>data-col</c>, <c>data-value</c>; <c>captum-cell-nan</c> too for a non-finite value) and their texts
/// <c>captum-cell-value</c>; score cells <c>captum-score-cell</c>, headers <c>captum-score-header</c>; bars
/// <c>captum-bar</c> with <c>captum-bar-positive</c> or <c>captum-bar-negative</c> (and <c>data-index</c>,
/// <c>data-value</c>), a non-finite value's marker <c>captum-bar-nan</c>; labels <c>captum-input-token</c> and
/// <c>captum-output-token</c> (the score table's rows under the bar chart too); the colour bar <c>captum-colorbar</c>.</para>
/// </remarks>
public static class TokenAttributionPlots
{
    /// <summary>The longest label drawn; longer ones are shortened with "...", as Captum's <c>textwrap.shorten(t, width=50)</c>.</summary>
    public const int MaxLabelLength = 50;

    /// <summary>Captum's colour for positive bars.</summary>
    public const string PositiveColor = "#4772b3";

    /// <summary>Captum's colour for negative bars.</summary>
    public const string NegativeColor = "#d0365b";

    private const double FontSize = 10;
    private const double CharWidth = 0.62 * FontSize;
    private const double CellHeight = 26;
    private const double Margin = 10;
    private const string FontFamily = "DejaVu Sans, Helvetica, Arial, sans-serif";
    private const string NonFiniteFill = "#d9d9d9";
    private static readonly double Sin30 = Math.Sin(Math.PI / 6);

    /// <summary>The heat map's diverging colour map: Captum's nine colours from dark red (most negative) through white to dark blue (0 falls on lookup entry 128 of 256, a hair past the white stop, as in matplotlib).</summary>
    public static ColorMap Diverging { get; } = ColorMap.FromList(
        "captum-llm", ["#93003a", "#d0365b", "#f57789", "#ffbdc3", "#ffffff", "#a4d6e1", "#73a3ca", "#4772b3", "#00429d"]);

    /// <summary>
    /// The token heat map: one row per output (answer) token, one column per input feature, each cell coloured by its
    /// attribution on <see cref="Diverging"/> from −m to m (m the largest finite magnitude, so 0 is always the white middle) and
    /// its value written in it to four decimals, with a vertical colour bar "Token Attribution" at the right.
    /// </summary>
    /// <param name="inputTokens">The input features' labels (columns), drawn above the cells.</param>
    /// <param name="outputTokens">The output tokens' labels (rows), drawn at the left.</param>
    /// <param name="attributions">[output tokens, input features] values. A NaN cell is grey with "NaN"; an infinite one takes the end colour of its sign and reads "inf" or "-inf"; neither sets the scale.</param>
    /// <param name="scores">Columns of per-row numbers drawn right of the cells (the step scores), or null.</param>
    /// <param name="title">A title above the plot, or null.</param>
    /// <returns>The chart.</returns>
    /// <exception cref="ArgumentException">The labels do not match the array's shape, the array is empty, or a score column has another length; the message names the argument.</exception>
    /// <remarks>Python: <c>LLMAttributionResult.plot_token_attr()</c>. Text in a cell is black where the cell's normalised
    /// value is within (0.2, 0.8), white elsewhere, as Captum's. All-zero attributions are drawn in the white middle (Captum's
    /// matplotlib normalisation with vmin = vmax draws them in the darkest red).</remarks>
    public static SvgChart TokenHeatMap(IReadOnlyList<string> inputTokens, IReadOnlyList<string> outputTokens, float[,] attributions, IReadOnlyList<ScoreColumn>? scores = null, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(inputTokens);
        ArgumentNullException.ThrowIfNull(outputTokens);
        ArgumentNullException.ThrowIfNull(attributions);
        var (rows, cols) = (attributions.GetLength(0), attributions.GetLength(1));
        if (rows == 0 || cols == 0)
        {
            throw new ArgumentException("attributions must have at least one row and one column.", nameof(attributions));
        }

        RequireLabels(inputTokens, cols, nameof(inputTokens), "columns");
        RequireLabels(outputTokens, rows, nameof(outputTokens), "rows");
        scores ??= [];
        RequireScoreColumns(scores, rows);

        var maxAbs = 0.0;
        foreach (var v in attributions)
        {
            if (float.IsFinite(v))
            {
                maxAbs = Math.Max(maxAbs, Math.Abs(v));
            }
        }

        var inputs = inputTokens.Select(Shorten).ToList();
        var outputs = outputTokens.Select(Shorten).ToList();
        var cellWidth = Math.Max(60, (FormatValue(-maxAbs).Length * CharWidth) + 12);
        var titleHeight = string.IsNullOrEmpty(title) ? 0 : 24;
        var top = Margin + titleHeight + (LongestLabel(inputs) * Sin30) + FontSize + 8;
        var left = Margin + LongestLabel(outputs) + 8;
        var scoreWidth = ScoreColumnWidth(scores);
        var scoresLeft = left + (cols * cellWidth) + (scores.Count > 0 ? 12 : 0);
        var barLeft = scoresLeft + (scores.Count * scoreWidth) + 20;
        var plotHeight = rows * CellHeight;
        var barHeight = Math.Max(plotHeight, 120);
        var width = barLeft + 14 + 50 + 20 + Margin;
        var height = top + barHeight + Margin;

        var sb = new StringBuilder();
        OpenSvg(sb, width, height, "captum-token-heatmap");
        AppendTitle(sb, title, width);

        for (var j = 0; j < cols; j++)
        {
            AppendSlantedLabel(sb, inputs[j], left + ((j + 0.5) * cellWidth), top - 6);
        }

        for (var i = 0; i < rows; i++)
        {
            var y = top + (i * CellHeight);
            AppendRowLabel(sb, outputs[i], left, y);
            for (var j = 0; j < cols; j++)
            {
                AppendCell(sb, attributions[i, j], maxAbs, i, j, left + (j * cellWidth), y, cellWidth);
            }
        }

        sb.Append("<rect x=\"").Append(Markup.Num(left)).Append("\" y=\"").Append(Markup.Num(top)).Append("\" width=\"").Append(Markup.Num(cols * cellWidth))
          .Append("\" height=\"").Append(Markup.Num(plotHeight)).Append("\" fill=\"none\" stroke=\"black\" stroke-width=\"0.8\"/>");

        for (var k = 0; k < scores.Count; k++)
        {
            AppendScoreColumn(sb, scores[k], scoresLeft + (k * scoreWidth), top, scoreWidth);
        }

        AppendVerticalColorBar(sb, barLeft, top, barHeight, maxAbs);
        sb.Append("</svg>");
        return new SvgChart(sb.ToString(), width, height);
    }

    /// <summary>
    /// The sequence bar chart: one bar per input feature, its attribution towards the whole answer, positive bars in
    /// <see cref="PositiveColor"/> and negative ones in <see cref="NegativeColor"/>, labels above, a value axis at the left.
    /// </summary>
    /// <param name="inputTokens">The input features' labels.</param>
    /// <param name="attributions">One value per feature. A NaN or infinite value draws no bar but a marker ("NaN", "inf", "-inf") on the zero line and does not set the scale.</param>
    /// <param name="title">A title above the plot, or null.</param>
    /// <param name="outputTokens">The output (answer) tokens' labels, the rows of <paramref name="scores"/>; needed with scores.</param>
    /// <param name="scores">Columns of per-output-token numbers (the step scores) drawn as a table under the bars, one row per output token, or null.</param>
    /// <returns>The chart.</returns>
    /// <exception cref="ArgumentException">The labels and values differ in number, or there are none, or a score column's length differs from the output tokens'; the message names the argument.</exception>
    /// <remarks>Python: <c>LLMAttributionResult.plot_seq_attr()</c>; the score table is beyond Captum (the step scores the
    /// token heat map draws beside its rows, for results that have no token attribution to draw).</remarks>
    public static SvgChart SequenceBarChart(
        IReadOnlyList<string> inputTokens,
        IReadOnlyList<float> attributions,
        string? title = null,
        IReadOnlyList<string>? outputTokens = null,
        IReadOnlyList<ScoreColumn>? scores = null)
    {
        ArgumentNullException.ThrowIfNull(inputTokens);
        ArgumentNullException.ThrowIfNull(attributions);
        if (attributions.Count == 0)
        {
            throw new ArgumentException("attributions must have at least one value.", nameof(attributions));
        }

        RequireLabels(inputTokens, attributions.Count, nameof(inputTokens), "values");
        scores ??= [];
        if (scores.Count > 0)
        {
            if (outputTokens is null)
            {
                throw new ArgumentException("outputTokens: give the output tokens, the rows of the score columns.", nameof(outputTokens));
            }

            RequireLabels(outputTokens, outputTokens.Count, nameof(outputTokens), "rows");
            RequireScoreColumns(scores, outputTokens.Count);
        }
        var finite = attributions.Where(float.IsFinite).Select(v => (double)v).ToList();
        var lo = Math.Min(0, finite.DefaultIfEmpty(0).Min());
        var hi = Math.Max(0, finite.DefaultIfEmpty(0).Max());
        if (hi == lo)
        {
            hi = 1;
        }

        var pad = 0.05 * (hi - lo);
        (lo, hi) = (lo < 0 ? lo - pad : lo, hi > 0 ? hi + pad : hi);
        var labels = inputTokens.Select(Shorten).ToList();
        var slot = 36.0;
        var plotHeight = 240.0;
        var titleHeight = string.IsNullOrEmpty(title) ? 0 : 24;
        var top = Margin + titleHeight + (LongestLabel(labels) * Sin30) + FontSize + 8;
        var left = Margin + FontSize + 8 + 60;
        var width = left + (attributions.Count * slot) + Margin;
        var height = top + plotHeight + Margin;
        double Y(double v) => top + (plotHeight * (hi - v) / (hi - lo));

        // The score table under the plot: output tokens at the left, one column per score, headers above.
        List<string> rows = scores.Count > 0 ? outputTokens!.Select(Shorten).ToList() : [];
        var scoreWidth = ScoreColumnWidth(scores);
        var tableTop = top + plotHeight + 32 + FontSize;
        var tableLeft = Margin + LongestLabel(rows) + 8;
        if (scores.Count > 0)
        {
            width = Math.Max(width, tableLeft + (scores.Count * scoreWidth) + Margin);
            height = tableTop + (rows.Count * CellHeight) + Margin;
        }

        var sb = new StringBuilder();
        OpenSvg(sb, width, height, "captum-sequence-barchart");
        AppendTitle(sb, title, width);
        for (var i = 0; i < attributions.Count; i++)
        {
            var cx = left + ((i + 0.5) * slot);
            AppendSlantedLabel(sb, labels[i], cx, top - 6);
            var v = attributions[i];
            if (!float.IsFinite(v))
            {
                sb.Append("<text class=\"captum-bar-nan\" data-index=\"").Append(Int(i)).Append("\" x=\"").Append(Markup.Num(cx)).Append("\" y=\"").Append(Markup.Num(Y(0) - 3))
                  .Append("\" text-anchor=\"middle\"").Append(Font()).Append('>').Append(FormatValue(v)).Append("</text>");
                continue;
            }

            var (y0, y1) = (Math.Min(Y(0), Y(v)), Math.Max(Y(0), Y(v)));
            var sign = v >= 0 ? "positive" : "negative";
            sb.Append("<rect class=\"captum-bar captum-bar-").Append(sign).Append("\" data-index=\"").Append(Int(i)).Append("\" data-value=\"").Append(Data(v))
              .Append("\" x=\"").Append(Markup.Num(cx - (slot * 0.4))).Append("\" y=\"").Append(Markup.Num(y0)).Append("\" width=\"").Append(Markup.Num(slot * 0.8))
              .Append("\" height=\"").Append(Markup.Num(y1 - y0)).Append("\" fill=\"").Append(v >= 0 ? PositiveColor : NegativeColor).Append("\"/>");
        }

        // The frame, the zero line and the value axis with its ticks.
        sb.Append("<rect x=\"").Append(Markup.Num(left)).Append("\" y=\"").Append(Markup.Num(top)).Append("\" width=\"").Append(Markup.Num(attributions.Count * slot))
          .Append("\" height=\"").Append(Markup.Num(plotHeight)).Append("\" fill=\"none\" stroke=\"black\" stroke-width=\"0.8\"/>");
        sb.Append("<line x1=\"").Append(Markup.Num(left)).Append("\" y1=\"").Append(Markup.Num(Y(0))).Append("\" x2=\"").Append(Markup.Num(left + (attributions.Count * slot)))
          .Append("\" y2=\"").Append(Markup.Num(Y(0))).Append("\" stroke=\"black\" stroke-width=\"0.6\"/>");
        foreach (var (value, label) in VisualizationFigure.Ticks(lo, hi, plotHeight * 3))
        {
            AppendTick(sb, left, Y(value), label, leftSide: true);
        }

        sb.Append("<text class=\"captum-axis-label\" transform=\"translate(").Append(Markup.Num(Margin + FontSize)).Append(' ').Append(Markup.Num(top + (plotHeight / 2)))
          .Append(") rotate(-90)\" text-anchor=\"middle\"").Append(Font()).Append(">Sequence Attribution</text>");
        for (var i = 0; i < rows.Count; i++)
        {
            AppendRowLabel(sb, rows[i], tableLeft, tableTop + (i * CellHeight));
        }

        for (var k = 0; k < scores.Count; k++)
        {
            AppendScoreColumn(sb, scores[k], tableLeft + (k * scoreWidth), tableTop, scoreWidth);
        }

        sb.Append("</svg>");
        return new SvgChart(sb.ToString(), width, height);
    }

    /// <summary>A label as drawn: whitespace runs collapsed to one space, at most <see cref="MaxLabelLength"/> characters (whole words, then "...").</summary>
    /// <param name="label">The label.</param>
    /// <returns>The shortened label.</returns>
    /// <remarks>Python's <c>textwrap.shorten(label, width=50, placeholder="...")</c>, except that a first word longer than
    /// the width is cut to fit instead of leaving only "...".</remarks>
    public static string Shorten(string label)
    {
        ArgumentNullException.ThrowIfNull(label);
        var words = label.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        var collapsed = string.Join(' ', words);
        if (collapsed.Length <= MaxLabelLength)
        {
            return collapsed;
        }

        var kept = new StringBuilder();
        foreach (var word in words)
        {
            var next = kept.Length == 0 ? word.Length : kept.Length + 1 + word.Length;
            if (next + 3 > MaxLabelLength)
            {
                break;
            }

            (kept.Length == 0 ? kept : kept.Append(' ')).Append(word);
        }

        return (kept.Length > 0 ? kept.ToString() : collapsed[..(MaxLabelLength - 3)]) + "...";
    }

    private static void RequireLabels(IReadOnlyList<string> labels, int count, string name, string what)
    {
        if (labels.Count != count || labels.Any(l => l is null))
        {
            throw new ArgumentException($"{name} has {labels.Count} labels for {count} {what}; give one non-null label each.", name);
        }
    }

    private static void RequireScoreColumns(IReadOnlyList<ScoreColumn> scores, int rows)
    {
        foreach (var column in scores)
        {
            if (column is null || column.Header is null || column.Values is null || column.Values.Count != rows)
            {
                throw new ArgumentException($"scores: every column needs a header and one value per row ({rows}).", nameof(scores));
            }
        }
    }

    private static double ScoreColumnWidth(IReadOnlyList<ScoreColumn> scores) =>
        Math.Max(60, scores.Select(s => (s.Header.Length * CharWidth) + 12).DefaultIfEmpty(0).Max());

    /// <summary>An output token's label, right-aligned just left of <paramref name="left"/>, centred on the row that starts at <paramref name="y"/>.</summary>
    private static void AppendRowLabel(StringBuilder sb, string label, double left, double y) =>
        sb.Append("<text class=\"captum-output-token\" x=\"").Append(Markup.Num(left - 6)).Append("\" y=\"").Append(Markup.Num(y + (CellHeight / 2) + (FontSize * 0.35)))
          .Append("\" text-anchor=\"end\"").Append(Font()).Append('>').Append(Markup.Escape(label)).Append("</text>");

    private static void AppendCell(StringBuilder sb, float value, double maxAbs, int row, int col, double x, double y, double width)
    {
        string fill;
        string textColor;
        var nonFinite = !float.IsFinite(value);
        if (float.IsNaN(value))
        {
            (fill, textColor) = (NonFiniteFill, "black");
        }
        else
        {
            var normalized = maxAbs > 0 ? Math.Clamp((value + maxAbs) / (2 * maxAbs), 0, 1) : 0.5;
            fill = Diverging.Map(normalized).ToHex();
            textColor = normalized is > 0.2 and < 0.8 ? "black" : "white";
        }

        sb.Append("<rect class=\"captum-cell").Append(nonFinite ? " captum-cell-nan" : string.Empty).Append("\" data-row=\"").Append(Int(row)).Append("\" data-col=\"").Append(Int(col))
          .Append("\" data-value=\"").Append(Data(value)).Append("\" x=\"").Append(Markup.Num(x)).Append("\" y=\"").Append(Markup.Num(y))
          .Append("\" width=\"").Append(Markup.Num(width)).Append("\" height=\"").Append(Markup.Num(CellHeight)).Append("\" fill=\"").Append(fill).Append("\"/>");
        sb.Append("<text class=\"captum-cell-value\" x=\"").Append(Markup.Num(x + (width / 2))).Append("\" y=\"").Append(Markup.Num(y + (CellHeight / 2) + (FontSize * 0.35)))
          .Append("\" text-anchor=\"middle\" fill=\"").Append(textColor).Append('"').Append(Font()).Append('>').Append(FormatValue(value)).Append("</text>");
    }

    private static void AppendScoreColumn(StringBuilder sb, ScoreColumn column, double x, double top, double width)
    {
        var finite = column.Values.Where(double.IsFinite).ToList();
        var max = column.Max ?? finite.DefaultIfEmpty(0).Max();
        sb.Append("<text class=\"captum-score-header\" x=\"").Append(Markup.Num(x + (width / 2))).Append("\" y=\"").Append(Markup.Num(top - 6))
          .Append("\" text-anchor=\"middle\"").Append(Font()).Append('>').Append(Markup.Escape(column.Header)).Append("</text>");
        for (var i = 0; i < column.Values.Count; i++)
        {
            var v = column.Values[i];
            var shade = double.IsFinite(v) && max > 0 ? Math.Clamp(v / max, 0, 1) : 0;
            var fill = double.IsFinite(v) ? ColorMap.Blues.Map(shade * 0.85).ToHex() : NonFiniteFill;
            var y = top + (i * CellHeight);
            sb.Append("<rect class=\"captum-score-cell\" data-row=\"").Append(Int(i)).Append("\" data-value=\"").Append(Data(v)).Append("\" x=\"").Append(Markup.Num(x))
              .Append("\" y=\"").Append(Markup.Num(y)).Append("\" width=\"").Append(Markup.Num(width)).Append("\" height=\"").Append(Markup.Num(CellHeight))
              .Append("\" fill=\"").Append(fill).Append("\" stroke=\"white\" stroke-width=\"1\"/>");
            sb.Append("<text class=\"captum-score-value\" x=\"").Append(Markup.Num(x + (width / 2))).Append("\" y=\"").Append(Markup.Num(y + (CellHeight / 2) + (FontSize * 0.35)))
              .Append("\" text-anchor=\"middle\" fill=\"").Append(shade > 0.6 ? "white" : "black").Append('"').Append(Font()).Append('>').Append(FormatValue(v)).Append("</text>");
        }
    }

    private static void AppendVerticalColorBar(StringBuilder sb, double x, double top, double height, double maxAbs)
    {
        var gradient = new RgbaImage(1, Diverging.N);
        for (var i = 0; i < Diverging.N; i++)
        {
            gradient[0, Diverging.N - 1 - i] = Diverging[i].ToPixel();
        }

        sb.Append("<image class=\"captum-colorbar\" x=\"").Append(Markup.Num(x)).Append("\" y=\"").Append(Markup.Num(top)).Append("\" width=\"14\" height=\"").Append(Markup.Num(height))
          .Append("\" preserveAspectRatio=\"none\" style=\"image-rendering: pixelated\" xlink:href=\"").Append(gradient.ToDataUri()).Append("\"/>");
        sb.Append("<rect x=\"").Append(Markup.Num(x)).Append("\" y=\"").Append(Markup.Num(top)).Append("\" width=\"14\" height=\"").Append(Markup.Num(height))
          .Append("\" fill=\"none\" stroke=\"black\" stroke-width=\"0.8\"/>");
        var m = maxAbs > 0 ? maxAbs : 1;
        foreach (var (value, label) in VisualizationFigure.Ticks(-m, m, height * 3))
        {
            AppendTick(sb, x + 14, top + (height * (m - value) / (2 * m)), label, leftSide: false);
        }

        sb.Append("<text class=\"captum-axis-label\" transform=\"translate(").Append(Markup.Num(x + 14 + 60)).Append(' ').Append(Markup.Num(top + (height / 2)))
          .Append(") rotate(90)\" text-anchor=\"middle\"").Append(Font()).Append(">Token Attribution</text>");
    }

    private static void AppendTick(StringBuilder sb, double x, double y, string label, bool leftSide)
    {
        var end = leftSide ? x - 3.5 : x + 3.5;
        sb.Append("<line x1=\"").Append(Markup.Num(x)).Append("\" y1=\"").Append(Markup.Num(y)).Append("\" x2=\"").Append(Markup.Num(end)).Append("\" y2=\"").Append(Markup.Num(y))
          .Append("\" stroke=\"black\" stroke-width=\"0.8\"/>");
        sb.Append("<text class=\"captum-axis-tick\" x=\"").Append(Markup.Num(leftSide ? end - 2 : end + 2)).Append("\" y=\"").Append(Markup.Num(y + (FontSize * 0.35)))
          .Append("\" text-anchor=\"").Append(leftSide ? "end" : "start").Append('"').Append(Font()).Append('>').Append(Markup.Escape(label)).Append("</text>");
    }

    private static void AppendSlantedLabel(StringBuilder sb, string label, double x, double y) =>
        sb.Append("<text class=\"captum-input-token\" x=\"").Append(Markup.Num(x)).Append("\" y=\"").Append(Markup.Num(y))
          .Append("\" text-anchor=\"end\" transform=\"rotate(30 ").Append(Markup.Num(x)).Append(' ').Append(Markup.Num(y)).Append(")\"")
          .Append(Font()).Append('>').Append(Markup.Escape(label)).Append("</text>");

    private static void OpenSvg(StringBuilder sb, double width, double height, string kind)
    {
        sb.Append("<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" version=\"1.1\" class=\"captum-figure ").Append(kind).Append("\" width=\"")
          .Append(Markup.Num(width)).Append("\" height=\"").Append(Markup.Num(height)).Append("\" viewBox=\"0 0 ").Append(Markup.Num(width)).Append(' ').Append(Markup.Num(height)).Append("\">");
        sb.Append("<rect x=\"0\" y=\"0\" width=\"").Append(Markup.Num(width)).Append("\" height=\"").Append(Markup.Num(height)).Append("\" fill=\"white\"/>");
    }

    private static void AppendTitle(StringBuilder sb, string? title, double width)
    {
        if (!string.IsNullOrEmpty(title))
        {
            sb.Append("<text class=\"captum-title\" x=\"").Append(Markup.Num(width / 2)).Append("\" y=\"").Append(Markup.Num(Margin + 14))
              .Append("\" text-anchor=\"middle\" font-family=\"").Append(FontFamily).Append("\" font-size=\"14\">").Append(Markup.Escape(title)).Append("</text>");
        }
    }

    private static double LongestLabel(IEnumerable<string> labels) => labels.Select(l => l.Length).DefaultIfEmpty(0).Max() * CharWidth;

    private static string Font() => $" font-family=\"{FontFamily}\" font-size=\"{Markup.Num(FontSize)}\"";

    private static string FormatValue(double value) => value switch
    {
        double.NaN => "NaN",
        double.PositiveInfinity => "inf",
        double.NegativeInfinity => "-inf",
        _ => value.ToString("F4", CultureInfo.InvariantCulture),
    };

    private static string Data(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static string Int(int value) => value.ToString(CultureInfo.InvariantCulture);
}
