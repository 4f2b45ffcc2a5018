namespace Captum.Plugins.Vqa.Scenes;

/// <summary>The shapes a scene's objects have.</summary>
public enum SceneShape
{
    /// <summary>A disc.</summary>
    Circle,

    /// <summary>An axis-aligned square.</summary>
    Square,

    /// <summary>An upright triangle.</summary>
    Triangle,
}
