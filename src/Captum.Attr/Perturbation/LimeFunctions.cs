using Captum.Forward;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// The weight of one perturbed sample when the surrogate is trained, usually its similarity to the original
/// input (LIME's similarity kernel).
/// </summary>
/// <param name="originalInputs">The inputs being explained (one example, or the whole batch for a forward function that returns one value per batch).</param>
/// <param name="perturbedInputs">The same inputs with the sample's switched-off features set to their baselines.</param>
/// <param name="interpretableSample">The sample in the interpretable space: [1, features] of 0 and 1, on the CPU.</param>
/// <returns>The sample's weight, finite and non-negative.</returns>
/// <remarks>Python: Lime's <c>similarity_func(original_input, perturbed_input, perturbed_interpretable_input)</c>.</remarks>
public delegate double SimilarityFunction(IReadOnlyList<Tensor> originalInputs, IReadOnlyList<Tensor> perturbedInputs, Tensor interpretableSample);

/// <summary>Draws one sample in the interpretable space: which features stay on (1) and which are set to their baselines (0).</summary>
/// <param name="originalInputs">The inputs being explained.</param>
/// <param name="featureCount">The number of interpretable features.</param>
/// <param name="sampleIndex">The sample's position (0, 1, ...) among those drawn for one surrogate.</param>
/// <param name="generator">
/// The generator every random draw must use, so that a seeded run repeats exactly: the call's private seeded one, the
/// caller's <c>Generator</c>, or TorchSharp's default one (see <see cref="LimeOptions.Seed"/>). Draw on its device
/// (the CPU unless the caller's generator lives elsewhere).
/// </param>
/// <returns>A tensor of <paramref name="featureCount"/> values 0 or 1 (shape [1, features] or [features]), on any device.</returns>
/// <remarks>Python: Lime's <c>perturb_func(original_input, **kwargs)</c> (a function, or a generator: the index plays the generator's position), which draws from PyTorch's global generator.</remarks>
public delegate Tensor PerturbFunction(IReadOnlyList<Tensor> originalInputs, int featureCount, int sampleIndex, Generator generator);

/// <summary>The distance Lime's default similarity kernel applies to the flattened inputs.</summary>
public enum LimeDistance
{
    /// <summary>1 - cosine similarity (Captum's default).</summary>
    Cosine,

    /// <summary>The Euclidean distance.</summary>
    Euclidean,
}
