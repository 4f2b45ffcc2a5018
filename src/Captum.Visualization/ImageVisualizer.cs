using TorchSharp;

namespace Captum.Visualization;

/// <summary>
/// Captum's image attribution visualization: <c>visualize_image_attr</c> and <c>visualize_image_attr_multiple</c> from
/// <c>captum/attr/_utils/visualization.py</c>, drawing into a <see cref="VisualizationFigure"/> (SVG with PNG panels)
/// instead of a matplotlib figure.
/// </summary>
/// <remarks>
/// <para>
/// Inputs are H x W x C float arrays (Captum's numpy layout), or TorchSharp tensors with an explicit
/// <see cref="TensorImageLayout"/> (see <see cref="TensorImages.ToHwcArray"/>). The attribution may have any number of
/// channels (they are summed); the original image must have the attribution's H and W and 1 or 3 channels.
/// </para>
/// <para>
/// Pixels are computed as matplotlib would draw them at the image's own resolution:
/// </para>
/// <list type="bullet">
/// <item><description>Original image: values whose maximum is at most 1 are taken as [0, 1] and become
/// <c>clip(int(v * 255), 0, 255)</c> (Captum's <c>_prepare_image(original_image * 255)</c>); otherwise the values are
/// taken as [0, 255] and truncated and clipped the same way. (matplotlib itself would clip float RGB above 1 to white; the
/// port assumes 0-255 intent.) One channel is drawn grey (matplotlib would use its default colour map, viridis).</description></item>
/// <item><description>Heat map: the normalised map (<see cref="AttributionNormalization.NormalizeAttr(float[,,], VisualizationSign, double)"/>)
/// through the colour map with vmin/vmax -1/1 for sign all and 0/1 otherwise (<c>imshow(norm_attr, cmap, vmin, vmax)</c>).</description></item>
/// <item><description>Blended heat map: the channel mean of the prepared original image, scaled from its own minimum
/// (black) to maximum (white) through "gray" (matplotlib's autoscaling; a constant image is black), with the heat-map
/// colour laid over it: <c>out = round(a * heat + (1 - a) * grey)</c> per channel, a = <c>alpha_overlay</c> times the
/// colour map's alpha, opaque result. Hence a zero attribution (normalised to 0) gives
/// <c>round(alpha_overlay * cmap(0) + (1 - alpha_overlay) * grey)</c>, and alpha_overlay 0 gives the grey image
/// exactly.</description></item>
/// <item><description>Masked image: <c>clip(int(original * norm), 0, 255)</c> (<c>_prepare_image(original_image * norm_attr)</c>).</description></item>
/// <item><description>Alpha scaling: the prepared original's colours with alpha <c>clip(int(norm * 255), 0, 255)</c>.</description></item>
/// </list>
/// <para>
/// Captum's <c>use_pyplot</c> has no equivalent: nothing is shown; write the figure with
/// <see cref="VisualizationFigure.ToSvg"/> or put it in an <see cref="HtmlReport"/>. Captum's <c>plt_fig_axis</c> is
/// the <c>panel</c> argument. Captum raises <c>AssertionError</c>/<c>ValueError</c>; the port throws
/// <see cref="ArgumentException"/> (or a subclass) naming the argument.
/// </para>
/// </remarks>
public static class ImageVisualizer
{
    /// <summary>
    /// Draws one visualization of an attribution into a panel. Captum: <c>visualize_image_attr(attr, original_image,
    /// method, sign, plt_fig_axis, outlier_perc, cmap, alpha_overlay, show_colorbar, title, fig_size, use_pyplot)</c>.
    /// </summary>
    /// <param name="attr">The attribution, H x W x C.</param>
    /// <param name="originalImage">The image, H x W x C with C 1 or 3, in [0, 1] or [0, 255]; required for every
    /// method except <see cref="ImageVisualizationMethod.HeatMap"/>.</param>
    /// <param name="method">How to draw (<c>method</c>, default heat map).</param>
    /// <param name="sign">Which attributions to show (<c>sign</c>, default absolute value).</param>
    /// <param name="panel">The panel to draw into (<c>plt_fig_axis</c>); null creates a figure of
    /// <paramref name="figSize"/> with one panel.</param>
    /// <param name="outlierPerc">The outlier percentage (<c>outlier_perc</c>), in [0, 100); default 2.</param>
    /// <param name="cmap">The colour map for heat maps (<c>cmap</c>); null picks Captum's default for the sign
    /// (<see cref="ColorMap.DefaultFor"/>).</param>
    /// <param name="alphaOverlay">The heat map's opacity over the grey image for the blended heat map
    /// (<c>alpha_overlay</c>), in [0, 1]; default 0.5.</param>
    /// <param name="showColorBar">Whether to draw a colour bar under heat maps (<c>show_colorbar</c>); for other methods
    /// its space is kept empty, as in Captum.</param>
    /// <param name="title">The panel title (<c>title</c>), or null.</param>
    /// <param name="figSize">The size of a new figure in inches (<c>fig_size</c>); default (6, 6).</param>
    /// <returns>The figure and the panel drawn.</returns>
    /// <exception cref="ArgumentException">See the class remarks; the exception names the offending argument.</exception>
    public static (VisualizationFigure Figure, FigurePanel Panel) VisualizeImageAttr(
        float[,,] attr,
        float[,,]? originalImage = null,
        ImageVisualizationMethod method = ImageVisualizationMethod.HeatMap,
        VisualizationSign sign = VisualizationSign.AbsoluteValue,
        FigurePanel? panel = null,
        double outlierPerc = 2,
        ColorMap? cmap = null,
        double alphaOverlay = 0.5,
        bool showColorBar = false,
        string? title = null,
        FigureSize? figSize = null)
    {
        figSize?.Validate(nameof(figSize));
        var (image, bar) = Render(attr, originalImage, method, sign, outlierPerc, cmap, alphaOverlay, nameof(attr), nameof(originalImage), nameof(method), nameof(sign), nameof(outlierPerc), nameof(alphaOverlay));
        panel ??= new VisualizationFigure(figSize ?? FigureSize.Single).AddPanel();
        Apply(panel, image, bar, showColorBar, title);
        return (panel.Figure, panel);
    }

