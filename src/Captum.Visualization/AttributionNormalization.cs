namespace Captum.Visualization;

/// <summary>
/// Captum's normalisation of attributions for display: <c>_normalize_attr</c>, <c>_normalize_scale</c> and
/// <c>_cumulative_sum_threshold</c> from <c>captum/attr/_utils/visualization.py</c>.
/// </summary>
/// <remarks>
/// <para>
/// The arithmetic follows numpy on float32 data: channels are summed in float32, the sorted values are accumulated in
/// float32 (<c>np.cumsum</c>), the cut-off <c>cum_sums[-1] * 0.01 * percentile</c> is compared in float32, and the
/// division by the threshold and the clipping to [-1, 1] are done in float32.
/// </para>
/// <para>
/// One deliberate difference: when the threshold is 0 (every attribution of the chosen sign is 0, e.g. an all-zero
/// attribution, or sign positive with no positive value) Captum fails an assertion ("Cannot normalize by scale factor =
/// 0"); this port returns a map of zeros instead, so that such an attribution can still be drawn.
/// </para>
/// </remarks>
public static class AttributionNormalization
{
    /// <summary>
    /// Normalises an H x W x C attribution for display: channels summed, the chosen sign selected, and values scaled
    /// by the threshold below which <c>100 - outlierPerc</c> percent of the (absolute) attribution mass lies, then
    /// clipped to [-1, 1]. Captum: <c>_normalize_attr(attr, sign, outlier_perc, reduction_axis=2)</c>.
    /// </summary>
    /// <param name="attr">The attribution, H x W x C; every value finite.</param>
    /// <param name="sign">Which attributions to keep: all gives values in [-1, 1]; positive, negative (by magnitude)
    /// and absolute value give values in [0, 1].</param>
    /// <param name="outlierPerc">The percentage of attribution mass, taken from the largest values, treated as
    /// outliers and saturated at 1; in [0, 100). Default 2.</param>
    /// <returns>The normalised H x W map.</returns>
    /// <exception cref="ArgumentException">An empty or non-finite attribution, or outlierPerc outside [0, 100).</exception>
    public static float[,] NormalizeAttr(float[,,] attr, VisualizationSign sign = VisualizationSign.AbsoluteValue, double outlierPerc = 2)
    {
        ArgumentNullException.ThrowIfNull(attr);
        int h = attr.GetLength(0), w = attr.GetLength(1), c = attr.GetLength(2);
        if (h == 0 || w == 0 || c == 0)
        {
            throw new ArgumentException($"The attribution must be non-empty H x W x C; got {h} x {w} x {c}.", nameof(attr));
        }

        var combined = new float[h * w];
        for (var y = 0; y < h; y++)
        {
            for (var x = 0; x < w; x++)
            {
                var sum = 0f;
                for (var k = 0; k < c; k++)
                {
                    sum += attr[y, x, k];
                }

                combined[(y * w) + x] = sum;
            }
        }

        var flat = NormalizeCore(combined, sign, outlierPerc, nameof(attr), nameof(outlierPerc));
        var result = new float[h, w];
        Buffer.BlockCopy(flat, 0, result, 0, flat.Length * sizeof(float));
        return result;
    }

    /// <summary>
    /// Normalises an image attribution tensor (see <see cref="TensorImages.ToHwcArray"/> for the accepted shapes) as
    /// <see cref="NormalizeAttr(float[,,], VisualizationSign, double)"/>: channels summed.
    /// </summary>
    /// <param name="attr">The attribution tensor.</param>
    /// <param name="layout">Channels first (C x H x W) or channels last (H x W x C).</param>
    /// <param name="sign">Which attributions to keep.</param>
    /// <param name="outlierPerc">The outlier percentage, in [0, 100). Default 2.</param>
    /// <returns>The normalised H x W map.</returns>
    public static float[,] NormalizeAttr(TorchSharp.torch.Tensor attr, TensorImageLayout layout, VisualizationSign sign = VisualizationSign.AbsoluteValue, double outlierPerc = 2) =>
        NormalizeAttr(TensorImages.ToHwc(attr, layout, nameof(attr)), sign, outlierPerc);

    /// <summary>
    /// Normalises an H x W attribution (already one value a pixel) for display, as
    /// <see cref="NormalizeAttr(float[,,], VisualizationSign, double)"/> without the channel sum.
    /// Captum: <c>_normalize_attr(attr, sign, outlier_perc, reduction_axis=None)</c>.
    /// </summary>
    /// <param name="attr">The attribution, H x W; every value finite.</param>
    /// <param name="sign">Which attributions to keep.</param>
    /// <param name="outlierPerc">The outlier percentage, in [0, 100). Default 2.</param>
    /// <returns>The normalised H x W map.</returns>
    /// <exception cref="ArgumentException">An empty or non-finite attribution, or outlierPerc outside [0, 100).</exception>
    public static float[,] NormalizeAttr(float[,] attr, VisualizationSign sign = VisualizationSign.AbsoluteValue, double outlierPerc = 2)
    {
        ArgumentNullException.ThrowIfNull(attr);
        int h = attr.GetLength(0), w = attr.GetLength(1);
        if (h == 0 || w == 0)
        {
            throw new ArgumentException($"The attribution must be non-empty H x W; got {h} x {w}.", nameof(attr));
        }

        var combined = new float[h * w];
        Buffer.BlockCopy(attr, 0, combined, 0, combined.Length * sizeof(float));
        var flat = NormalizeCore(combined, sign, outlierPerc, nameof(attr), nameof(outlierPerc));
        var result = new float[h, w];
        Buffer.BlockCopy(flat, 0, result, 0, flat.Length * sizeof(float));
        return result;
    }

