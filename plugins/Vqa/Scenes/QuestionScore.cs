namespace Captum.Plugins.Vqa.Scenes;

/// <summary>What one question's explanation scored.</summary>
/// <param name="Kind">The question's kind.</param>
/// <param name="Correct">Whether the model's answer was right.</param>
/// <param name="HasObjects">Whether deciding objects exist (not for a count of 0).</param>
/// <param name="Pointed">Whether the peak of the smoothed attribution magnitude lies on a deciding object.</param>
/// <param name="Mass">The share of positive attribution on the deciding objects' pixels.</param>
/// <param name="Area">The deciding objects' share of the image.</param>
/// <param name="ObjectShare">The deciding objects' share of all objects' pixels.</param>
/// <param name="WordHit">Whether the key word got the largest attribution of all words.</param>
/// <param name="TopWord">The word that got the largest attribution.</param>
/// <param name="WordChance">1 / the number of words.</param>
/// <param name="Delta">The convergence delta.</param>
public sealed record QuestionScore(QuestionKind Kind, bool Correct, bool HasObjects, bool Pointed, double Mass, double Area, double ObjectShare, bool WordHit, string TopWord, double WordChance, double Delta);
