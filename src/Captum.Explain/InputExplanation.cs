using Captum.Plugins;

namespace Captum.Explain;

/// <summary>The attribution of one input of a prediction.</summary>
/// <param name="Display">How the input is shown (image or text), from the model's <see cref="PreparedInput"/>.</param>
/// <param name="Attribution">The attribution, of the attributed value's shape without the batch dimension; owned by the <see cref="Explanation"/>.</param>
/// <param name="Contribution">The sum of the attribution.</param>
/// <param name="TokenAttributions">For a text input, one value per token (summed over the embedding dimension); otherwise null.</param>
public sealed record InputExplanation(InputDisplay Display, Tensor Attribution, double Contribution, IReadOnlyList<float>? TokenAttributions);
