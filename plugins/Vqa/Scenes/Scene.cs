using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Captum.Plugins.Vqa.Scenes;

/// <summary>The shapes a scene's objects have.</summary>
public enum SceneShape
{
    /// <summary>A disc.</summary>
    Circle,

    /// <summary>An axis-aligned square.</summary>
    Square,

    /// <summary>An upright triangle.</summary>
    Triangle,
}

/// <summary>The colours a scene's objects have.</summary>
public enum SceneColor
{
    /// <summary>Red.</summary>
    Red,

    /// <summary>Green.</summary>
    Green,

    /// <summary>Blue.</summary>
    Blue,

    /// <summary>Yellow.</summary>
    Yellow,

    /// <summary>Purple.</summary>
    Purple,

    /// <summary>Orange.</summary>
    Orange,
}

/// <summary>The question templates.</summary>
public enum QuestionKind
{
    /// <summary>"what color is the {shape}", asked when exactly one object has that shape; answer a colour.</summary>
    Color,

    /// <summary>"what shape is the {color} object", asked when exactly one object has that colour; answer a shape.</summary>
    Shape,

    /// <summary>"how many {shape}s are there"; answer 0 to 4.</summary>
    Count,

    /// <summary>"is there a {color} {shape}" ("an" before a vowel), asked when exactly one object has that shape; answer yes or no.</summary>
    Exists,

    /// <summary>
    /// "where is the {color} {shape}", asked when exactly one object has that colour, another object shares its
    /// shape (so the colour picks it out), and its place is clear; answer left, right, top or bottom.
    /// </summary>
    Position,
}

/// <summary>The words of the scenes: question vocabulary, answers, names and colours.</summary>
public static class SceneWords
{
    /// <summary>Every shape, in enum order.</summary>
    public static IReadOnlyList<SceneShape> Shapes { get; } = Enum.GetValues<SceneShape>();

    /// <summary>Every colour, in enum order.</summary>
    public static IReadOnlyList<SceneColor> Colors { get; } = Enum.GetValues<SceneColor>();

    /// <summary>Every word a question can have, in vocabulary order (index 0 is left for padding and unknown words).</summary>
    public static IReadOnlyList<string> QuestionWords { get; } =
    [
        "what", "color", "is", "the", "shape", "object", "how", "many", "are", "there", "a", "an", "where",
        .. Shapes.Select(Name), .. Shapes.Select(Plural), .. Colors.Select(Name),
    ];

    /// <summary>Every answer, in class order.</summary>
    public static IReadOnlyList<string> Answers { get; } =
    [
        .. Colors.Select(Name), .. Shapes.Select(Name), "0", "1", "2", "3", "4", "yes", "no", .. Enum.GetValues<ScenePlace>().Select(Name),
    ];

    /// <summary>The shape's word: "circle", "square", "triangle".</summary>
    public static string Name(SceneShape shape) => shape.ToString().ToLowerInvariant();

    /// <summary>The shape's plural: "circles", ...</summary>
    public static string Plural(SceneShape shape) => Name(shape) + "s";

    /// <summary>The colour's word: "red", ...</summary>
    public static string Name(SceneColor color) => color.ToString().ToLowerInvariant();

    /// <summary>The place's word: "left", ...</summary>
    public static string Name(ScenePlace place) => place.ToString().ToLowerInvariant();

    /// <summary>The colour's base RGB value (objects vary slightly around it).</summary>
    public static (byte R, byte G, byte B) Rgb(SceneColor color) => color switch
    {
        SceneColor.Red => (215, 40, 40),
        SceneColor.Green => (40, 165, 60),
        SceneColor.Blue => (40, 85, 220),
        SceneColor.Yellow => (235, 200, 30),
        SceneColor.Purple => (140, 60, 185),
        SceneColor.Orange => (245, 130, 30),
        _ => throw new ArgumentOutOfRangeException(nameof(color), color, "unknown colour"),
    };
}

/// <summary>Where an object sits: the side of the image its centre is clearly nearest to.</summary>
public enum ScenePlace
{
    /// <summary>The left side.</summary>
    Left,

    /// <summary>The right side.</summary>
    Right,

