namespace Captum.Plugins.Vqa.Scenes;

/// <summary>A question about a scene with its answer and the evidence that decides it.</summary>
/// <param name="Text">The question, lowercase words separated by single spaces.</param>
/// <param name="Answer">The one-word answer.</param>
/// <param name="Kind">The template.</param>
/// <param name="DecidingObjects">
/// The indices (into <see cref="Scene.Objects"/>) of the objects whose pixels decide the answer: the object asked
/// about, or every counted object (none for a count of 0).
/// </param>
/// <param name="KeyWordIndex">
/// The index (into <see cref="Words"/>) of the word naming the deciding attribute: the shape or colour word that
/// picks the deciding object out ("circle" in "what color is the circle", "red" in "what shape is the red object",
/// "squares" in "how many squares are there", "green" in "where is the green square"), and in "is there a blue
/// triangle", asked when there is exactly one triangle, the colour word the answer hinges on.
/// </param>
public sealed record SceneQuestion(string Text, string Answer, QuestionKind Kind, IReadOnlyList<int> DecidingObjects, int KeyWordIndex)
{
    /// <summary>The question's words.</summary>
    public IReadOnlyList<string> Words => Text.Split(' ');

    /// <summary>The word naming the deciding attribute.</summary>
    public string KeyWord => Words[KeyWordIndex];
}
