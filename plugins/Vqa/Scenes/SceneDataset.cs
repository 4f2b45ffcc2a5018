using System.Globalization;
using SixLabors.ImageSharp;

namespace Captum.Plugins.Vqa.Scenes;

/// <summary>
/// The <c>scenes</c> dataset of the <c>vqa</c> model: generated scenes (<see cref="SceneGenerator"/>) with one
/// question each, the same for the same seed on every machine. Example <c>k</c> is scene <c>k</c> of the seed's
/// stream with its question <c>k mod q</c> (q the scene's number of questions), so every question template
/// appears and any example is produced without the ones before it.
/// </summary>
public sealed class SceneDataset : IExampleDatasetProvider
{
    /// <inheritdoc />
    public string Name => "scenes";

    /// <inheritdoc />
    public string Description => "Generated scenes of coloured shapes with a question each (colour, shape, count, place, presence) and its true answer; the image is a PNG in memory.";

    /// <inheritdoc />
    public string ModelName => "vqa";

    /// <inheritdoc />
    public int DefaultCount => 100;

    /// <inheritdoc />
    /// <remarks>
    /// The scenes model fits, and so does any scenes checkpoint (an image network of its own trained on generated
    /// scenes, e.g. by <c>captum vqa-train</c>); the tutorial's model (ResNet features of photographs) does not: it never
    /// learnt these scenes, so whether it answers them "correctly" says nothing about it.
    /// </remarks>
    public bool Fits(IInterpretableModel model) => model is VqaModel { Net.ImageNetwork: SceneBackbone };

    /// <inheritdoc />
    /// <remarks>No settings are taken; a setting is refused, naming it.</remarks>
    public IExampleDataset Open(ExampleDatasetOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var count = options.CheckedCount(Name, DefaultCount);

        return new Opened(new SceneGenerator(), options.Seed, count);
    }

    /// <summary>Scene <paramref name="index"/> of <paramref name="seed"/> and the question example <paramref name="index"/> asks about it.</summary>
    public static SceneItem Item(SceneGenerator generator, long seed, int index)
    {
        ArgumentNullException.ThrowIfNull(generator);
        var scene = generator.Generate(seed, index);
        return new SceneItem(scene, scene.Questions[index % scene.Questions.Count]);
    }

    private sealed class Opened(SceneGenerator generator, long seed, int count) : IExampleDataset
    {
        public int Count => count;

        public DatasetExample Get(int index)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(index);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, count);
            var (scene, question) = Item(generator, seed, index);
            using var png = new MemoryStream();
            using (var image = scene.ToImage())
            {
                image.SaveAsPng(png);
            }

            var id = string.Create(CultureInfo.InvariantCulture, $"scene-{seed}-{index}");
            return new DatasetExample(
                id,
                new Dictionary<string, RawInputValue>
                {
                    [VqaModel.ImageInput] = RawInputValue.FromContent(png.ToArray(), id + ".png"),
                    [VqaModel.QuestionInput] = question.Text,
                },
                question.Answer,
                new Dictionary<string, string>
                {
                    ["kind"] = question.Kind.ToString().ToLowerInvariant(),
                    ["keyword"] = question.KeyWord,
                    ["objects"] = scene.Objects.Count.ToString(CultureInfo.InvariantCulture),
                });
        }

        public void Dispose()
        {
        }
    }
}
