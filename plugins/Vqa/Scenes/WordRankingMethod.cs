namespace Captum.Plugins.Vqa.Scenes;

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
