namespace Captum.Plugins.Vqa.Scenes;

/// <summary>A question about a scene.</summary>
/// <param name="Scene">The scene.</param>
/// <param name="Question">One of its questions.</param>
public sealed record SceneItem(Scene Scene, SceneQuestion Question);
