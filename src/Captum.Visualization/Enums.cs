namespace Captum.Visualization;

/// <summary>How <see cref="ImageVisualizer.VisualizeImageAttr(float[,,], float[,,], ImageVisualizationMethod, VisualizationSign, FigurePanel, double, ColorMap, double, bool, string, FigureSize?)"/> draws an attribution.</summary>
/// <remarks>Captum: <c>captum.attr.visualization.ImageVisualizationMethod</c> (the <c>method</c> strings).</remarks>
public enum ImageVisualizationMethod
{
    /// <summary>The normalised attribution through a colour map (<c>"heat_map"</c>).</summary>
    HeatMap,

    /// <summary>The heat map laid over a grey version of the original image with alpha <c>alpha_overlay</c> (<c>"blended_heat_map"</c>).</summary>
    BlendedHeatMap,

    /// <summary>Only the original image (<c>"original_image"</c>).</summary>
    OriginalImage,

    /// <summary>The original image multiplied pixel by pixel by the normalised attribution (<c>"masked_image"</c>).</summary>
    MaskedImage,

    /// <summary>The original image with its alpha channel set to the normalised attribution (<c>"alpha_scaling"</c>).</summary>
    AlphaScaling,
}

/// <summary>Which attributions are shown and how they are normalised.</summary>
/// <remarks>Captum: <c>captum.attr.visualization.VisualizeSign</c> (the <c>sign</c> strings).</remarks>
public enum VisualizationSign
{
    /// <summary>Only positive attributions (<c>"positive"</c>); normalised into [0, 1]; default colour map "Greens".</summary>
    Positive,

    /// <summary>Absolute values (<c>"absolute_value"</c>); normalised into [0, 1]; default colour map "Blues".</summary>
    AbsoluteValue,

    /// <summary>Only negative attributions, shown by magnitude (<c>"negative"</c>); normalised into [0, 1]; default colour map "Reds".</summary>
    Negative,

    /// <summary>Positive and negative attributions (<c>"all"</c>); normalised into [-1, 1]; default colour map "RdWhGn".</summary>
    All,
}

/// <summary>The dimension order of an image tensor given to the tensor overloads.</summary>
/// <remarks>
/// Every tensor overload accepts a 2-D tensor (H x W, one channel), a 3-D tensor in the stated layout, or a 4-D tensor
/// whose leading batch dimension is 1 (1 x C x H x W or 1 x H x W x C), which is dropped. Captum itself takes numpy
/// arrays in H x W x C only; its tutorials transpose PyTorch's C x H x W with <c>np.transpose(t, (1, 2, 0))</c>.
/// </remarks>
public enum TensorImageLayout
{
    /// <summary>Channels first: C x H x W (PyTorch's convention for image tensors).</summary>
    Chw,

    /// <summary>Channels last: H x W x C (Captum's numpy convention).</summary>
    Hwc,
}
