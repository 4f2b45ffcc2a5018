namespace Captum.Visualization;

/// <summary>A colour stop of a linear segmented colour map: the colour at a position in [0, 1].</summary>
/// <param name="Position">Where the colour sits, 0 to 1; the first stop must be at 0 and the last at 1.</param>
/// <param name="Color">The colour there.</param>
public readonly record struct ColorStop(double Position, RgbaColor Color)
{
    /// <summary>A stop with the colour given as text (see <see cref="RgbaColor.Parse"/>).</summary>
    /// <param name="position">Where the colour sits, 0 to 1.</param>
    /// <param name="color">The colour text, e.g. <c>"#252b36"</c> or <c>"white"</c>.</param>
    public ColorStop(double position, string color)
        : this(position, RgbaColor.Parse(color))
    {
    }
}

/// <summary>
/// A colour map with a lookup table of <see cref="N"/> colours, behaving as matplotlib's
/// <c>LinearSegmentedColormap</c> does when called on normalised data.
/// </summary>
/// <remarks>
/// <para>
/// The lookup table is built as matplotlib's <c>_create_lookup_table</c> with gamma 1: entry <c>i</c> is the linear
/// interpolation of the stops at position <c>i / (N - 1)</c>. Mapping a value <c>x</c> (already normalised to [0, 1])
/// takes entry <c>floor(x * N)</c>, with <c>x == 1</c> giving the last entry; below 0 gives the "under" colour (the first
/// entry), above 1 the "over" colour (the last entry), NaN the "bad" colour (transparent), as <c>Colormap.__call__</c>.
/// </para>
/// <para>
/// The named maps are those Captum picks by default: <see cref="RedWhiteGreen"/> (<c>"RdWhGn"</c>, for sign all),
/// <see cref="Greens"/>, <see cref="Reds"/>, <see cref="Blues"/> (matplotlib's 9-class ColorBrewer data), and
/// <see cref="Gray"/>, used under the blended heat map.
/// </para>
/// </remarks>
public sealed class ColorMap
{
    private readonly RgbaColor[] _lut;

    private ColorMap(string name, RgbaColor[] lut)
    {
        Name = name;
        _lut = lut;
    }

    /// <summary>The map's name.</summary>
    public string Name { get; }

    /// <summary>The number of colours in the lookup table (matplotlib's <c>N</c>, 256 by default).</summary>
    public int N => _lut.Length;

    /// <summary>The colour for values below 0 (matplotlib's default: the first table entry).</summary>
    public RgbaColor Under => _lut[0];

    /// <summary>The colour for values above 1 (matplotlib's default: the last table entry).</summary>
    public RgbaColor Over => _lut[^1];

    /// <summary>The colour for NaN (matplotlib's default: transparent black).</summary>
    public RgbaColor Bad => RgbaColor.Transparent;

    /// <summary>Captum's diverging default for sign all: <c>LinearSegmentedColormap.from_list("RdWhGn", ["red", "white", "green"])</c>.</summary>
    public static ColorMap RedWhiteGreen { get; } = FromList("RdWhGn", ["red", "white", "green"]);

    /// <summary>matplotlib's "Greens" (Captum's default for sign positive).</summary>
    public static ColorMap Greens { get; } = FromList("Greens", ["#f7fcf5", "#e5f5e0", "#c7e9c0", "#a1d99b", "#74c476", "#41ab5d", "#238b45", "#006d2c", "#00441b"]);

    /// <summary>matplotlib's "Reds" (Captum's default for sign negative).</summary>
    public static ColorMap Reds { get; } = FromList("Reds", ["#fff5f0", "#fee0d2", "#fcbba1", "#fc9272", "#fb6a4a", "#ef3b2c", "#cb181d", "#a50f15", "#67000d"]);

    /// <summary>matplotlib's "Blues" (Captum's default for sign absolute_value).</summary>
    public static ColorMap Blues { get; } = FromList("Blues", ["#f7fbff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b"]);

    /// <summary>matplotlib's "gray": black to white.</summary>
    public static ColorMap Gray { get; } = FromList("gray", ["black", "white"]);

