namespace Captum.Plugins.Vqa.Scenes;

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
