namespace Captum.Plugins.Vqa.Scenes;

/// <summary>The question templates.</summary>
public enum QuestionKind
{
    /// <summary>"what color is the {shape}", asked when exactly one object has that shape; answer a colour.</summary>
    Color,

    /// <summary>"what shape is the {color} object", asked when exactly one object has that colour; answer a shape.</summary>
    Shape,

    /// <summary>"how many {shape}s are there"; answer 0 to 4.</summary>
    Count,

    /// <summary>"is there a {color} {shape}" ("an" before a vowel), asked when exactly one object has that shape; answer yes or no.</summary>
    Exists,

    /// <summary>
    /// "where is the {color} {shape}", asked when exactly one object has that colour, another object shares its
    /// shape (so the colour picks it out), and its place is clear; answer left, right, top or bottom.
    /// </summary>
    Position,
}
