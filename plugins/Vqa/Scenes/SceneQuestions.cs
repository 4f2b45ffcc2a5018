namespace Captum.Plugins.Vqa.Scenes;

/// <summary>Walks every question of freshly generated scenes, prepared for a scenes model.</summary>
internal static class SceneQuestions
{
    /// <summary>
    /// Calls <paramref name="visit"/> for every question of scenes 0 to <paramref name="scenes"/> - 1 of stream
    /// <paramref name="seed"/>, with the question prepared for <paramref name="model"/> and the class of its correct
    /// answer; each scene's and each question's tensors are freed after it.
    /// </summary>
    /// <exception cref="ArgumentException">The model has no class for an answer: it is not a scenes model (parameter model).</exception>
    public static void ForEach(VqaModel model, long seed, int scenes, Action<Scene, SceneQuestion, PreparedInput, long> visit, IProgress<int>? progress, CancellationToken cancellationToken)
    {
        var generator = new SceneGenerator();
        for (var index = 0; index < scenes; index++)
        {
            var scene = generator.Generate(seed, index);
            ForScene(model, scene, (question, prepared, target) => visit(scene, question, prepared, target), cancellationToken);
            progress?.Report(index + 1);
        }
    }

    /// <summary>
    /// Calls <paramref name="visit"/> for every question of <paramref name="scene"/>, prepared for
    /// <paramref name="model"/>, with the class of its correct answer; the scene's and each question's tensors are
    /// freed after it.
    /// </summary>
    /// <exception cref="ArgumentException">The model has no class for an answer: it is not a scenes model (parameter model).</exception>
    public static void ForScene(VqaModel model, Scene scene, Action<SceneQuestion, PreparedInput, long> visit, CancellationToken cancellationToken)
    {
        using var scope = torch.NewDisposeScope();
        using var image = scene.ToImage();
        var (original, normalized) = model.Transform.Apply(image, model.Options.Device);
        foreach (var question in scene.Questions)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var questionScope = torch.NewDisposeScope();
            var target = model.AnswerIndices.TryGetValue(question.Answer, out var t)
                ? t
                : throw new ArgumentException($"model has no answer '{question.Answer}': it is not a scenes model.", nameof(model));
            visit(question, model.Prepare(original, normalized, question.Text), target);
        }
    }
}