    /// <summary>
    /// Draws one visualization of a tensor attribution (see
    /// <see cref="VisualizeImageAttr(float[,,], float[,,], ImageVisualizationMethod, VisualizationSign, FigurePanel, double, ColorMap, double, bool, string, FigureSize?)"/>).
    /// </summary>
    /// <param name="attr">The attribution tensor in <paramref name="layout"/> (2-D, 3-D, or 4-D with batch 1).</param>
    /// <param name="originalImage">The image tensor in the same layout, or null.</param>
    /// <param name="layout">Channels first (C x H x W, PyTorch's convention) or channels last (H x W x C).</param>
    /// <param name="method">How to draw (<c>method</c>).</param>
    /// <param name="sign">Which attributions to show (<c>sign</c>).</param>
    /// <param name="panel">The panel to draw into (<c>plt_fig_axis</c>), or null.</param>
    /// <param name="outlierPerc">The outlier percentage (<c>outlier_perc</c>), in [0, 100).</param>
    /// <param name="cmap">The colour map for heat maps (<c>cmap</c>), or null for the default.</param>
    /// <param name="alphaOverlay">The heat map's opacity for the blended heat map (<c>alpha_overlay</c>).</param>
    /// <param name="showColorBar">Whether to draw a colour bar (<c>show_colorbar</c>).</param>
    /// <param name="title">The panel title (<c>title</c>), or null.</param>
    /// <param name="figSize">The size of a new figure in inches (<c>fig_size</c>).</param>
    /// <returns>The figure and the panel drawn.</returns>
    public static (VisualizationFigure Figure, FigurePanel Panel) VisualizeImageAttr(
        torch.Tensor attr,
        torch.Tensor? originalImage,
        TensorImageLayout layout,
        ImageVisualizationMethod method = ImageVisualizationMethod.HeatMap,
        VisualizationSign sign = VisualizationSign.AbsoluteValue,
        FigurePanel? panel = null,
        double outlierPerc = 2,
        ColorMap? cmap = null,
        double alphaOverlay = 0.5,
        bool showColorBar = false,
        string? title = null,
        FigureSize? figSize = null)
    {
        var a = TensorImages.ToHwc(attr, layout, nameof(attr));
        var o = originalImage is null ? null : TensorImages.ToHwc(originalImage, layout, nameof(originalImage));
        return VisualizeImageAttr(a, o, method, sign, panel, outlierPerc, cmap, alphaOverlay, showColorBar, title, figSize);
    }

