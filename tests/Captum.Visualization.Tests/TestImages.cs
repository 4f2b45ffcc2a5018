using System.Xml;
using System.Xml.Linq;
using FsCheck;
using FsCheck.Fluent;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Captum.Visualization.Tests;

/// <summary>Inputs and helpers shared by the tests.</summary>
internal static class TestImages
{
    public static readonly XNamespace Svg = "http://www.w3.org/2000/svg";
    public static readonly XNamespace XLink = "http://www.w3.org/1999/xlink";

    /// <summary>A deterministic pseudo-random H x W x C array with values in [lo, hi).</summary>
    public static float[,,] Random(int h, int w, int c, int seed, float lo = -1, float hi = 1)
    {
        var rng = new Random(seed);
        var a = new float[h, w, c];
        for (var y = 0; y < h; y++)
        {
            for (var x = 0; x < w; x++)
            {
                for (var k = 0; k < c; k++)
                {
                    a[y, x, k] = lo + ((hi - lo) * (float)rng.NextDouble());
                }
            }
        }

        return a;
    }

    /// <summary>Attributions of random small shape with values of mixed magnitude and sign, including exact zeros.</summary>
    public static Arbitrary<float[,,]> Attributions()
    {
        var value = Gen.Frequency(
            (1, Gen.Constant(0f)),
            (4, Gen.Choose(-1000, 1000).Select(i => i / 100f)),
            (1, Gen.Choose(-1000000, 1000000).Select(i => i / 10f)));
        var gen =
            from h in Gen.Choose(1, 6)
            from w in Gen.Choose(1, 6)
            from c in Gen.Choose(1, 3)
            from values in Gen.ArrayOf(value, h * w * c)
            select Build(h, w, c, values);
        return gen.ToArbitrary();
    }

    /// <summary>An outlier percentage in [0, 100).</summary>
    public static Arbitrary<double> OutlierPercs() =>
        Gen.Frequency((1, Gen.Constant(0.0)), (1, Gen.Constant(2.0)), (3, Gen.Choose(0, 9999).Select(i => i / 100.0))).ToArbitrary();

    public static Arbitrary<VisualizationSign> Signs() => Gen.Elements(Enum.GetValues<VisualizationSign>()).ToArbitrary();

    public static float[,,] Build(int h, int w, int c, float[] values)
    {
        var a = new float[h, w, c];
        Buffer.BlockCopy(values, 0, a, 0, values.Length * sizeof(float));
        return a;
    }

    /// <summary>Parses SVG/HTML text as XML, failing the test when it is not well-formed.</summary>
    public static XDocument ParseXml(string text)
    {
        var settings = new XmlReaderSettings { DtdProcessing = DtdProcessing.Ignore, XmlResolver = null };
        using var reader = XmlReader.Create(new StringReader(text), settings);
        return XDocument.Load(reader);
    }

    /// <summary>Decodes a data:image/png;base64 URI with ImageSharp.</summary>
    public static Image<Rgba32> DecodeDataUri(string uri)
    {
        const string prefix = "data:image/png;base64,";
        Assert.StartsWith(prefix, uri, StringComparison.Ordinal);
        return Image.Load<Rgba32>(Convert.FromBase64String(uri[prefix.Length..]));
    }

    public static IEnumerable<XElement> WithClass(XDocument doc, string name, string cssClass) =>
        doc.Descendants(Svg + name).Where(e => (string?)e.Attribute("class") == cssClass);
}
