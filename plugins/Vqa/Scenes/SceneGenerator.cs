using System.Globalization;

namespace Captum.Plugins.Vqa.Scenes;

/// <summary>
/// Generates scenes in the spirit of Sort-of-CLEVR: a light background with a faint texture, 1 to 4 objects
/// (circle, square or triangle; six colours; several sizes and positions) whose boxes never overlap, each
/// object's pixel mask, and template questions with one-word answers that need the image and the question together.
/// Scene <c>i</c> of seed <c>s</c> is always the same scene, whatever else is generated.
/// </summary>
public sealed class SceneGenerator
{
    private const int PlacementAttempts = 200;

    /// <summary>Creates a generator.</summary>
    /// <exception cref="ArgumentException">The options are inconsistent; the message names the option.</exception>
    public SceneGenerator(SceneGeneratorOptions? options = null)
    {
        Options = options ?? new SceneGeneratorOptions();
        if (Options.Size < 32)
        {
            throw new ArgumentException($"options: Size must be at least 32, not {Options.Size}.", nameof(options));
        }

        if (Options.MinObjects < 1 || Options.MaxObjects < Options.MinObjects)
        {
            throw new ArgumentException($"options: MinObjects ({Options.MinObjects}) must be at least 1 and at most MaxObjects ({Options.MaxObjects}).", nameof(options));
        }

        if (Options.MinRadius < 3 || Options.MaxRadius < Options.MinRadius || (2 * Options.MaxRadius) + 2 > Options.Size / 2)
        {
            throw new ArgumentException($"options: the radii [{Options.MinRadius}, {Options.MaxRadius}] must start at 3 and fit twice across the image.", nameof(options));
        }

        if (Options.Gap < 0)
        {
            throw new ArgumentException($"options: Gap must not be negative, not {Options.Gap}.", nameof(options));
        }
    }

    /// <summary>The layout options.</summary>
    public SceneGeneratorOptions Options { get; }

    /// <summary>Scenes <paramref name="start"/> to <paramref name="start"/> + <paramref name="count"/> - 1 of the stream <paramref name="seed"/>.</summary>
    public IEnumerable<Scene> GenerateMany(long seed, int count, int start = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        for (var i = 0; i < count; i++)
        {
            yield return Generate(seed, start + i);
        }
    }

    /// <summary>Scene <paramref name="index"/> of the stream <paramref name="seed"/>.</summary>
    public Scene Generate(long seed, int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        var random = SceneRandom.ForScene(seed, index);
        var size = Options.Size;
        var objects = Layout(random);
        var background = Background(random, size);
        var pixels = (byte[])background.Clone();
        var masks = new bool[objects.Count][];
        for (var o = 0; o < objects.Count; o++)
        {
            masks[o] = Draw(objects[o], pixels, size);
        }

        var questions = Ask(random, objects, size);
        return new Scene(seed, index, size, pixels, background, objects, masks, questions);
    }

    private List<SceneObject> Layout(SceneRandom random)
    {
        var size = Options.Size;
        while (true)
        {
            var count = random.Next(Options.MinObjects, Options.MaxObjects);
            var objects = new List<SceneObject>(count);
            for (var attempt = 0; attempt < PlacementAttempts && objects.Count < count; attempt++)
            {
                var radius = random.Next(Options.MinRadius, Options.MaxRadius);
                var x = random.Next(radius + 1, size - radius - 1);
                var y = random.Next(radius + 1, size - radius - 1);
                if (objects.All(o => Math.Abs(o.CenterX - x) >= o.Radius + radius + Options.Gap || Math.Abs(o.CenterY - y) >= o.Radius + radius + Options.Gap))
                {
                    var shape = random.Pick(SceneWords.Shapes);
                    var color = random.Pick(SceneWords.Colors);
                    var (r, g, b) = SceneWords.Rgb(color);
                    var rgb = (Vary(r, random), Vary(g, random), Vary(b, random));
                    objects.Add(new SceneObject(shape, color, rgb, x, y, radius));
                }
            }

            if (objects.Count == count)
            {
                return objects;
            }
        }
    }

    private static byte Vary(byte value, SceneRandom random) => (byte)Math.Clamp(value + random.Next(-12, 12), 0, 255);