    /// <summary>
    /// Draws several visualizations of one attribution side by side in a new figure. Captum:
    /// <c>visualize_image_attr_multiple(attr, original_image, methods, signs, titles, fig_size, use_pyplot, **kwargs)</c>,
    /// where the keyword arguments passed on to every panel are <paramref name="outlierPerc"/>, <paramref name="cmap"/>,
    /// <paramref name="alphaOverlay"/> and <paramref name="showColorBar"/>.
    /// </summary>
    /// <param name="attr">The attribution, H x W x C.</param>
    /// <param name="originalImage">The image, H x W x C with C 1 or 3, or null when every method is a heat map.</param>
    /// <param name="methods">One method a panel (<c>methods</c>); at least one.</param>
    /// <param name="signs">One sign a panel (<c>signs</c>); as many as methods.</param>
    /// <param name="titles">One title a panel (<c>titles</c>), as many as methods, or null for none.</param>
    /// <param name="figSize">The figure size in inches (<c>fig_size</c>); default (8, 6).</param>
    /// <param name="outlierPerc">The outlier percentage, in [0, 100); default 2.</param>
    /// <param name="cmap">The colour map for heat maps, or null for each sign's default.</param>
    /// <param name="alphaOverlay">The heat map's opacity for blended heat maps, in [0, 1]; default 0.5.</param>
    /// <param name="showColorBar">Whether to draw colour bars.</param>
    /// <returns>The figure and its panels, left to right.</returns>
    /// <exception cref="ArgumentException">Lengths that differ, no methods, or any error of a single panel.</exception>
    public static (VisualizationFigure Figure, IReadOnlyList<FigurePanel> Panels) VisualizeImageAttrMultiple(
        float[,,] attr,
        float[,,]? originalImage,
        IReadOnlyList<ImageVisualizationMethod> methods,
        IReadOnlyList<VisualizationSign> signs,
        IReadOnlyList<string>? titles = null,
        FigureSize? figSize = null,
        double outlierPerc = 2,
        ColorMap? cmap = null,
        double alphaOverlay = 0.5,
        bool showColorBar = false)
    {
        ArgumentNullException.ThrowIfNull(methods);
        ArgumentNullException.ThrowIfNull(signs);
        if (methods.Count == 0)
        {
            throw new ArgumentException("At least one visualization method is needed.", nameof(methods));
        }

        if (signs.Count != methods.Count)
        {
            throw new ArgumentException($"Methods and signs array lengths must match: {methods.Count} methods, {signs.Count} signs.", nameof(signs));
        }

        if (titles is not null && titles.Count != methods.Count)
        {
            throw new ArgumentException($"If titles list is given, length must match that of methods list: {methods.Count} methods, {titles.Count} titles.", nameof(titles));
        }

        figSize?.Validate(nameof(figSize));

        // Render everything first so that a bad argument leaves no half-drawn figure behind.
        var rendered = new List<(RgbaImage Image, ColorBar? Bar)>(methods.Count);
        for (var i = 0; i < methods.Count; i++)
        {
            rendered.Add(Render(attr, originalImage, methods[i], signs[i], outlierPerc, cmap, alphaOverlay, nameof(attr), nameof(originalImage), nameof(methods), nameof(signs), nameof(outlierPerc), nameof(alphaOverlay)));
        }

        var figure = VisualizationFigure.Subplots(methods.Count, figSize ?? FigureSize.Multiple);
        for (var i = 0; i < methods.Count; i++)
        {
            Apply(figure.Panels[i], rendered[i].Image, rendered[i].Bar, showColorBar, titles?[i]);
        }

        return (figure, figure.Panels);
    }

