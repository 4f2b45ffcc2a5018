namespace Captum.Plugins.Vqa.Scenes;

/// <summary>Accuracy on generated scenes, overall and per question kind.</summary>
/// <param name="Questions">Questions asked.</param>
/// <param name="Accuracy">The share answered correctly.</param>
/// <param name="ByKind">The share answered correctly per question kind.</param>
public sealed record SceneAccuracy(int Questions, double Accuracy, IReadOnlyDictionary<QuestionKind, double> ByKind);