    /// <summary>
    /// The named maps: "RdWhGn", "Greens", "Reds", "Blues", "gray" (also "grey"), case-insensitive.
    /// </summary>
    /// <param name="name">The map's name.</param>
    /// <returns>The map.</returns>
    /// <exception cref="ArgumentException">The name is not one of these.</exception>
    public static ColorMap Get(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.ToLowerInvariant() switch
        {
            "rdwhgn" => RedWhiteGreen,
            "greens" => Greens,
            "reds" => Reds,
            "blues" => Blues,
            "gray" or "grey" => Gray,
            _ => throw new ArgumentException($"Unknown colour map '{name}'; known: RdWhGn, Greens, Reds, Blues, gray. Build others with ColorMap.FromList.", nameof(name)),
        };
    }

    /// <summary>The default colour map Captum chooses for a sign (<c>_initialize_cmap_and_vmin_vmax</c>).</summary>
    /// <param name="sign">The sign.</param>
    /// <returns>RdWhGn for all, Greens for positive, Reds for negative, Blues for absolute value.</returns>
    public static ColorMap DefaultFor(VisualizationSign sign) => sign switch
    {
        VisualizationSign.All => RedWhiteGreen,
        VisualizationSign.Positive => Greens,
        VisualizationSign.Negative => Reds,
        VisualizationSign.AbsoluteValue => Blues,
        _ => throw new ArgumentOutOfRangeException(nameof(sign), sign, "Unknown visualization sign."),
    };

    /// <summary>
    /// A map through evenly spaced colours, as <c>LinearSegmentedColormap.from_list(name, colors, N)</c> with a plain
    /// list of colours.
    /// </summary>
    /// <param name="name">The map's name.</param>
    /// <param name="colors">At least two colours (see <see cref="RgbaColor.Parse"/>), placed at 0, 1/(k-1), ..., 1.</param>
    /// <param name="n">The size of the lookup table (default 256).</param>
    /// <returns>The map.</returns>
    public static ColorMap FromList(string name, IEnumerable<string> colors, int n = 256)
    {
        ArgumentNullException.ThrowIfNull(colors);
        var list = colors.Select(RgbaColor.Parse).ToList();
        return FromList(name, list, n);
    }

    /// <summary>A map through evenly spaced colours (see <see cref="FromList(string, IEnumerable{string}, int)"/>).</summary>
    /// <param name="name">The map's name.</param>
    /// <param name="colors">At least two colours, placed at 0, 1/(k-1), ..., 1.</param>
    /// <param name="n">The size of the lookup table (default 256).</param>
    /// <returns>The map.</returns>
    public static ColorMap FromList(string name, IEnumerable<RgbaColor> colors, int n = 256)
    {
        ArgumentNullException.ThrowIfNull(colors);
        var list = colors.ToList();
        if (list.Count < 2)
        {
            throw new ArgumentException("A colour map needs at least two colours.", nameof(colors));
        }

        var stops = list.Select((c, i) => new ColorStop(i / (double)(list.Count - 1), c));
        return FromList(name, stops, n);
    }

    /// <summary>
    /// A map through colour stops, as <c>LinearSegmentedColormap.from_list(name, [(position, color), ...], N)</c>; the
    /// Captum tutorials' <c>from_list("custom blue", [(0, "#ffffff"), (0.25, "#252b36"), (1, "#000000")], N=256)</c> is
    /// <c>ColorMap.FromList("custom blue", [(0, "#ffffff"), (0.25, "#252b36"), (1, "#000000")])</c>.
    /// </summary>
    /// <param name="name">The map's name.</param>
    /// <param name="stops">Positions with colour text; positions start at 0, end at 1 and do not decrease.</param>
    /// <param name="n">The size of the lookup table (default 256).</param>
    /// <returns>The map.</returns>
    public static ColorMap FromList(string name, IEnumerable<(double Position, string Color)> stops, int n = 256)
    {
        ArgumentNullException.ThrowIfNull(stops);
        return FromList(name, stops.Select(s => new ColorStop(s.Position, s.Color)), n);
    }

    /// <summary>A map through colour stops (see <see cref="FromList(string, IEnumerable{ValueTuple{double, string}}, int)"/>).</summary>
    /// <param name="name">The map's name.</param>
    /// <param name="stops">The stops; positions start at 0, end at 1 and do not decrease.</param>
    /// <param name="n">The size of the lookup table (default 256).</param>
    /// <returns>The map.</returns>
    /// <exception cref="ArgumentException">Fewer than two stops, positions not from 0 to 1 or decreasing, or n &lt; 2.</exception>
    public static ColorMap FromList(string name, IEnumerable<ColorStop> stops, int n = 256)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(stops);
        var s = stops.ToArray();
        if (s.Length < 2)
        {
            throw new ArgumentException("A colour map needs at least two stops.", nameof(stops));
        }