    /// <summary>
    /// Draws several visualizations of a tensor attribution side by side (see
    /// <see cref="VisualizeImageAttrMultiple(float[,,], float[,,], IReadOnlyList{ImageVisualizationMethod}, IReadOnlyList{VisualizationSign}, IReadOnlyList{string}, FigureSize?, double, ColorMap, double, bool)"/>).
    /// </summary>
    /// <param name="attr">The attribution tensor in <paramref name="layout"/>.</param>
    /// <param name="originalImage">The image tensor in the same layout, or null.</param>
    /// <param name="layout">Channels first or channels last.</param>
    /// <param name="methods">One method a panel.</param>
    /// <param name="signs">One sign a panel.</param>
    /// <param name="titles">One title a panel, or null.</param>
    /// <param name="figSize">The figure size in inches; default (8, 6).</param>
    /// <param name="outlierPerc">The outlier percentage, in [0, 100).</param>
    /// <param name="cmap">The colour map for heat maps, or null.</param>
    /// <param name="alphaOverlay">The heat map's opacity for blended heat maps.</param>
    /// <param name="showColorBar">Whether to draw colour bars.</param>
    /// <returns>The figure and its panels.</returns>
    public static (VisualizationFigure Figure, IReadOnlyList<FigurePanel> Panels) VisualizeImageAttrMultiple(
        torch.Tensor attr,
        torch.Tensor? originalImage,
        TensorImageLayout layout,
        IReadOnlyList<ImageVisualizationMethod> methods,
        IReadOnlyList<VisualizationSign> signs,
        IReadOnlyList<string>? titles = null,
        FigureSize? figSize = null,
        double outlierPerc = 2,
        ColorMap? cmap = null,
        double alphaOverlay = 0.5,
        bool showColorBar = false)
    {
        var a = TensorImages.ToHwc(attr, layout, nameof(attr));
        var o = originalImage is null ? null : TensorImages.ToHwc(originalImage, layout, nameof(originalImage));
        return VisualizeImageAttrMultiple(a, o, methods, signs, titles, figSize, outlierPerc, cmap, alphaOverlay, showColorBar);
    }

    /// <summary>
    /// The bitmap of one visualization, without a figure: W x H pixels computed as described in the class remarks.
    /// </summary>
    /// <param name="attr">The attribution, H x W x C.</param>
    /// <param name="originalImage">The image, H x W x C with C 1 or 3, or null for a heat map.</param>
    /// <param name="method">How to draw.</param>
    /// <param name="sign">Which attributions to show.</param>
    /// <param name="outlierPerc">The outlier percentage, in [0, 100).</param>
    /// <param name="cmap">The colour map for heat maps, or null for the sign's default.</param>
    /// <param name="alphaOverlay">The heat map's opacity for the blended heat map, in [0, 1].</param>
    /// <returns>The bitmap.</returns>
    public static RgbaImage RenderImageAttr(
        float[,,] attr,
        float[,,]? originalImage = null,
        ImageVisualizationMethod method = ImageVisualizationMethod.HeatMap,
        VisualizationSign sign = VisualizationSign.AbsoluteValue,
        double outlierPerc = 2,
        ColorMap? cmap = null,
        double alphaOverlay = 0.5) =>
        Render(attr, originalImage, method, sign, outlierPerc, cmap, alphaOverlay, nameof(attr), nameof(originalImage), nameof(method), nameof(sign), nameof(outlierPerc), nameof(alphaOverlay)).Image;

    /// <summary>Captum's heat-map bounds for a sign: (-1, 1) for all, (0, 1) otherwise.</summary>
    /// <param name="sign">The sign.</param>
    /// <returns>vmin and vmax.</returns>
    public static (double VMin, double VMax) HeatMapRange(VisualizationSign sign) =>
        sign == VisualizationSign.All ? (-1.0, 1.0) : (0.0, 1.0);

    private static void Apply(FigurePanel panel, RgbaImage image, ColorBar? bar, bool showColorBar, string? title)
    {
        panel.Image = image;
        panel.ColorBar = showColorBar ? bar : null;
        panel.ReserveColorBarSpace = showColorBar;
        if (!string.IsNullOrEmpty(title))
        {
            panel.Title = title;
        }
    }

