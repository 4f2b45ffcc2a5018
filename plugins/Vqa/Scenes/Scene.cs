using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Captum.Plugins.Vqa.Scenes;

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
