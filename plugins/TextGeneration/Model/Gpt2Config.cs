namespace Captum.Plugins.TextGeneration.Model;

/// <summary>The shape of a GPT-2 model, with Hugging Face's <c>GPT2Config</c> names in the remarks.</summary>
/// <param name="VocabSize">Tokens in the vocabulary (<c>vocab_size</c>).</param>
/// <param name="Positions">The most tokens read at once (<c>n_positions</c>).</param>
/// <param name="Width">The embedding width (<c>n_embd</c>).</param>
/// <param name="Heads">Attention heads per block (<c>n_head</c>).</param>
/// <param name="Layers">Transformer blocks (<c>n_layer</c>).</param>
/// <param name="LayerNormEpsilon">The layer norms' epsilon (<c>layer_norm_epsilon</c>).</param>
/// <param name="InnerWidth">The MLP's hidden width (<c>n_inner</c>); 4 × Width when null.</param>
public sealed record Gpt2Config(long VocabSize, long Positions, long Width, long Heads, long Layers, double LayerNormEpsilon = 1e-5, long? InnerWidth = null)
{
    /// <summary>Checks the shape.</summary>
    /// <exception cref="ArgumentException">A size is not positive, or the width does not split into the heads; the message names it.</exception>
    public void Validate()
    {
        if (VocabSize < 1 || Positions < 1 || Width < 1 || Heads < 1 || Layers < 1 || InnerWidth is < 1)
        {
            throw new ArgumentException($"config: every size must be positive ({this}).", "config");
        }

        if (Width % Heads != 0)
        {
            throw new ArgumentException($"config: the width ({Width}) must split evenly into {Heads} heads.", "config");
        }

        if (!(LayerNormEpsilon > 0))
        {
            throw new ArgumentException($"config: LayerNormEpsilon must be positive, not {LayerNormEpsilon}.", "config");
        }
    }
}
