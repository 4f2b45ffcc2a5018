namespace Captum.Plugins.Vqa.Scenes;

/// <summary>How <see cref="AttributionQuality"/> measures.</summary>
public sealed record AttributionQualityOptions
{
    /// <summary>Scenes to generate (every question of each is asked).</summary>
    public int Scenes { get; init; } = 500;

    /// <summary>The scene stream; pick one the model was not trained on (training uses its seed and seed + 1).</summary>
    public long Seed { get; init; } = 2025;

    /// <summary>Integration steps of Layer Integrated Gradients.</summary>
    public int Steps { get; init; } = 30;

    /// <summary>
    /// The side of the square window the attribution magnitude is averaged over before the pointing game (odd; 9, about
    /// the smallest object's size).
    /// </summary>
    public int Window { get; init; } = 9;

    /// <summary>The <c>torch.manual_seed</c> of the randomised model's weights.</summary>
    public long RandomWeightsSeed { get; init; } = 7;
}
