using System.Runtime.InteropServices;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Captum.Plugins.Vqa.Tutorial;

/// <summary>
/// PIL's <c>Image.resize(size, Image.BILINEAR)</c> for 8-bit RGB images, to the bit: torchvision's <c>Resize</c> on a
/// PIL image, as the tutorial's transform does it.
/// </summary>
/// <remarks>
/// <para>
/// PIL resamples separably: a horizontal pass into an 8-bit image of the new width, then a vertical pass of that
/// into the new height; a pass whose size does not change is skipped, and an image already at the size is copied.
/// </para>
/// <para>
/// Each output sample <c>o</c> of a pass covers the input around <c>center = (o + 0.5) * scale</c>, with
/// <c>scale = in / out</c>. The triangle filter (<c>1 - |t|</c> for <c>|t| &lt; 1</c>) is stretched by
/// <c>stretch = max(scale, 1)</c>, so when downscaling it averages (antialiases) over the inputs an output spans;
/// its half-width is <c>support = stretch</c>. The inputs used run from <c>(int)(center - support + 0.5)</c> to
/// <c>(int)(center + support + 0.5)</c>, clipped to the image, and input <c>i</c> weighs
/// <c>filter((i - center + 0.5) / stretch)</c>. The weights are divided by their sum in double precision, then
/// turned into 22-bit fixed point, rounded half up (a triangle's weights are never negative). A sample is the
/// integer sum of the 8-bit inputs times those weights plus one half, shifted right by 22 bits and clipped to
/// [0, 255]. The arithmetic below is the same, in the same order, so the doubles and the integers agree exactly.
/// </para>
/// </remarks>
internal static class PilResize
{
    /// <summary>The fixed-point weights' fractional bits: 32 bits, less 8 for the sample and 2 for headroom.</summary>
    private const int PrecisionBits = 32 - 8 - 2;

    /// <summary>Resizes <paramref name="image"/> to <paramref name="width"/> x <paramref name="height"/> as PIL's BILINEAR resize does. The caller owns the result.</summary>
    public static Image<Rgb24> Bilinear(Image<Rgb24> image, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        if (width == image.Width && height == image.Height)
        {
            return image.Clone();
        }

        var pixels = new Rgb24[image.Width * image.Height];
        image.CopyPixelDataTo(pixels);
        var samples = MemoryMarshal.AsBytes(pixels.AsSpan()).ToArray();
        var (w, h) = (image.Width, image.Height);
        if (width != w)
        {
            samples = Horizontal(samples, w, h, width);
            w = width;
        }

        if (height != h)
        {
            samples = Vertical(samples, w, h, height);
        }

        return Image.LoadPixelData<Rgb24>(samples, width, height);
    }

    /// <summary>
    /// The taps of a pass from <paramref name="inSize"/> samples to <paramref name="outSize"/>: for output
    /// <c>o</c>, the first input <c>First[o]</c>, the number of inputs <c>Count[o]</c>, and their fixed-point
    /// weights at <c>Weights[o * Stride ..]</c>.
    /// </summary>
    internal static Taps Coefficients(int inSize, int outSize)
    {
        var scale = (double)inSize / outSize;
        var stretch = Math.Max(scale, 1.0);
        var support = 1.0 * stretch; // the triangle's half-width, 1, stretched when downscaling
        var stride = ((int)Math.Ceiling(support) * 2) + 1;
        var inverse = 1.0 / stretch;
        var taps = new Taps(new int[outSize], new int[outSize], new int[outSize * stride], stride);
        var weights = new double[stride];
        for (var o = 0; o < outSize; o++)
        {
            var center = (o + 0.5) * scale;
            var first = Math.Max((int)(center - support + 0.5), 0);
            var count = Math.Min((int)(center + support + 0.5), inSize) - first;
            var sum = 0.0;
            for (var i = 0; i < count; i++)
            {
                weights[i] = Triangle(((i + first) - center + 0.5) * inverse);
                sum += weights[i];
            }

            for (var i = 0; i < count; i++)
            {
                var weight = sum != 0.0 ? weights[i] / sum : weights[i];
                taps.Weights[(o * stride) + i] = (int)((weight * (1 << PrecisionBits)) + 0.5); // never negative: rounds half up
            }

            taps.First[o] = first;
            taps.Count[o] = count;
        }

        return taps;
    }

    /// <summary>The triangle (tent) filter of support 1.</summary>
    private static double Triangle(double t)
    {
        t = Math.Abs(t);
        return t < 1.0 ? 1.0 - t : 0.0;
    }

    /// <summary>The fixed-point sum <paramref name="acc"/> (which includes the half for rounding) as an 8-bit sample.</summary>
    private static byte Clip(int acc) => (byte)Math.Clamp(acc >> PrecisionBits, 0, 255);

    /// <summary>Resamples each row of an RGB image, <paramref name="width"/> x <paramref name="height"/>, to <paramref name="outWidth"/>.</summary>
    private static byte[] Horizontal(byte[] input, int width, int height, int outWidth)
    {
        var taps = Coefficients(width, outWidth);
        var output = new byte[outWidth * height * 3];
        for (var y = 0; y < height; y++)
        {
            var row = y * width * 3;
            for (var x = 0; x < outWidth; x++)
            {
                var (r, g, b) = (1 << (PrecisionBits - 1), 1 << (PrecisionBits - 1), 1 << (PrecisionBits - 1));
                var from = row + (taps.First[x] * 3);
                var weights = x * taps.Stride;
                for (var i = 0; i < taps.Count[x]; i++)
                {
                    var k = taps.Weights[weights + i];
                    var p = from + (i * 3);
                    r += input[p] * k;
                    g += input[p + 1] * k;
                    b += input[p + 2] * k;
                }

                var q = ((y * outWidth) + x) * 3;
                (output[q], output[q + 1], output[q + 2]) = (Clip(r), Clip(g), Clip(b));
            }
        }

        return output;
    }

    /// <summary>Resamples each column of an RGB image, <paramref name="width"/> x <paramref name="height"/>, to <paramref name="outHeight"/>.</summary>
    private static byte[] Vertical(byte[] input, int width, int height, int outHeight)
    {
        var taps = Coefficients(height, outHeight);
        var output = new byte[width * outHeight * 3];
        var rowLength = width * 3;
        for (var y = 0; y < outHeight; y++)
        {
            var weights = y * taps.Stride;
            for (var s = 0; s < rowLength; s++)
            {
                var acc = 1 << (PrecisionBits - 1);
                var from = (taps.First[y] * rowLength) + s;
                for (var i = 0; i < taps.Count[y]; i++)
                {
                    acc += input[from + (i * rowLength)] * taps.Weights[weights + i];
                }

                output[(y * rowLength) + s] = Clip(acc);
            }
        }

        return output;
    }

    /// <summary>A pass's taps (see <see cref="Coefficients"/>).</summary>
    internal readonly record struct Taps(int[] First, int[] Count, int[] Weights, int Stride);
}
