namespace Captum.Plugins.Vqa.Scenes;

/// <summary>The result of <see cref="AttributionQuality.Evaluate"/>.</summary>
/// <param name="Options">How it was measured.</param>
/// <param name="Accuracy">The trained model's accuracy on every question.</param>
/// <param name="Trained">The trained model's figures, over the questions it answered correctly.</param>
/// <param name="Random">The randomised model's figures, over every question.</param>
/// <param name="TrainedByKind">The trained model's figures per question kind.</param>
/// <param name="RandomByKind">The randomised model's figures per question kind.</param>
/// <param name="AccuracyByKind">The trained model's accuracy per question kind.</param>
public sealed record AttributionQualityReport(
    AttributionQualityOptions Options,
    double Accuracy,
    AttributionFigures Trained,
    AttributionFigures Random,
    IReadOnlyDictionary<QuestionKind, AttributionFigures> TrainedByKind,
    IReadOnlyDictionary<QuestionKind, AttributionFigures> RandomByKind,
    IReadOnlyDictionary<QuestionKind, double> AccuracyByKind);
