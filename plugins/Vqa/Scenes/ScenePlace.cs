namespace Captum.Plugins.Vqa.Scenes;

/// <summary>Where an object sits: the side of the image its centre is clearly nearest to.</summary>
public enum ScenePlace
{
    /// <summary>The left side.</summary>
    Left,

    /// <summary>The right side.</summary>
    Right,

    /// <summary>The top side.</summary>
    Top,

    /// <summary>The bottom side.</summary>
    Bottom,
}