        if (s[0].Position != 0 || s[^1].Position != 1)
        {
            throw new ArgumentException("Colour stop positions must start at 0 and end at 1.", nameof(stops));
        }

        for (var i = 1; i < s.Length; i++)
        {
            if (!(s[i].Position >= s[i - 1].Position))
            {
                throw new ArgumentException("Colour stop positions must not decrease.", nameof(stops));
            }
        }

        if (n < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(n), n, "The lookup table needs at least two entries.");
        }

        var lut = new RgbaColor[n];
        lut[0] = s[0].Color;
        lut[n - 1] = s[^1].Color;
        for (var i = 1; i < n - 1; i++)
        {
            // matplotlib: x scaled by (N - 1), searchsorted(x, i) (left), then linear interpolation.
            double xi = i;
            var k = 1;
            while (k < s.Length - 1 && s[k].Position * (n - 1) < xi)
            {
                k++;
            }

            var x0 = s[k - 1].Position * (n - 1);
            var x1 = s[k].Position * (n - 1);
            var t = x1 > x0 ? (xi - x0) / (x1 - x0) : 1.0;
            var a = s[k - 1].Color;
            var b = s[k].Color;
            lut[i] = new RgbaColor(
                Clip01(a.R + (t * (b.R - a.R))),
                Clip01(a.G + (t * (b.G - a.G))),
                Clip01(a.B + (t * (b.B - a.B))),
                Clip01(a.A + (t * (b.A - a.A))));
        }

        return new ColorMap(name, lut);
    }

    /// <summary>The lookup table entry <paramref name="index"/>.</summary>
    /// <param name="index">0 to <see cref="N"/> - 1.</param>
    /// <returns>The colour.</returns>
    public RgbaColor this[int index] => _lut[index];

    /// <summary>
    /// The colour of a value already normalised to [0, 1] (matplotlib's <c>cmap(x)</c>): entry <c>floor(x * N)</c>,
    /// 1 maps to the last entry, below 0 to <see cref="Under"/>, above 1 to <see cref="Over"/>, NaN to <see cref="Bad"/>.
    /// </summary>
    /// <param name="x">The normalised value.</param>
    /// <returns>The colour.</returns>
    public RgbaColor Map(double x)
    {
        var i = MapIndex(x);
        return i < 0 ? Bad : _lut[i];
    }

    /// <summary>
    /// The colour of <paramref name="value"/> normalised linearly from [<paramref name="vmin"/>, <paramref name="vmax"/>]
    /// (matplotlib's <c>Normalize(vmin, vmax)</c> followed by the map); with vmin == vmax every value maps to 0.
    /// </summary>
    /// <param name="value">The value.</param>
    /// <param name="vmin">The value shown with the first colour.</param>
    /// <param name="vmax">The value shown with the last colour.</param>
    /// <returns>The colour.</returns>
    public RgbaColor Map(double value, double vmin, double vmax) => Map(vmax == vmin ? 0.0 : (value - vmin) / (vmax - vmin));

    /// <summary>The lookup index of a normalised value (matplotlib's integer cast), or -1 for NaN.</summary>
    internal int MapIndex(double x)
    {
        if (double.IsNaN(x))
        {
            return -1;
        }

        var xa = x * N;
        if (xa == N)
        {
            xa = N - 1;
        }

        if (xa < 0)
        {
            return 0;
        }

        if (xa >= N)
        {
            return N - 1;
        }

        return (int)xa;
    }

    /// <summary>Float32 variant of <see cref="MapIndex(double)"/>, as numpy does it on float32 data.</summary>
    internal int MapIndex(float x)
    {
        if (float.IsNaN(x))
        {
            return -1;
        }

        var xa = x * N;
        if (xa == N)
        {
            xa = N - 1;
        }

        if (xa < 0)
        {
            return 0;
        }

        if (xa >= N)
        {
            return N - 1;
        }

        return (int)xa;
    }

    internal RgbaColor MapFloat(float x)
    {
        var i = MapIndex(x);
        return i < 0 ? Bad : _lut[i];
    }

    /// <inheritdoc />
    public override string ToString() => $"ColorMap({Name}, N={N})";

    private static double Clip01(double v) => v < 0 ? 0 : v > 1 ? 1 : v;
}