    private static (RgbaImage Image, ColorBar? Bar) Render(
        float[,,] attr,
        float[,,]? originalImage,
        ImageVisualizationMethod method,
        VisualizationSign sign,
        double outlierPerc,
        ColorMap? cmap,
        double alphaOverlay,
        string attrName,
        string imageName,
        string methodName,
        string signName,
        string outlierName,
        string alphaName)
    {
        ArgumentNullException.ThrowIfNull(attr, attrName);
        int h = attr.GetLength(0), w = attr.GetLength(1), c = attr.GetLength(2);
        if (h == 0 || w == 0 || c == 0)
        {
            throw new ArgumentException($"The attribution must be non-empty H x W x C; got {h} x {w} x {c}.", attrName);
        }

        if (!Enum.IsDefined(method))
        {
            throw new ArgumentOutOfRangeException(methodName, method, "Visualize Method type is not valid.");
        }

        if (!Enum.IsDefined(sign))
        {
            throw new ArgumentOutOfRangeException(signName, sign, "Visualize Sign type is not valid.");
        }

        AttributionNormalization.CheckOutlierPerc(outlierPerc, outlierName);
        if (!(alphaOverlay >= 0 && alphaOverlay <= 1))
        {
            throw new ArgumentOutOfRangeException(alphaName, alphaOverlay, "alpha_overlay must be in [0, 1].");
        }

        if (originalImage is not null)
        {
            int ih = originalImage.GetLength(0), iw = originalImage.GetLength(1), ic = originalImage.GetLength(2);
            if (ih != h || iw != w)
            {
                throw new ArgumentException($"The original image is {ih} x {iw} x {ic} but the attribution is {h} x {w} x {c}; height and width must match.", imageName);
            }

            if (ic is not (1 or 3))
            {
                throw new ArgumentException($"The original image must have 1 or 3 channels (H x W x C); got {ic}.", imageName);
            }
        }
        else if (method != ImageVisualizationMethod.HeatMap)
        {
            throw new ArgumentNullException(imageName, $"Original Image must be provided for any visualization other than heatmap (method {method}).");
        }

        if (sign == VisualizationSign.All && method is ImageVisualizationMethod.MaskedImage or ImageVisualizationMethod.AlphaScaling)
        {
            throw new ArgumentException($"Cannot display {method} with both positive and negative attributions, choose a different sign option.", signName);
        }

        // The original image alone never reads the attribution (as in Captum), so it is not normalised then.
        var norm = new float[h, w];
        if (method != ImageVisualizationMethod.OriginalImage)
        {
            try
            {
                norm = AttributionNormalization.NormalizeAttr(attr, sign, outlierPerc);
            }
            catch (ArgumentException ex) when (ex.ParamName == "attr")
            {
                throw new ArgumentException(ErrorMessages.Bare(ex), attrName, ex);
            }
        }

        var original = originalImage is null ? null : PrepareOriginal(originalImage, imageName);
        var map = cmap ?? ColorMap.DefaultFor(sign);
        var (vmin, vmax) = HeatMapRange(sign);
        var image = new RgbaImage(w, h);
        ColorBar? bar = null;
        switch (method)
        {
            case ImageVisualizationMethod.OriginalImage:
                for (var y = 0; y < h; y++)
                {
                    for (var x = 0; x < w; x++)
                    {
                        image[x, y] = OriginalPixel(original!, y, x);
                    }
                }

                break;

            case ImageVisualizationMethod.HeatMap:
                for (var y = 0; y < h; y++)
                {
                    for (var x = 0; x < w; x++)
                    {
                        image[x, y] = HeatColor(map, norm[y, x], vmin, vmax).ToPixel();
                    }
                }

                bar = new ColorBar(map, vmin, vmax);
                break;

            case ImageVisualizationMethod.BlendedHeatMap:
                var grey = GreyPixels(original!);
                for (var y = 0; y < h; y++)
                {
                    for (var x = 0; x < w; x++)
                    {
                        var heat = HeatColor(map, norm[y, x], vmin, vmax).ToPixel();
                        var g = grey[y, x];
                        var a = alphaOverlay * (heat.A / 255.0);
                        image[x, y] = new PixelRgba(Blend(heat.R, g, a), Blend(heat.G, g, a), Blend(heat.B, g, a));
                    }
                }

                bar = new ColorBar(map, vmin, vmax, alphaOverlay);
                break;

            case ImageVisualizationMethod.MaskedImage:
                for (var y = 0; y < h; y++)
                {
                    for (var x = 0; x < w; x++)
                    {
                        double n = norm[y, x];
                        var r = ToByte(original![y, x, 0] * n);
                        if (original.GetLength(2) == 1)
                        {
                            image[x, y] = new PixelRgba(r, r, r);
                        }
                        else
                        {
                            image[x, y] = new PixelRgba(r, ToByte(original[y, x, 1] * n), ToByte(original[y, x, 2] * n));
                        }
                    }
                }

                break;

            case ImageVisualizationMethod.AlphaScaling:
                for (var y = 0; y < h; y++)
                {
                    for (var x = 0; x < w; x++)
                    {
                        var p = OriginalPixel(original!, y, x);
                        image[x, y] = p with { A = ToByte(norm[y, x] * 255f) };
                    }
                }

                break;
        }

        return (image, bar);
    }

