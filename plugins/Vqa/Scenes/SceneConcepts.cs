namespace Captum.Plugins.Vqa.Scenes;

/// <summary>
/// Scenes that show a concept, made from generated scenes by repainting their objects: every object in one colour
/// (shapes as generated), or every object a circle (colours as generated); the background, positions and sizes stay.
/// </summary>
public static class SceneConcepts
{
    /// <summary>The scene with every object painted <paramref name="color"/> (keeping each object's small variation around its colour).</summary>
    public static Scene InColor(Scene scene, SceneColor color)
    {
        ArgumentNullException.ThrowIfNull(scene);
        var (r, g, b) = SceneWords.Rgb(color);
        return Repaint(scene, o =>
        {
            var (r0, g0, b0) = SceneWords.Rgb(o.Color);
            byte Shift(byte value, byte from, byte to) => (byte)Math.Clamp(to + (value - from), 0, 255);
            return o with { Color = color, Rgb = (Shift(o.Rgb.R, r0, r), Shift(o.Rgb.G, g0, g), Shift(o.Rgb.B, b0, b)) };
        });
    }

    /// <summary>The scene with every object drawn as <paramref name="shape"/>, in its own colour, place and size.</summary>
    public static Scene InShape(Scene scene, SceneShape shape)
    {
        ArgumentNullException.ThrowIfNull(scene);
        return Repaint(scene, o => o with { Shape = shape });
    }

    /// <summary>The scene's objects changed by <paramref name="change"/> and drawn again on its background; no questions.</summary>
    private static Scene Repaint(Scene scene, Func<SceneObject, SceneObject> change)
    {
        var pixels = scene.Background.ToArray();
        var objects = scene.Objects.Select(change).ToList();
        var masks = objects.Select(o => SceneGenerator.Draw(o, pixels, scene.Size)).ToArray();
        return new Scene(scene.Seed, scene.Index, scene.Size, pixels, scene.Background.ToArray(), objects, masks, []);
    }
}