    /// <summary>The top side.</summary>
    Top,

    /// <summary>The bottom side.</summary>
    Bottom,
}

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

/// <summary>A question about a scene with its answer and the evidence that decides it.</summary>
/// <param name="Text">The question, lowercase words separated by single spaces.</param>
/// <param name="Answer">The one-word answer.</param>
/// <param name="Kind">The template.</param>
/// <param name="DecidingObjects">
/// The indices (into <see cref="Scene.Objects"/>) of the objects whose pixels decide the answer: the object asked
/// about, or every counted object (none for a count of 0).
/// </param>
/// <param name="KeyWordIndex">
/// The index (into <see cref="Words"/>) of the word naming the deciding attribute: the shape or colour word that
/// picks the deciding object out ("circle" in "what color is the circle", "red" in "what shape is the red object",
/// "squares" in "how many squares are there", "green" in "where is the green square"), and in "is there a blue
/// triangle", asked when there is exactly one triangle, the colour word the answer hinges on.
/// </param>
public sealed record SceneQuestion(string Text, string Answer, QuestionKind Kind, IReadOnlyList<int> DecidingObjects, int KeyWordIndex)
{
    /// <summary>The question's words.</summary>
    public IReadOnlyList<string> Words => Text.Split(' ');

    /// <summary>The word naming the deciding attribute.</summary>
    public string KeyWord => Words[KeyWordIndex];
}

/// <summary>
/// A generated scene: an RGB image on a lightly textured background with 1 to 4 non-overlapping objects, each
/// object's pixel mask, and questions whose answers the scene decides.
/// </summary>
public sealed class Scene
{
    private readonly byte[] pixels;
    private readonly byte[] background;
    private readonly bool[][] masks;

    internal Scene(long seed, int index, int size, byte[] pixels, byte[] background, IReadOnlyList<SceneObject> objects, bool[][] masks, IReadOnlyList<SceneQuestion> questions)
    {
        Seed = seed;
        Index = index;
        Size = size;
        this.pixels = pixels;
        this.background = background;
        Objects = objects;
        this.masks = masks;
        Questions = questions;
    }

    /// <summary>The seed of the stream the scene belongs to.</summary>
    public long Seed { get; }

    /// <summary>The scene's index in its stream.</summary>
    public int Index { get; }

    /// <summary>The image's width and height in pixels.</summary>
    public int Size { get; }

    /// <summary>The image: RGB bytes, row by row from the top left, <c>3 * Size * Size</c> of them.</summary>
    public ReadOnlySpan<byte> Pixels => pixels;

    /// <summary>The background alone (the image before the objects were drawn), laid out as <see cref="Pixels"/>.</summary>
    public ReadOnlySpan<byte> Background => background;

    /// <summary>The objects, in drawing order.</summary>
    public IReadOnlyList<SceneObject> Objects { get; }

    /// <summary>The questions, at most one per <see cref="QuestionKind"/>, in the kinds' order.</summary>
    public IReadOnlyList<SceneQuestion> Questions { get; }

    /// <summary>The pixels of object <paramref name="objectIndex"/>: <c>Size * Size</c> flags, row by row.</summary>
    public ReadOnlySpan<bool> Mask(int objectIndex) => masks[objectIndex];

    /// <summary>The union of the masks of <paramref name="objectIndices"/> (<c>Size * Size</c> flags).</summary>
    public bool[] MaskOf(IEnumerable<int> objectIndices)
    {
        ArgumentNullException.ThrowIfNull(objectIndices);
        var union = new bool[Size * Size];
        foreach (var index in objectIndices)
        {
            var mask = masks[index];
            for (var i = 0; i < union.Length; i++)
            {
                union[i] |= mask[i];
            }
        }

        return union;
    }

    /// <summary>The image as an ImageSharp image (the caller disposes it).</summary>
    public Image<Rgb24> ToImage() => Image.LoadPixelData<Rgb24>(pixels, Size, Size);

    /// <summary>Writes the image as a PNG file.</summary>
    public void SavePng(string path)
    {
        using var image = ToImage();
        image.SaveAsPng(path);
    }
}
