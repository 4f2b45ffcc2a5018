using Captum.Plugins.TextGeneration.Model;

namespace Captum.Plugins.TextGeneration.Stories;

/// <summary>Training progress: the loss and the answer accuracy averaged over the steps since the last report.</summary>
/// <param name="Step">Steps done.</param>
/// <param name="Steps">Steps in all.</param>
/// <param name="Loss">The mean loss (cross-entropy of the answers and of the <c>[eos]</c> after each).</param>
/// <param name="Accuracy">The share of training answers the model got right before each step's update.</param>
/// <param name="Elapsed">Time since training started.</param>
public sealed record StoryTrainingProgress(int Step, int Steps, double Loss, double Accuracy, TimeSpan Elapsed);
