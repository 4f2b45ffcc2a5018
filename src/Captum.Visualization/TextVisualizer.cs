using System.Globalization;
using System.Text;

namespace Captum.Visualization;

/// <summary>
/// Captum's text visualization: a table of labels and words coloured by importance.
/// Captum: <c>visualize_text</c>, <c>_get_color</c>, <c>format_special_tokens</c> in <c>captum/attr/_utils/visualization.py</c>.
/// </summary>
public static class TextVisualizer
{
    /// <summary>The column headers, as Captum writes them.</summary>
    public static IReadOnlyList<string> Headers { get; } = ["True Label", "Predicted Label", "Attribution Label", "Attribution Score", "Word Importance"];

    /// <summary>
    /// The HTML of Captum's <c>visualize_text(datarecords, legend)</c>: the legend (when asked) and a table with the
    /// columns True Label, Predicted Label (with the probability to two decimals), Attribution Label, Attribution Score
    /// (two decimals) and Word Importance (each token on a background of <see cref="GetColor"/> of its importance).
    /// </summary>
    /// <remarks>
    /// <para>
    /// The markup is Captum's, made well-formed: Captum writes <c>&lt;table width: 100%&gt;</c>, puts the legend
    /// inside the table (browsers move it above), never closes its rows and uses the non-HTML <c>&lt;text&gt;</c> and the
    /// obsolete <c>&lt;font&gt;</c>. Here the fragment is one <c>&lt;div class="captum-text"&gt;</c> holding the legend
    /// and then <c>&lt;table style="width: 100%"&gt;</c> with closed rows, <c>&lt;span&gt;</c> in place of
    /// <c>&lt;text&gt;</c>/<c>&lt;font&gt;</c>, and the same inline styles and colours; it parses as XML.
    /// </para>
    /// <para>
    /// All text is HTML-escaped (Captum escapes nothing). Special tokens such as <c>&lt;pad&gt;</c> are first shown as
    /// <c>#pad</c> (<see cref="FormatSpecialToken"/>), then escaped. Numbers use the invariant culture.
    /// </para>
    /// </remarks>
    /// <param name="records">The rows; at least one.</param>
    /// <param name="legend">Whether to draw the Negative / Neutral / Positive legend (default true).</param>
    /// <returns>An HTML fragment.</returns>
    /// <exception cref="ArgumentException">No records, a null record, or a record with more tokens than importances.</exception>
    public static string VisualizeText(IEnumerable<VisualizationDataRecord> records, bool legend = true)
    {
        ArgumentNullException.ThrowIfNull(records);
        var list = records.ToList();
        if (list.Count == 0)
        {
            throw new ArgumentException("There are no records to visualize.", nameof(records));
        }

        var sb = new StringBuilder();
        sb.Append("<div class=\"captum-text\">");
        if (legend)
        {
            sb.Append("<div style=\"border-top: 1px solid; margin-top: 5px; padding-top: 5px; display: inline-block\">");
            sb.Append("<b>Legend: </b>");
            foreach (var (value, label) in new[] { (-1.0, "Negative"), (0.0, "Neutral"), (1.0, "Positive") })
            {
                sb.Append("<span style=\"display: inline-block; width: 10px; height: 10px; border: 1px solid; background-color: ")
                  .Append(GetColor(value))
                  .Append("\"></span> ")
                  .Append(label)
                  .Append("  ");
            }

            sb.Append("</div>");
        }

        sb.Append("<table style=\"width: 100%\"><tr>");
        foreach (var header in Headers)
        {
            sb.Append("<th>").Append(Markup.Escape(header)).Append("</th>");
        }

        sb.Append("</tr>");
        for (var r = 0; r < list.Count; r++)
        {
            var record = list[r] ?? throw new ArgumentException($"Record {r} is null.", nameof(records));
            if (record.WordAttributions.Count > 0 && record.RawInputIds.Count > record.WordAttributions.Count)
            {
                throw new ArgumentException(
                    $"Record {r} has {record.RawInputIds.Count} tokens but only {record.WordAttributions.Count} word attributions.", nameof(records));
            }

            sb.Append("<tr>");
            AppendClassName(sb, record.TrueClass);
            // An unknown probability (NaN: a model that gives none) shows the class alone rather than "(NaN)".
            AppendClassName(sb, double.IsNaN(record.PredProb)
                ? record.PredClass
                : string.Create(CultureInfo.InvariantCulture, $"{record.PredClass} ({record.PredProb:F2})"));
            AppendClassName(sb, record.AttrClass);
            AppendClassName(sb, record.AttrScore.ToString("F2", CultureInfo.InvariantCulture));
            AppendWordImportances(sb, record);
            sb.Append("</tr>");
        }

        sb.Append("</table></div>");
        return sb.ToString();
    }

