using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// A causal language model as the LLM attribution classes call it: token ids in, next-token logits out at every
/// position.
/// </summary>
/// <remarks>
/// Python: the Hugging Face <c>PreTrainedModel</c> Captum's LLM classes take (<c>model(input_ids).logits</c>,
/// <c>model.generate</c>). Generation here is greedy, by <see cref="LLMGeneration"/>, over <see cref="Logits"/>.
/// </remarks>
public interface ICausalLanguageModel
{
    /// <summary>The module, for layer lookups (the token embedding of <see cref="LLMGradientAttribution{TOptions}"/>) and its device.</summary>
    nn.Module Module { get; }

    /// <summary>
    /// The logits of every position: [batch, tokens] ids to [batch, tokens, vocabulary]. The LLM classes explain one
    /// prompt per call; the rows they pass are that prompt's perturbations (generation passes one row).
    /// </summary>
    Tensor Logits(Tensor inputIds);

    /// <summary>The most tokens the model can read at once (its positions).</summary>
    int MaxPositions { get; }

    /// <summary>
    /// How many tokens the model embeds (its embedding's rows, the logits' last dimension), or null when it does not
    /// say (the default); ids outside it are refused before any pass.
    /// </summary>
    long? VocabularySize => null;
}
