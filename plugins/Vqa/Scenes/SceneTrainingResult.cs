namespace Captum.Plugins.Vqa.Scenes;

/// <summary>A trained scenes model and how it did.</summary>
/// <param name="Model">The trained model (in eval mode); the caller disposes it.</param>
/// <param name="HeldOut">Its accuracy on the held-out scenes.</param>
/// <param name="Elapsed">The training time (without the held-out check).</param>
public sealed record SceneTrainingResult(VqaModel Model, SceneAccuracy HeldOut, TimeSpan Elapsed);
