using System.Globalization;
using System.Text.RegularExpressions;
using Captum.Plugins.Vqa.Scenes;
using Xunit;

namespace Captum.Tests.Plugins.Vqa.Scenes;

/// <summary>The scene generator: deterministic per seed, objects apart, masks that are the drawn pixels, right answers.</summary>
public sealed partial class SceneGeneratorTests
{
    private const int Scenes = 400;

    private static readonly SceneGenerator Generator = new();

    private static readonly Lazy<List<Scene>> Many = new(() => Generator.GenerateMany(11, Scenes).ToList());

    [Fact]
    public void Generate_SameSeedAndIndex_GivesTheSameScene()
    {
        var first = Generator.GenerateMany(5, 20).ToList();
        var again = Enumerable.Range(0, 20).Reverse().Select(i => Generator.Generate(5, i)).Reverse().ToList();

        foreach (var (a, b) in first.Zip(again))
        {
            Assert.Equal(a.Pixels.ToArray(), b.Pixels.ToArray());
            Assert.Equal(a.Objects, b.Objects);
            Assert.Equal(a.Questions.Select(Describe), b.Questions.Select(Describe));
        }
    }

    [Fact]
    public void Generate_OtherSeedOrIndex_GivesOtherScenes()
    {
        var scene = Generator.Generate(5, 3);

        Assert.NotEqual(scene.Pixels.ToArray(), Generator.Generate(6, 3).Pixels.ToArray());
        Assert.NotEqual(scene.Pixels.ToArray(), Generator.Generate(5, 4).Pixels.ToArray());
    }

    [Fact]
    public void Generate_ManyScenes_OneToFourObjectsThatNeverOverlapAndStayInside()
    {
        var options = Generator.Options;
        foreach (var scene in Many.Value)
        {
            Assert.Equal(64, scene.Size);
            Assert.InRange(scene.Objects.Count, 1, 4);
            for (var i = 0; i < scene.Objects.Count; i++)
            {
                var a = scene.Objects[i];
                Assert.InRange(a.Radius, options.MinRadius, options.MaxRadius);
                Assert.InRange(a.CenterX - a.Radius, 1, scene.Size - 1);
                Assert.InRange(a.CenterX + a.Radius, 1, scene.Size - 1);
                Assert.InRange(a.CenterY - a.Radius, 1, scene.Size - 1);
                Assert.InRange(a.CenterY + a.Radius, 1, scene.Size - 1);
                for (var j = i + 1; j < scene.Objects.Count; j++)
                {
                    var b = scene.Objects[j];
                    var apart = Math.Abs(a.CenterX - b.CenterX) >= a.Radius + b.Radius + options.Gap
                        || Math.Abs(a.CenterY - b.CenterY) >= a.Radius + b.Radius + options.Gap;
                    Assert.True(apart, $"scene {scene.Index}: objects {i} and {j} are closer than the gap");
                    Assert.DoesNotContain(Enumerable.Range(0, scene.Size * scene.Size), p => scene.Mask(i)[p] && scene.Mask(j)[p]);
                }
            }
        }
    }

    [Fact]
    public void Generate_ManyScenes_MasksAreExactlyTheDrawnPixels()
    {
        foreach (var scene in Many.Value)
        {
            var pixels = scene.Pixels;
            var background = scene.Background;
            for (var p = 0; p < scene.Size * scene.Size; p++)
            {
                var owners = Enumerable.Range(0, scene.Objects.Count).Where(o => scene.Mask(o)[p]).ToList();
                var rgb = (pixels[3 * p], pixels[(3 * p) + 1], pixels[(3 * p) + 2]);
                var behind = (background[3 * p], background[(3 * p) + 1], background[(3 * p) + 2]);
                if (owners.Count == 0)
                {
                    Assert.Equal(behind, rgb);
                }
                else
                {
                    var item = scene.Objects[Assert.Single(owners)];
                    Assert.Equal(item.Rgb, rgb);
                    Assert.NotEqual(behind, rgb);

                    // The mask is the shape: the pixel's centre lies inside it.
                    Assert.True(item.Contains((p % scene.Size) + 0.5, (p / scene.Size) + 0.5));
                }
            }

            for (var o = 0; o < scene.Objects.Count; o++)
            {
                var area = scene.Mask(o).ToArray().Count(m => m);
                Assert.True(area >= 20, $"scene {scene.Index}: object {o} covers only {area} pixels");
            }
        }
    }

    [Fact]
    public void Generate_ManyScenes_EveryAnswerIsRightForItsScene()
    {
        foreach (var scene in Many.Value)
        {
            Assert.Equal(scene.Questions.Select(q => q.Kind).Distinct().Count(), scene.Questions.Count);
            foreach (var question in scene.Questions)
            {
                var (answer, deciding, keyWord) = Oracle(scene, question.Text);
                var what = $"scene {scene.Index}: '{question.Text}'";
                Assert.True(answer == question.Answer, $"{what}: answer '{question.Answer}', the scene says '{answer}'");
                Assert.Equal(deciding, question.DecidingObjects);
                Assert.True(keyWord == question.KeyWord, $"{what}: key word '{question.KeyWord}', expected '{keyWord}'");
                Assert.Contains(question.Answer, SceneWords.Answers);
                Assert.All(question.Words, w => Assert.Contains(w, SceneWords.QuestionWords));
            }
        }
    }