    /// <summary>
    /// The CSS colour of an importance, Captum's <c>_get_color</c>: the value is clipped to [-1, 1]; above 0 it is
    /// <c>hsl(120, 75%, L%)</c> with <c>L = 100 - int(50 * attr)</c> (green, 100% to 50% lightness); otherwise
    /// <c>hsl(0, 75%, L%)</c> with <c>L = 100 - int(-40 * attr)</c> (red, 100% to 60%). <c>int</c> truncates toward zero.
    /// NaN behaves as in Python's <c>max(-1, min(1, nan))</c>, which is 1.
    /// </summary>
    /// <param name="attr">The importance.</param>
    /// <returns>The CSS colour, e.g. <c>hsl(0, 75%, 61%)</c>.</returns>
    public static string GetColor(double attr)
    {
        // Python: attr = max(-1, min(1, attr)); min/max keep their first argument unless the other compares smaller/larger.
        var clipped = attr < 1 ? attr : 1.0;
        clipped = clipped > -1 ? clipped : -1.0;
        int hue, lightness;
        if (clipped > 0)
        {
            hue = 120;
            lightness = 100 - (int)(50 * clipped);
        }
        else
        {
            hue = 0;
            lightness = 100 - (int)(-40 * clipped);
        }

        return string.Create(CultureInfo.InvariantCulture, $"hsl({hue}, 75%, {lightness}%)");
    }

    /// <summary>
    /// Captum's <c>format_special_tokens</c>: a token that starts with <c>&lt;</c> and ends with <c>&gt;</c> becomes
    /// <c>#</c> followed by the token with all leading and trailing <c>&lt;</c>/<c>&gt;</c> removed
    /// (<c>&lt;pad&gt;</c> → <c>#pad</c>); other tokens are unchanged. The result is not escaped.
    /// </summary>
    /// <param name="token">The token.</param>
    /// <returns>The token to show.</returns>
    public static string FormatSpecialToken(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        if (token.StartsWith('<') && token.EndsWith('>'))
        {
            return "#" + token.Trim('<', '>');
        }

        return token;
    }

    private static void AppendClassName(StringBuilder sb, string text) =>
        sb.Append("<td><span style=\"padding-right:2em\"><b>").Append(Markup.Escape(text)).Append("</b></span></td>");

    private static void AppendWordImportances(StringBuilder sb, VisualizationDataRecord record)
    {
        var importances = record.WordAttributions;
        var words = record.RawInputIds;
        if (importances.Count == 0)
        {
            sb.Append("<td></td>");
            return;
        }

        sb.Append("<td>");
        for (var i = 0; i < words.Count; i++)
        {
            var word = Markup.Escape(FormatSpecialToken(words[i] ?? string.Empty));
            sb.Append("<mark style=\"background-color: ")
              .Append(GetColor(importances[i]))
              .Append("; opacity:1.0; line-height:1.75\"><span style=\"color: black\"> ")
              .Append(word)
              .Append("</span></mark>");
        }

        sb.Append("</td>");
    }
}
