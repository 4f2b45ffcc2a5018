using Captum.Plugins.Vqa.Model;
using Captum.Plugins.Vqa.Tutorial;

namespace Captum.Plugins.Vqa.Scenes;

/// <summary>
/// A batch of questions about scenes as the VQA net takes them: the scenes' normalised images (each scene once),
/// which image each question is about, padded token ids, lengths and the answers' class indices. Dispose it to free
/// the tensors.
/// </summary>
public sealed class SceneBatch : IDisposable
{
    private SceneBatch(Tensor images, Tensor imageIndex, Tensor questions, Tensor lengths, Tensor answers)
    {
        Images = images;
        ImageIndex = imageIndex;
        Questions = questions;
        Lengths = lengths;
        Answers = answers;
    }

    /// <summary>
    /// The distinct scenes' images, in order of first appearance, normalised as <see cref="ImageTransform"/>
    /// normalises them: [scenes, 3, size, size].
    /// </summary>
    public Tensor Images { get; }

    /// <summary>The row of <see cref="Images"/> each question is about, int64 [n].</summary>
    public Tensor ImageIndex { get; }

    /// <summary>Token ids, int64 [n, longest question], padded with 0.</summary>
    public Tensor Questions { get; }

    /// <summary>The questions' lengths, int64 [n].</summary>
    public Tensor Lengths { get; }

    /// <summary>The answers' class indices, int64 [n].</summary>
    public Tensor Answers { get; }

    /// <summary>Builds the batch.</summary>
    /// <param name="items">The questions, with their scenes (all of one size; a scene asked several questions is stored once).</param>
    /// <param name="encoder">The question vocabulary.</param>
    /// <param name="answers">The class of every answer.</param>
    /// <param name="device">Where the tensors go; the CPU when null.</param>
    /// <exception cref="ArgumentException">The items are empty or of mixed sizes, or an answer has no class; the message names the argument.</exception>
    public static SceneBatch Create(IReadOnlyList<SceneItem> items, QuestionEncoder encoder, IReadOnlyDictionary<string, long> answers, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentNullException.ThrowIfNull(answers);
        if (items.Count == 0)
        {
            throw new ArgumentException("items is empty.", nameof(items));
        }

        var size = items[0].Scene.Size;
        var plane = 3 * size * size;
        var scenes = new Dictionary<Scene, long>(ReferenceEqualityComparer.Instance);
        var imageIndex = items.Select(i => scenes.TryGetValue(i.Scene, out var row) ? row : scenes[i.Scene] = scenes.Count).ToArray();
        var pixels = new byte[scenes.Count * plane];
        var ids = items.Select(i => encoder.TokenIds(i.Question.Words)).ToList();
        var longest = ids.Max(t => t.Length);
        var tokens = new long[items.Count * longest];
        var targets = new long[items.Count];
        for (var n = 0; n < items.Count; n++)
        {
            var (scene, question) = items[n];
            if (scene.Size != size)
            {
                throw new ArgumentException($"items mixes scenes of {size} and {scene.Size} pixels.", nameof(items));
            }

            scene.Pixels.CopyTo(pixels.AsSpan((int)imageIndex[n] * plane));
            ids[n].CopyTo(tokens, n * longest);
            targets[n] = answers.TryGetValue(question.Answer, out var index)
                ? index
                : throw new ArgumentException($"answers has no class for '{question.Answer}'.", nameof(answers));
        }

        device ??= torch.CPU;
        using var scope = torch.NewDisposeScope();
        var unit = torch.tensor(pixels, [scenes.Count, size, size, 3], ScalarType.Byte, device).permute(0, 3, 1, 2).to(ScalarType.Float32) / 255f;
        var batch = new SceneBatch(
            ImageTransform.Normalize(unit),
            torch.tensor(imageIndex, ScalarType.Int64, device),
            torch.tensor(tokens, [items.Count, longest], ScalarType.Int64, device),
            torch.tensor(ids.Select(t => (long)t.Length).ToArray(), ScalarType.Int64, device),
            torch.tensor(targets, ScalarType.Int64, device));
        scope.MoveToOuter(batch.Images, batch.ImageIndex, batch.Questions, batch.Lengths, batch.Answers);
        return batch;
    }

    /// <summary>The answer logits of a VQA net with its image network, [n, answers]: every question with its image.</summary>
    public Tensor Logits(VqaNet net)
    {
        ArgumentNullException.ThrowIfNull(net);
        using var images = Images.index_select(0, ImageIndex);
        return net.call(images, Questions, Lengths);
    }

    /// <summary>Frees the tensors.</summary>
    public void Dispose()
    {
        Images.Dispose();
        ImageIndex.Dispose();
        Questions.Dispose();
        Lengths.Dispose();
        Answers.Dispose();
    }
}
