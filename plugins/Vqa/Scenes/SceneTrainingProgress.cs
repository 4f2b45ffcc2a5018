namespace Captum.Plugins.Vqa.Scenes;

/// <summary>Progress of a training run.</summary>
/// <param name="Step">Steps done.</param>
/// <param name="Steps">Steps in all.</param>
/// <param name="Loss">The mean loss over the steps since the last report.</param>
/// <param name="Accuracy">The training accuracy over the steps since the last report.</param>
/// <param name="Elapsed">Time since the start.</param>
public sealed record SceneTrainingProgress(int Step, int Steps, double Loss, double Accuracy, TimeSpan Elapsed);