    /// <summary>
    /// Normalises a flat attribution (any shape, flattened) for display, as
    /// <see cref="NormalizeAttr(float[,], VisualizationSign, double)"/>.
    /// </summary>
    /// <param name="attr">The attribution values; every value finite.</param>
    /// <param name="sign">Which attributions to keep.</param>
    /// <param name="outlierPerc">The outlier percentage, in [0, 100). Default 2.</param>
    /// <returns>The normalised values, in the same order.</returns>
    /// <exception cref="ArgumentException">An empty or non-finite attribution, or outlierPerc outside [0, 100).</exception>
    public static float[] NormalizeAttr(ReadOnlySpan<float> attr, VisualizationSign sign = VisualizationSign.AbsoluteValue, double outlierPerc = 2)
    {
        if (attr.IsEmpty)
        {
            throw new ArgumentException("The attribution must not be empty.", nameof(attr));
        }

        return NormalizeCore(attr.ToArray(), sign, outlierPerc, nameof(attr), nameof(outlierPerc));
    }

    /// <summary>
    /// The value at which the cumulative sum of the sorted values first reaches <paramref name="percentile"/> percent of
    /// their total. Captum: <c>_cumulative_sum_threshold(values, percentile)</c>.
    /// </summary>
    /// <param name="values">Non-negative values (not checked, as in Captum).</param>
    /// <param name="percentile">In [0, 100].</param>
    /// <returns>The threshold: one of the values.</returns>
    /// <exception cref="ArgumentException">No values, or percentile outside [0, 100].</exception>
    public static float CumulativeSumThreshold(ReadOnlySpan<float> values, double percentile)
    {
        if (values.IsEmpty)
        {
            throw new ArgumentException("No values to threshold.", nameof(values));
        }

        if (!(percentile >= 0 && percentile <= 100))
        {
            throw new ArgumentOutOfRangeException(nameof(percentile), percentile, "Percentile for thresholding must be between 0 and 100 inclusive.");
        }

        var sorted = values.ToArray();
        Array.Sort(sorted);
        var cum = new float[sorted.Length];
        var acc = 0f;
        for (var i = 0; i < sorted.Length; i++)
        {
            acc += sorted[i];
            cum[i] = acc;
        }

        var target = (float)((double)cum[^1] * 0.01 * percentile);
        for (var i = 0; i < cum.Length; i++)
        {
            if (cum[i] >= target)
            {
                return sorted[i];
            }
        }

        // Only reachable when the sums are not monotone (negative values given against the contract).
        return sorted[^1];
    }

    /// <summary>
    /// Divides by <paramref name="scaleFactor"/> and clips to [-1, 1]. Captum: <c>_normalize_scale(attr, scale_factor)</c>.
    /// </summary>
    /// <param name="attr">The values.</param>
    /// <param name="scaleFactor">The divisor; not 0.</param>
    /// <returns>The scaled, clipped values.</returns>
    /// <exception cref="ArgumentOutOfRangeException">scaleFactor is 0 or NaN.</exception>
    public static float[] NormalizeScale(ReadOnlySpan<float> attr, float scaleFactor)
    {
        if (scaleFactor == 0 || float.IsNaN(scaleFactor))
        {
            throw new ArgumentOutOfRangeException(nameof(scaleFactor), scaleFactor, "Cannot normalize by scale factor = 0.");
        }

        var result = new float[attr.Length];
        for (var i = 0; i < attr.Length; i++)
        {
            result[i] = Math.Clamp(attr[i] / scaleFactor, -1f, 1f);
        }

        return result;
    }

    /// <summary>Checks an outlier percentage: finite and in [0, 100).</summary>
    internal static void CheckOutlierPerc(double outlierPerc, string paramName)
    {
        if (!(outlierPerc >= 0 && outlierPerc < 100))
        {
            throw new ArgumentOutOfRangeException(paramName, outlierPerc, $"{paramName} must be in [0, 100) (a percentage of the attribution mass).");
        }
    }

    private static float[] NormalizeCore(float[] combined, VisualizationSign sign, double outlierPerc, string attrName, string outlierName)
    {
        CheckOutlierPerc(outlierPerc, outlierName);
        foreach (var v in combined)
        {
            if (!float.IsFinite(v))
            {
                throw new ArgumentException("The attribution contains NaN or infinite values.", attrName);
            }
        }

        var percentile = 100.0 - outlierPerc;
        float threshold;
        switch (sign)
        {
            case VisualizationSign.All:
                threshold = CumulativeSumThreshold(Abs(combined), percentile);
                break;
            case VisualizationSign.Positive:
                for (var i = 0; i < combined.Length; i++)
                {
                    combined[i] = combined[i] > 0 ? combined[i] : 0f;
                }

                threshold = CumulativeSumThreshold(combined, percentile);
                break;
            case VisualizationSign.Negative:
                for (var i = 0; i < combined.Length; i++)
                {
                    combined[i] = combined[i] < 0 ? combined[i] : 0f;
                }

                threshold = -1 * CumulativeSumThreshold(Abs(combined), percentile);
                break;
            case VisualizationSign.AbsoluteValue:
                combined = Abs(combined);
                threshold = CumulativeSumThreshold(combined, percentile);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(sign), sign, "Visualize Sign type is not valid.");
        }

        if (threshold == 0)
        {
            // Captum asserts here; every selected value is 0, so the normalised map is 0 everywhere.
            return new float[combined.Length];
        }

        return NormalizeScale(combined, threshold);
    }

    private static float[] Abs(float[] values)
    {
        var result = new float[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            result[i] = Math.Abs(values[i]);
        }

        return result;
    }
}
