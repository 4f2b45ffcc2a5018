using System.Globalization;

namespace Captum.Visualization;

/// <summary>A colour with red, green, blue and alpha components in [0, 1], as matplotlib's RGBA tuples.</summary>
/// <param name="R">Red, 0 to 1.</param>
/// <param name="G">Green, 0 to 1.</param>
/// <param name="B">Blue, 0 to 1.</param>
/// <param name="A">Alpha (opacity), 0 to 1.</param>
public readonly record struct RgbaColor(double R, double G, double B, double A = 1.0)
{
    private static readonly Dictionary<string, string> Named = new(StringComparer.OrdinalIgnoreCase)
    {
        // matplotlib's single-letter base colours
        ["b"] = "#0000ff",
        ["g"] = "#008000",
        ["r"] = "#ff0000",
        ["c"] = "#00bfbf",
        ["m"] = "#bf00bf",
        ["y"] = "#bfbf00",
        ["k"] = "#000000",
        ["w"] = "#ffffff",

        // a subset of the CSS4 names matplotlib accepts
        ["black"] = "#000000",
        ["white"] = "#ffffff",
        ["red"] = "#ff0000",
        ["green"] = "#008000",
        ["lime"] = "#00ff00",
        ["blue"] = "#0000ff",
        ["navy"] = "#000080",
        ["yellow"] = "#ffff00",
        ["cyan"] = "#00ffff",
        ["aqua"] = "#00ffff",
        ["magenta"] = "#ff00ff",
        ["fuchsia"] = "#ff00ff",
        ["gray"] = "#808080",
        ["grey"] = "#808080",
        ["silver"] = "#c0c0c0",
        ["lightgray"] = "#d3d3d3",
        ["lightgrey"] = "#d3d3d3",
        ["darkgray"] = "#a9a9a9",
        ["darkgrey"] = "#a9a9a9",
        ["orange"] = "#ffa500",
        ["purple"] = "#800080",
        ["brown"] = "#a52a2a",
        ["pink"] = "#ffc0cb",
        ["maroon"] = "#800000",
        ["olive"] = "#808000",
        ["teal"] = "#008080",
        ["darkgreen"] = "#006400",
        ["darkred"] = "#8b0000",
        ["darkblue"] = "#00008b",
        ["lightblue"] = "#add8e6",
        ["lightgreen"] = "#90ee90",
    };

    /// <summary>Opaque black.</summary>
    public static RgbaColor Black => new(0, 0, 0);

    /// <summary>Opaque white.</summary>
    public static RgbaColor White => new(1, 1, 1);

    /// <summary>Fully transparent black (matplotlib's default "bad" colour for NaN).</summary>
    public static RgbaColor Transparent => new(0, 0, 0, 0);

    /// <summary>
    /// Parses a colour as matplotlib's <c>to_rgba</c> does for the common forms: <c>#rgb</c>, <c>#rgba</c>,
    /// <c>#rrggbb</c>, <c>#rrggbbaa</c>, a grey level given as a number string in [0, 1] (e.g. <c>"0.5"</c>), the
    /// single-letter base colours (<c>"r"</c>, <c>"g"</c>, ...) and common CSS4 names (<c>"red"</c>, <c>"white"</c>,
    /// <c>"green"</c> = #008000, ...).
    /// </summary>
    /// <param name="text">The colour text.</param>
    /// <returns>The colour.</returns>
    /// <exception cref="ArgumentException">The text is not a colour this parser knows.</exception>
    public static RgbaColor Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (TryParse(text, out var color))
        {
            return color;
        }

        throw new ArgumentException($"'{text}' is not a colour: use #rrggbb, #rrggbbaa, #rgb, a grey level in [0, 1] or a known name.", nameof(text));
    }

    /// <summary>Tries to parse a colour in the forms <see cref="Parse"/> accepts.</summary>
    /// <param name="text">The colour text.</param>
    /// <param name="color">The colour when the text parses.</param>
    /// <returns>Whether the text parsed.</returns>
    public static bool TryParse(string? text, out RgbaColor color)
    {
        color = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var s = text.Trim();
        if (Named.TryGetValue(s, out var hex))
        {
            s = hex;
        }

        if (s.StartsWith('#'))
        {
            var digits = s[1..];
            if (digits.Length is 3 or 4)
            {
                digits = string.Concat(digits.Select(c => new string(c, 2)));
            }

            if (digits.Length is not (6 or 8) || !uint.TryParse(digits, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var value))
            {
                return false;
            }

            if (digits.Length == 6)
            {
                value = (value << 8) | 0xFF;
            }

            color = new RgbaColor(((value >> 24) & 0xFF) / 255.0, ((value >> 16) & 0xFF) / 255.0, ((value >> 8) & 0xFF) / 255.0, (value & 0xFF) / 255.0);
            return true;
        }

        if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var grey) && grey is >= 0 and <= 1)
        {
            color = new RgbaColor(grey, grey, grey);
            return true;
        }

        return false;
    }

    /// <summary>
    /// The colour as 8-bit components the way matplotlib turns floats into bytes (<c>(v * 255).astype(uint8)</c>, a
    /// truncation), with components clipped to [0, 1] first and a 1e-6 guard so that values such as 128/255 do not
    /// lose a step to rounding error.
    /// </summary>
    /// <returns>The 8-bit pixel.</returns>
    public PixelRgba ToPixel() => new(ToByte(R), ToByte(G), ToByte(B), ToByte(A));

    /// <summary>The colour as CSS <c>#rrggbb</c> (alpha ignored), using <see cref="ToPixel"/>.</summary>
    /// <returns>The hex string.</returns>
    public string ToHex()
    {
        var p = ToPixel();
        return string.Create(CultureInfo.InvariantCulture, $"#{p.R:x2}{p.G:x2}{p.B:x2}");
    }

    internal static byte ToByte(double v)
    {
        if (double.IsNaN(v) || v <= 0)
        {
            return 0;
        }

        if (v >= 1)
        {
            return 255;
        }

        return (byte)Math.Floor((v * 255.0) + 1e-6);
    }
}

/// <summary>An 8-bit RGBA pixel.</summary>
/// <param name="R">Red.</param>
/// <param name="G">Green.</param>
/// <param name="B">Blue.</param>
/// <param name="A">Alpha; 255 is opaque.</param>
public readonly record struct PixelRgba(byte R, byte G, byte B, byte A = 255);
