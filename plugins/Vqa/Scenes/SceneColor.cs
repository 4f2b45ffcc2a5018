namespace Captum.Plugins.Vqa.Scenes;

/// <summary>The colours a scene's objects have.</summary>
public enum SceneColor
{
    /// <summary>Red.</summary>
    Red,

    /// <summary>Green.</summary>
    Green,

    /// <summary>Blue.</summary>
    Blue,

    /// <summary>Yellow.</summary>
    Yellow,

    /// <summary>Purple.</summary>
    Purple,

    /// <summary>Orange.</summary>
    Orange,
}
