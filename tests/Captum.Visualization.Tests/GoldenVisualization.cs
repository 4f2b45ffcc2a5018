using System.Text.Json;

namespace Captum.Visualization.Tests;

/// <summary>
/// Captum's answers for the visualization port: shared/golden/visualization/normalize-and-colors.json. The folder is
/// CAPTUM_GOLDEN_VIS_DIR when set, else ../shared/golden/visualization next to the repository root (the folder holding
/// CaptumSharp.sln, found by walking up from the test binaries).
/// </summary>
internal sealed class GoldenVisualization
{
    public const string FileName = "normalize-and-colors.json";

    private static readonly Lazy<GoldenVisualization> Cached = new(Load);

    private GoldenVisualization(float[,,] attr, IReadOnlyList<NormalizeCase> cases, double[] wordImportances, string[] wordColors)
    {
        Attr = attr;
        Cases = cases;
        WordImportances = wordImportances;
        WordColors = wordColors;
    }

    public static GoldenVisualization Instance => Cached.Value;

    public float[,,] Attr { get; }

    public IReadOnlyList<NormalizeCase> Cases { get; }

    public double[] WordImportances { get; }

    public string[] WordColors { get; }

    public static string Directory() =>
        Captum.TestData.SharedData.Locate(Path.Combine("golden", "visualization"), "CAPTUM_GOLDEN_VIS_DIR");

    private static GoldenVisualization Load()
    {
        var path = Path.Combine(Directory(), FileName);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Golden visualization data not found at {path} (set CAPTUM_GOLDEN_VIS_DIR).", path);
        }

        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var root = doc.RootElement;

        var attrEl = root.GetProperty("attr");
        var shape = attrEl.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        if (attrEl.TryGetProperty("layout", out var layout) && layout.GetString() != "HWC")
        {
            throw new InvalidDataException($"Expected an HWC attribution, got layout {layout.GetString()}.");
        }

        var data = attrEl.GetProperty("data").EnumerateArray().Select(e => (float)e.GetDouble()).ToArray();
        var attr = new float[shape[0], shape[1], shape[2]];
        Buffer.BlockCopy(data, 0, attr, 0, data.Length * sizeof(float));

        var cases = new List<NormalizeCase>();
        foreach (var entry in root.GetProperty("normalize").EnumerateArray())
        {
            var s = entry.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            var values = entry.GetProperty("normalized").EnumerateArray().Select(e => e.GetDouble()).ToArray();
            cases.Add(new NormalizeCase(ParseSign(entry.GetProperty("sign").GetString()!), entry.GetProperty("outlier_perc").GetDouble(), s[0], s[1], values));
        }

        var importances = root.GetProperty("word_importances").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        var colors = root.GetProperty("word_colors").EnumerateArray().Select(e => e.GetString()!).ToArray();
        return new GoldenVisualization(attr, cases, importances, colors);
    }

    private static VisualizationSign ParseSign(string sign) => sign switch
    {
        "all" => VisualizationSign.All,
        "positive" => VisualizationSign.Positive,
        "negative" => VisualizationSign.Negative,
        "absolute_value" => VisualizationSign.AbsoluteValue,
        _ => throw new InvalidDataException($"Unknown sign '{sign}'."),
    };

    internal sealed record NormalizeCase(VisualizationSign Sign, double OutlierPerc, int Height, int Width, double[] Expected)
    {
        public override string ToString() => $"{Sign}/{OutlierPerc}";
    }
}
