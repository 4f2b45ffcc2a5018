namespace Captum.Plugins.Vqa.Scenes;

/// <summary>How <see cref="WordRanking"/> compares the word rankings.</summary>
public sealed record WordRankingOptions
{
    /// <summary>Scenes to generate (every question of each is ranked); 100 by default.</summary>
    public int Scenes { get; init; } = 100;

    /// <summary>
    /// The scene stream: by default vqa-eval's (<see cref="AttributionQualityOptions.Seed"/>), so that the questions are
    /// the first ones of its word test; pick one the model was not trained on (training uses its seed and seed + 1).
    /// </summary>
    public long Seed { get; init; } = new AttributionQualityOptions().Seed;

    /// <summary>Integration steps of Layer Integrated Gradients: by default vqa-eval's (<see cref="AttributionQualityOptions.Steps"/>).</summary>
    public int Steps { get; init; } = new AttributionQualityOptions().Steps;
}
