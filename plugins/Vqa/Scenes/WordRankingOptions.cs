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

/// <summary>The word rankings <see cref="WordRanking"/> compares.</summary>
public enum WordRankingMethod
{
    /// <summary>
    /// Layer Integrated Gradients on the image and the words at once, as <c>captum vqa</c> and vqa-eval's word test
    /// compute it (baselines: the image baseline and pad tokens); a word's value is its embedding's attribution summed
    /// over the embedding dimension.
    /// </summary>
    IntegratedGradients,

    /// <summary>
    /// Layer Integrated Gradients on the words alone: the image stays as it is along the path (its baseline is the
    /// image), the words move from pad tokens to the question. The path Shapley values and drops are taken on.
    /// </summary>
    IntegratedGradientsWordsOnly,

    /// <summary>The words' exact Shapley values, a removed word being replaced by the pad token (the image kept).</summary>
    Shapley,

    /// <summary>The fall of the explained logit when the word alone is replaced by the pad token (the image kept).</summary>
    Drop,
}