    /// <summary>A light grey, slightly tinted, with per-pixel brightness noise.</summary>
    private static byte[] Background(SceneRandom random, int size)
    {
        var grey = random.Next(200, 235);
        Span<int> tint = [random.Next(-6, 6), random.Next(-6, 6), random.Next(-6, 6)];
        var pixels = new byte[3 * size * size];
        for (var p = 0; p < size * size; p++)
        {
            var noise = random.Next(-6, 6);
            for (var c = 0; c < 3; c++)
            {
                pixels[(3 * p) + c] = (byte)Math.Clamp(grey + tint[c] + noise, 0, 255);
            }
        }

        return pixels;
    }

    /// <summary>Paints every pixel whose centre lies inside the object and returns those pixels.</summary>
    internal static bool[] Draw(SceneObject item, byte[] pixels, int size)
    {
        var mask = new bool[size * size];
        for (var y = Math.Max(0, item.CenterY - item.Radius); y < Math.Min(size, item.CenterY + item.Radius + 1); y++)
        {
            for (var x = Math.Max(0, item.CenterX - item.Radius); x < Math.Min(size, item.CenterX + item.Radius + 1); x++)
            {
                if (item.Contains(x + 0.5, y + 0.5))
                {
                    var p = (y * size) + x;
                    mask[p] = true;
                    pixels[3 * p] = item.Rgb.R;
                    pixels[(3 * p) + 1] = item.Rgb.G;
                    pixels[(3 * p) + 2] = item.Rgb.B;
                }
            }
        }

        return mask;
    }

    /// <summary>At most one question of each kind, when the scene makes it unambiguous.</summary>
    private static List<SceneQuestion> Ask(SceneRandom random, List<SceneObject> objects, int size)
    {
        var questions = new List<SceneQuestion>();
        int[] Having(Func<SceneObject, bool> predicate) => [.. Enumerable.Range(0, objects.Count).Where(i => predicate(objects[i]))];
        var uniqueShapes = SceneWords.Shapes.Where(s => Having(o => o.Shape == s).Length == 1).ToList();
        var uniqueColors = SceneWords.Colors.Where(c => Having(o => o.Color == c).Length == 1).ToList();

        if (uniqueShapes.Count > 0)
        {
            var shape = random.Pick(uniqueShapes);
            var target = Having(o => o.Shape == shape)[0];
            questions.Add(new SceneQuestion($"what color is the {SceneWords.Name(shape)}", SceneWords.Name(objects[target].Color), QuestionKind.Color, [target], 4));
        }

        if (uniqueColors.Count > 0)
        {
            var color = random.Pick(uniqueColors);
            var target = Having(o => o.Color == color)[0];
            questions.Add(new SceneQuestion($"what shape is the {SceneWords.Name(color)} object", SceneWords.Name(objects[target].Shape), QuestionKind.Shape, [target], 4));
        }

        {
            var shape = random.Pick(SceneWords.Shapes);
            var counted = Having(o => o.Shape == shape);
            questions.Add(new SceneQuestion(
                $"how many {SceneWords.Plural(shape)} are there", counted.Length.ToString(CultureInfo.InvariantCulture), QuestionKind.Count, counted, 2));
        }

        if (uniqueShapes.Count > 0)
        {
            var shape = random.Pick(uniqueShapes);
            var target = Having(o => o.Shape == shape)[0];
            var yes = random.Next(2) == 0;
            var color = yes ? objects[target].Color : random.Pick(SceneWords.Colors.Where(c => c != objects[target].Color).ToList());
            var article = "aeiou".Contains(SceneWords.Name(color)[0], StringComparison.Ordinal) ? "an" : "a";
            questions.Add(new SceneQuestion($"is there {article} {SceneWords.Name(color)} {SceneWords.Name(shape)}", yes ? "yes" : "no", QuestionKind.Exists, [target], 3));
        }

        var placeable = Enumerable.Range(0, objects.Count)
            .Where(i => uniqueColors.Contains(objects[i].Color)
                && Having(o => o.Shape == objects[i].Shape).Length > 1
                && objects[i].Place(size) is not null)
            .ToList();
        if (placeable.Count > 0)
        {
            var target = random.Pick(placeable);
            var item = objects[target];
            questions.Add(new SceneQuestion(
                $"where is the {SceneWords.Name(item.Color)} {SceneWords.Name(item.Shape)}", SceneWords.Name(item.Place(size)!.Value), QuestionKind.Position, [target], 3));
        }

        return questions;
    }
}
