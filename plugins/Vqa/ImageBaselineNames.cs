namespace Captum.Plugins.Vqa;

/// <summary>The names of <see cref="ImageBaseline"/> in options, settings and checkpoints: <c>zero</c>, <c>median-color</c>.</summary>
public static class ImageBaselineNames
{
    /// <summary>The name of <see cref="ImageBaseline.Zero"/>.</summary>
    public const string Zero = "zero";

    /// <summary>The name of <see cref="ImageBaseline.MedianColor"/>.</summary>
    public const string MedianColor = "median-color";

    /// <summary>The name of <paramref name="baseline"/>.</summary>
    public static string Name(ImageBaseline baseline) => baseline == ImageBaseline.MedianColor ? MedianColor : Zero;

    /// <summary>The baseline a name means.</summary>
    /// <param name="name">A name.</param>
    /// <param name="argumentName">The argument an error names.</param>
    /// <exception cref="ArgumentException">The name is neither.</exception>
    public static ImageBaseline Parse(string name, string argumentName) => name switch
    {
        Zero => ImageBaseline.Zero,
        MedianColor => ImageBaseline.MedianColor,
        _ => throw new ArgumentException($"{argumentName} must be {Zero} or {MedianColor}, not '{name}'.", argumentName),
    };
}
