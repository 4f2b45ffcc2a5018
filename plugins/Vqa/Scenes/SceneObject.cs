namespace Captum.Plugins.Vqa.Scenes;

/// <summary>An object of a scene: shape, colour, its drawn RGB value, centre and radius.</summary>
/// <param name="Shape">The shape.</param>
/// <param name="Color">The colour name.</param>
/// <param name="Rgb">The RGB value its pixels are drawn in (the colour's base value, slightly varied).</param>
/// <param name="CenterX">The centre's x, in pixels from the left edge (pixel x covers [x, x + 1)).</param>
/// <param name="CenterY">The centre's y, in pixels from the top edge.</param>
/// <param name="Radius">Half the side of the square box the shape fits in.</param>
public sealed record SceneObject(SceneShape Shape, SceneColor Color, (byte R, byte G, byte B) Rgb, int CenterX, int CenterY, int Radius)
{
    /// <summary>Whether the point (<paramref name="x"/>, <paramref name="y"/>) lies inside the shape.</summary>
    public bool Contains(double x, double y)
    {
        var dx = x - CenterX;
        var dy = y - CenterY;
        switch (Shape)
        {
            case SceneShape.Circle:
                return (dx * dx) + (dy * dy) <= Radius * Radius;
            case SceneShape.Square:
                var half = Radius * 0.85;
                return Math.Abs(dx) <= half && Math.Abs(dy) <= half;
            case SceneShape.Triangle:
                // Apex at the top of the box, base 1.8 radii below it, as wide as the box.
                var height = 1.8 * Radius;
                var fromApex = dy + Radius;
                return fromApex >= 0 && fromApex <= height && Math.Abs(dx) <= Radius * fromApex / height;
            default:
                return false;
        }
    }

    /// <summary>The side of a <paramref name="size"/>-pixel image the object is clearly nearest to, or null when that is unclear.</summary>
    /// <remarks>
    /// The centre must lie at least 10 pixels from the image centre along the chosen axis, and 6 pixels further
    /// along it than along the other axis, so that no answer sits near a diagonal.
    /// </remarks>
    public ScenePlace? Place(int size)
    {
        var dx = CenterX - (size / 2.0);
        var dy = CenterY - (size / 2.0);
        if (Math.Abs(dx) >= Math.Abs(dy) + 6 && Math.Abs(dx) >= 10)
        {
            return dx < 0 ? ScenePlace.Left : ScenePlace.Right;
        }

        if (Math.Abs(dy) >= Math.Abs(dx) + 6 && Math.Abs(dy) >= 10)
        {
            return dy < 0 ? ScenePlace.Top : ScenePlace.Bottom;
        }

        return null;
    }
}
