namespace Captum.Plugins.Vqa.Scenes;

/// <summary>The scores of one scene's questions (<see cref="AttributionQuality.ScoreScene"/>), in the scene's question order.</summary>
/// <param name="Index">The scene's index in its scene stream.</param>
/// <param name="Trained">The trained model's score of every question.</param>
/// <param name="Random">The randomised model's score of every question.</param>
public sealed record SceneScores(int Index, IReadOnlyList<QuestionScore> Trained, IReadOnlyList<QuestionScore> Random);