    [Fact]
    public void Generate_TwoThousandScenes_AskEveryKindAndGiveEveryAnswer()
    {
        var questions = Generator.GenerateMany(3, 2000).SelectMany(s => s.Questions).ToList();

        Assert.Equal(Enum.GetValues<QuestionKind>(), questions.Select(q => q.Kind).Distinct().Order());
        Assert.Equal(SceneWords.Answers.Order(), questions.Select(q => q.Answer).Distinct().Order());
        var exists = questions.Where(q => q.Kind == QuestionKind.Exists).ToList();
        Assert.InRange(exists.Count(q => q.Answer == "yes") / (double)exists.Count, 0.45, 0.55);
    }

    [Fact]
    public void SampleScenes_RegeneratedFromTheirSeedAndIndex_AreTheShippedPngsAndQuestions()
    {
        Assert.NotEmpty(SampleScenes.All);
        foreach (var sample in SampleScenes.All)
        {
            var scene = Generator.Generate(sample.Seed, sample.Index);
            using var png = SixLabors.ImageSharp.Image.Load<SixLabors.ImageSharp.PixelFormats.Rgb24>(sample.Image);
            var pixels = new byte[3 * png.Width * png.Height];
            png.CopyPixelDataTo(pixels);

            Assert.Equal(scene.Pixels.ToArray(), pixels);
            Assert.Equal(scene.Questions.Select(q => (q.Text, q.Answer)), sample.Questions);
            Assert.True(sample.Questions.Count >= 3, $"{sample.Image} asks only {sample.Questions.Count} questions");
        }
    }

    /// <summary>Answers a question from the scene's object list alone, independently of the generator's code.</summary>
    private static (string Answer, int[] Deciding, string KeyWord) Oracle(Scene scene, string text)
    {
        var objects = scene.Objects.Select((o, i) => (Shape: o.Shape.ToString().ToLowerInvariant(), Color: o.Color.ToString().ToLowerInvariant(), o.CenterX, o.CenterY, Index: i)).ToList();
        Match m;
        if ((m = ColorQuestion().Match(text)).Success)
        {
            var target = Assert.Single(objects, o => o.Shape == m.Groups[1].Value);
            return (target.Color, [target.Index], m.Groups[1].Value);
        }

        if ((m = ShapeQuestion().Match(text)).Success)
        {
            var target = Assert.Single(objects, o => o.Color == m.Groups[1].Value);
            return (target.Shape, [target.Index], m.Groups[1].Value);
        }

        if ((m = CountQuestion().Match(text)).Success)
        {
            var counted = objects.Where(o => o.Shape + "s" == m.Groups[1].Value).Select(o => o.Index).ToArray();
            return (counted.Length.ToString(CultureInfo.InvariantCulture), counted, m.Groups[1].Value);
        }

        if ((m = ExistsQuestion().Match(text)).Success)
        {
            var color = m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value;
            var shape = m.Groups[3].Value;
            var target = Assert.Single(objects, o => o.Shape == shape);
            return (objects.Any(o => o.Color == color && o.Shape == shape) ? "yes" : "no", [target.Index], color);
        }

        if ((m = WhereQuestion().Match(text)).Success)
        {
            var target = Assert.Single(objects, o => o.Color == m.Groups[1].Value);
            Assert.Equal(m.Groups[2].Value, target.Shape);
            Assert.True(objects.Count(o => o.Shape == target.Shape) > 1, $"'{text}': the shape alone would pick the object out");
            var (dx, dy) = (target.CenterX - 32.0, target.CenterY - 32.0);
            var place = Math.Abs(dx) >= Math.Abs(dy) + 6 && Math.Abs(dx) >= 10 ? (dx < 0 ? "left" : "right")
                : Math.Abs(dy) >= Math.Abs(dx) + 6 && Math.Abs(dy) >= 10 ? (dy < 0 ? "top" : "bottom")
                : throw new Xunit.Sdk.XunitException($"'{text}' asked about an object whose place is unclear ({dx}, {dy})");
            return (place, [target.Index], m.Groups[1].Value);
        }

        throw new Xunit.Sdk.XunitException($"'{text}' matches no template");
    }

    private static string Describe(SceneQuestion q) => $"{q.Text}|{q.Answer}|{q.Kind}|{string.Join(",", q.DecidingObjects)}|{q.KeyWordIndex}";

    [GeneratedRegex("^what color is the (circle|square|triangle)$")]
    private static partial Regex ColorQuestion();

    [GeneratedRegex("^what shape is the (red|green|blue|yellow|purple|orange) object$")]
    private static partial Regex ShapeQuestion();

    [GeneratedRegex("^how many (circles|squares|triangles) are there$")]
    private static partial Regex CountQuestion();

    [GeneratedRegex("^is there (?:a (red|green|blue|yellow|purple)|an (orange)) (circle|square|triangle)$")]
    private static partial Regex ExistsQuestion();

    [GeneratedRegex("^where is the (red|green|blue|yellow|purple|orange) (circle|square|triangle)$")]
    private static partial Regex WhereQuestion();
}
