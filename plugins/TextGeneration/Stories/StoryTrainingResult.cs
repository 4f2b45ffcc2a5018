using Captum.Plugins.TextGeneration.Model;

namespace Captum.Plugins.TextGeneration.Stories;

/// <summary>A trained story model and how it did.</summary>
/// <param name="Model">The model; the caller disposes it.</param>
/// <param name="HeldOutStories">Held-out stories answered after training (stream <c>Seed + 1</c>).</param>
/// <param name="HeldOutAccuracy">The share of them answered right (0 when none were asked).</param>
/// <param name="Elapsed">Training time (without the held-out check).</param>
public sealed record StoryTrainingResult(StoryModel Model, int HeldOutStories, double HeldOutAccuracy, TimeSpan Elapsed);
