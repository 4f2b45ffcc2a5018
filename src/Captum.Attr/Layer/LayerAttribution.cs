using Captum.Runtime;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>Helpers for layer attributions, shared by every layer method.</summary>
/// <remarks>Python: the static members of <c>captum.attr.LayerAttribution</c>.</remarks>
public static class LayerAttribution
{
    /// <summary>
    /// Resizes a 3-, 4- or 5-dimensional layer attribution ([n, channels, ...spatial]) to the given spatial size,
    /// typically to lay a convolutional layer's Grad-CAM map over the input image. The batch and channel
    /// dimensions are kept; the input tensor is not modified.
    /// </summary>
    /// <param name="layerAttribution">The attribution, [n, c, w], [n, c, h, w] or [n, c, d, h, w].</param>
    /// <param name="interpolateDims">The new spatial size: one entry per dimension after the first two.</param>
    /// <param name="interpolateMode">
    /// <see cref="InterpolationMode.Nearest"/> (default), <see cref="InterpolationMode.Area"/>,
    /// <see cref="InterpolationMode.NearestExact"/>, or the linear family matching the rank:
    /// <see cref="InterpolationMode.Linear"/> (3-D), <see cref="InterpolationMode.Bilinear"/> and
    /// <see cref="InterpolationMode.Bicubic"/> (4-D), <see cref="InterpolationMode.Trilinear"/> (5-D); corners are
    /// not aligned, as in PyTorch's default.
    /// </param>
    /// <returns>A new tensor [n, c, ...interpolateDims]; the caller disposes it.</returns>
    /// <exception cref="ArgumentException">The rank, the number of sizes or the mode does not fit.</exception>
    /// <remarks>Python: <c>LayerAttribution.interpolate(layer_attribution, interpolate_dims, interpolate_mode="nearest")</c>,
    /// i.e. <c>torch.nn.functional.interpolate</c>.</remarks>
    public static Tensor Interpolate(Tensor layerAttribution, IReadOnlyList<long> interpolateDims, InterpolationMode interpolateMode = InterpolationMode.Nearest)
    {
        ArgumentNullException.ThrowIfNull(layerAttribution);
        ArgumentNullException.ThrowIfNull(interpolateDims);
        TorchRuntime.EnsureAvailable();
        if (layerAttribution.IsInvalid)
        {
            throw new ArgumentException("layerAttribution has been disposed.", nameof(layerAttribution));
        }

        var rank = layerAttribution.dim();
        if (rank is < 3 or > 5)
        {
            throw new ArgumentException(
                $"layerAttribution has shape {Shapes.Format(layerAttribution.shape)}; interpolation needs 3 to 5 dimensions: [n, channels, ...1 to 3 spatial dimensions]. A Grad-CAM map of a 2-D convolution is [n, 1, h, w].",
                nameof(layerAttribution));
        }

        if (interpolateDims.Count != rank - 2)
        {
            throw new ArgumentException(
                $"interpolateDims gives {interpolateDims.Count} size(s) but layerAttribution of shape {Shapes.Format(layerAttribution.shape)} has {rank - 2} spatial dimension(s).",
                nameof(interpolateDims));
        }

        if (interpolateDims.Any(d => d < 1))
        {
            throw new ArgumentException($"interpolateDims must be positive sizes, got [{string.Join(", ", interpolateDims)}].", nameof(interpolateDims));
        }

        var needed = RankFor(interpolateMode) ?? rank;
        if (needed != rank)
        {
            throw new ArgumentException(
                $"interpolateMode {interpolateMode} works on {needed}-dimensional tensors, but layerAttribution has {rank} dimensions; use Nearest, Area, or the linear mode of that rank.",
                nameof(interpolateMode));
        }

        using var scope = torch.NewDisposeScope();
        // PyTorch's Python interpolate turns align_corners=None into False for the linear family silently; libtorch's
        // C++ one does the same but prints a warning on standard error at every call, so say False here.
        bool? alignCorners = RankFor(interpolateMode) is null ? null : false;
        var result = nn.functional.interpolate(layerAttribution, interpolateDims.ToArray(), mode: interpolateMode, align_corners: alignCorners);
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Resizes a layer attribution so that every spatial dimension gets the same size <paramref name="interpolateDim"/>.
    /// </summary>
    /// <param name="layerAttribution">The attribution, [n, c, w], [n, c, h, w] or [n, c, d, h, w].</param>
    /// <param name="interpolateDim">The size of every spatial dimension.</param>
    /// <param name="interpolateMode">The interpolation mode; see the other overload.</param>
    /// <returns>A new tensor; the caller disposes it.</returns>
    /// <exception cref="ArgumentException">The rank or the mode does not fit.</exception>
    /// <remarks>Python: <c>LayerAttribution.interpolate</c> with an int <c>interpolate_dims</c>.</remarks>
    public static Tensor Interpolate(Tensor layerAttribution, long interpolateDim, InterpolationMode interpolateMode = InterpolationMode.Nearest)
    {
        ArgumentNullException.ThrowIfNull(layerAttribution);
        var spatial = layerAttribution.IsInvalid ? 0 : Math.Max(0, (int)layerAttribution.dim() - 2);
        return Interpolate(layerAttribution, Enumerable.Repeat(interpolateDim, Math.Max(spatial, 1)).ToArray(), interpolateMode);
    }

    /// <summary>
    /// The rank of the tensors <paramref name="mode"/> works on (3 for linear, 4 for bilinear and bicubic, 5 for
    /// trilinear), or null for the modes that work on any of them.
    /// </summary>
    internal static int? RankFor(InterpolationMode mode) => mode switch
    {
        InterpolationMode.Linear => 3,
        InterpolationMode.Bilinear or InterpolationMode.Bicubic => 4,
        InterpolationMode.Trilinear => 5,
        _ => null,
    };

    /// <summary>Moves per-layer tensors out of the current dispose scope, as a result.</summary>
    internal static IReadOnlyList<Tensor>[] MoveOut(IEnumerable<IEnumerable<Tensor>> layers) =>
        layers.Select(l => (IReadOnlyList<Tensor>)l.Select(t => t.MoveToOuterDisposeScope()).ToArray()).ToArray();
}