    /// <summary>
    /// Captum's handling of the original image: if its maximum is at most 1, <c>_prepare_image(original_image * 255)</c>,
    /// i.e. truncated and clipped to [0, 255]; otherwise the values as given.
    /// </summary>
    private static float[,,] PrepareOriginal(float[,,] image, string paramName)
    {
        var max = float.NegativeInfinity;
        foreach (var v in image)
        {
            if (!float.IsFinite(v))
            {
                throw new ArgumentException("The original image contains NaN or infinite values.", paramName);
            }

            max = Math.Max(max, v);
        }

        if (max > 1.0f)
        {
            return image;
        }

        int h = image.GetLength(0), w = image.GetLength(1), c = image.GetLength(2);
        var prepared = new float[h, w, c];
        for (var y = 0; y < h; y++)
        {
            for (var x = 0; x < w; x++)
            {
                for (var k = 0; k < c; k++)
                {
                    prepared[y, x, k] = ToByte(image[y, x, k] * 255f);
                }
            }
        }

        return prepared;
    }

    private static PixelRgba OriginalPixel(float[,,] original, int y, int x)
    {
        var r = ToByte(original[y, x, 0]);
        return original.GetLength(2) == 1
            ? new PixelRgba(r, r, r)
            : new PixelRgba(r, ToByte(original[y, x, 1]), ToByte(original[y, x, 2]));
    }

    /// <summary>The grey underlay of the blended heat map: <c>imshow(np.mean(original_image, axis=2), cmap="gray")</c>.</summary>
    private static byte[,] GreyPixels(float[,,] original)
    {
        int h = original.GetLength(0), w = original.GetLength(1), c = original.GetLength(2);
        var mean = new double[h, w];
        double min = double.PositiveInfinity, max = double.NegativeInfinity;
        for (var y = 0; y < h; y++)
        {
            for (var x = 0; x < w; x++)
            {
                var sum = 0.0;
                for (var k = 0; k < c; k++)
                {
                    sum += original[y, x, k];
                }

                var m = sum / c;
                mean[y, x] = m;
                min = Math.Min(min, m);
                max = Math.Max(max, m);
            }
        }

        var grey = new byte[h, w];
        for (var y = 0; y < h; y++)
        {
            for (var x = 0; x < w; x++)
            {
                grey[y, x] = ColorMap.Gray.Map(mean[y, x], min, max).ToPixel().R;
            }
        }

        return grey;
    }

    /// <summary>matplotlib's <c>Normalize(vmin, vmax)</c> then the map, in float32 as on Captum's float32 maps.</summary>
    private static RgbaColor HeatColor(ColorMap map, float value, double vmin, double vmax) =>
        map.MapFloat((value - (float)vmin) / ((float)vmax - (float)vmin));

    private static byte Blend(byte heat, byte grey, double alpha) =>
        (byte)Math.Clamp(Math.Round((alpha * heat) + ((1 - alpha) * grey), MidpointRounding.AwayFromZero), 0, 255);

    /// <summary><c>np.clip(v.astype(int), 0, 255)</c>: truncation toward zero, then clipping.</summary>
    private static byte ToByte(double v)
    {
        if (double.IsNaN(v) || v <= 0)
        {
            return 0;
        }

        return v >= 255 ? (byte)255 : (byte)Math.Truncate(v);
    }
}
