namespace Captum.Plugins.Vqa.Scenes;

/// <summary>The layout of generated scenes.</summary>
public sealed record SceneGeneratorOptions
{
    /// <summary>The image's width and height in pixels (at least 32).</summary>
    public int Size { get; init; } = 64;

    /// <summary>The fewest objects in a scene (at least 1).</summary>
    public int MinObjects { get; init; } = 1;

    /// <summary>The most objects in a scene.</summary>
    public int MaxObjects { get; init; } = 4;

    /// <summary>The smallest object radius (half the side of its box), in pixels (at least 3).</summary>
    public int MinRadius { get; init; } = 5;

    /// <summary>The largest object radius.</summary>
    public int MaxRadius { get; init; } = 9;

    /// <summary>The fewest background pixels between two objects' boxes.</summary>
    public int Gap { get; init; } = 2;
}
