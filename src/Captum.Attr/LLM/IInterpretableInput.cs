using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// A language model's input seen as interpretable features (tokens, template values) that can be kept or replaced by
/// their baselines: what <see cref="LLMAttribution{TOptions}"/> perturbs. Implement it for an input of your own.
/// </summary>
/// <remarks>
/// <para>Python: <c>captum.attr.InterpretableInput</c>.</para>
/// <para>One input is one prompt: its interpretable tensor has one row, and the LLM classes explain one input per call.
/// The rows of <see cref="ToModelInput"/> are perturbations of that prompt, not other prompts.</para>
/// </remarks>
public interface IInterpretableInput
{
    /// <summary>The number of interpretable features. Python: <c>n_itp_features</c>.</summary>
    int FeatureCount { get; }

    /// <summary>The features as readable text, one per value (template values, or tokens). Python: <c>values</c>.</summary>
    IReadOnlyList<string> Values { get; }

    /// <summary>The interpretable tensor, [1, FeatureCount], all features present (ones); the caller disposes it. Python: <c>to_tensor()</c>.</summary>
    Tensor ToTensor();

    /// <summary>
    /// The model's token ids, [rows, tokens], for <paramref name="perturbed"/> ([rows, FeatureCount]: 1 keeps a feature,
    /// 0 replaces it by its baseline; the perturbation methods give only these), or for the input itself when it is
    /// null. Python: <c>to_model_input</c> followed by the tokenizer's <c>encode</c> for text inputs.
    /// </summary>
    Tensor ToModelInput(Tensor? perturbed, ITextTokenizer tokenizer);

    /// <summary>Attributions over the interpretable features, [..., FeatureCount], as attributions over <see cref="Values"/>. Python: <c>format_attr</c>.</summary>
    Tensor FormatAttribution(Tensor attribution);
}
