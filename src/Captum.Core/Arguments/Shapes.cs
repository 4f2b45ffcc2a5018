namespace Captum;

/// <summary>Formatting of tensor shapes for error messages.</summary>
internal static class Shapes
{
    public static string Format(long[] shape) => "[" + string.Join(", ", shape) + "]";
}
