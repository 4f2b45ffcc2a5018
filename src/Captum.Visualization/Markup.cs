using System.Globalization;
using System.Text;

namespace Captum.Visualization;

/// <summary>Escaping and number formatting for the HTML and SVG this library writes.</summary>
internal static class Markup
{
    /// <summary>
    /// Escapes text for HTML/XML element content and double-quoted attribute values. Characters XML 1.0 forbids
    /// (control characters other than tab and line breaks, unpaired surrogates, U+FFFE, U+FFFF) are dropped so that
    /// the output stays well-formed.
    /// </summary>
    public static string Escape(string text)
    {
        var sb = new StringBuilder(text.Length + 16);
        for (var i = 0; i < text.Length; i++)
        {
            var ch = text[i];
            switch (ch)
            {
                case '&': sb.Append("&amp;"); break;
                case '<': sb.Append("&lt;"); break;
                case '>': sb.Append("&gt;"); break;
                case '"': sb.Append("&quot;"); break;
                case '\'': sb.Append("&#39;"); break;
                default:
                    if (char.IsHighSurrogate(ch))
                    {
                        if (i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                        {
                            sb.Append(ch).Append(text[i + 1]);
                            i++;
                        }

                        break;
                    }

                    if (char.IsLowSurrogate(ch) || ch is '\uFFFE' or '\uFFFF' || (ch < 0x20 && ch is not ('\t' or '\n' or '\r')))
                    {
                        break;
                    }

                    sb.Append(ch);
                    break;
            }
        }

        return sb.ToString();
    }

    /// <summary>A coordinate for SVG: invariant culture, at most two decimals.</summary>
    public static string Num(double v) => Math.Round(v, 2).ToString("0.##", CultureInfo.InvariantCulture);
}
