namespace Captum.Attr;

/// <summary>
/// What the layer perturbation methods (LayerFeatureAblation, LayerFeaturePermutation) share in checking their
/// arguments: they run an input method over the layer's tensors, whose errors must name the layer-side argument.
/// </summary>
internal static class LayerArguments
{
    /// <summary>
    /// Runs <paramref name="check"/>; an <see cref="ArgumentException"/> it throws about <paramref name="from"/> is
    /// rethrown about <paramref name="to"/> (Python name <paramref name="python"/>), its message kept.
    /// </summary>
    public static T Renamed<T>(Func<T> check, string from, string to, string python)
    {
        try
        {
            return check();
        }
        catch (ArgumentException ex) when (ex.ParamName == from)
        {
            throw ErrorMessages.Renamed(ex, to, $"{to} ({python}), checked against the layer's tensors");
        }
    }
}
