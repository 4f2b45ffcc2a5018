namespace Captum.Plugins.Vqa.Commands;

/// <summary>An image of a <c>captum vqa</c> run and its questions.</summary>
/// <param name="Path">The image file.</param>
/// <param name="Label">What gave it, to start a message about it: <c>--image</c>, <c>--batch FILE: scenes[1].image</c>.</param>
/// <param name="Questions">Its questions, in order.</param>
internal sealed record VqaImage(string Path, string Label, IReadOnlyList<VqaQuestion> Questions);

/// <summary>A question of a <c>captum vqa</c> run.</summary>
/// <param name="Text">The question.</param>
/// <param name="Expected">The expected answer, when a batch file gives it.</param>
/// <param name="Label">What gave it, to start a message about it: <c>--question</c>, <c>--batch FILE: scenes[1].questions[0]</c>.</param>
internal sealed record VqaQuestion(string Text, string? Expected, string Label)
{
    /// <summary>The label with the question's words, to name it in a message: <c>--question 'what is it'</c>.</summary>
    public string Named => $"{Label} '{Text}'";
}
