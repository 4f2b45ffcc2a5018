using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// The keys and values a causal language model's attention layers computed for the tokens read so far, so that a
/// later call reads only the new tokens: one (key, value) pair per layer, each [batch, heads, tokens, head width].
/// </summary>
/// <remarks>
/// Python: Hugging Face's <c>past_key_values</c> in its legacy form (a tuple per layer of key and value tensors).
/// The cache owns its tensors: <see cref="Dispose"/> frees them (they also go with the dispose scope they were made in).
/// A model's cache is only meaningful to the model that made it.
/// </remarks>
public sealed class KeyValueCache : IDisposable
{
    /// <summary>Creates a cache from each layer's keys and values.</summary>
    /// <param name="layers">Per layer, keys and values of the same shape [batch, heads, tokens, head width]; all layers the same batch and tokens.</param>
    /// <exception cref="ArgumentException">No layer, or shapes that do not agree; the message names layers.</exception>
    public KeyValueCache(IReadOnlyList<(Tensor Key, Tensor Value)> layers)
    {
        ArgumentNullException.ThrowIfNull(layers);
        if (layers.Count == 0 || layers.Any(l => l.Key is null || l.Value is null || l.Key.dim() != 4 || !l.Key.shape.SequenceEqual(l.Value.shape)))
        {
            throw new ArgumentException("layers: every layer needs a key and a value of the same shape [batch, heads, tokens, head width].", nameof(layers));
        }

        var (batch, length) = (layers[0].Key.shape[0], layers[0].Key.shape[2]);
        if (layers.Any(l => l.Key.shape[0] != batch || l.Key.shape[2] != length))
        {
            throw new ArgumentException("layers: every layer must hold the same batch and number of tokens.", nameof(layers));
        }

        Layers = layers;
        BatchSize = batch;
        Length = length;
    }

    /// <summary>Per layer, the keys and values, [batch, heads, tokens, head width].</summary>
    public IReadOnlyList<(Tensor Key, Tensor Value)> Layers { get; }

    /// <summary>How many sequences the cache holds.</summary>
    public long BatchSize { get; }

    /// <summary>How many tokens the cache holds: the position the next token takes.</summary>
    public long Length { get; }

    /// <summary>The cache of the first <paramref name="length"/> tokens (views of these tensors, in the caller's dispose scope).</summary>
    /// <param name="length">1 to <see cref="Length"/>.</param>
    /// <returns>A new cache; disposing it frees the views only.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The length is outside 1 to <see cref="Length"/>.</exception>
    public KeyValueCache Prefix(long length)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, Length);
        return new KeyValueCache(Layers.Select(l => (l.Key.narrow(2, 0, length), l.Value.narrow(2, 0, length))).ToList());
    }

    /// <summary>Moves the keys and values out of the current dispose scope (as <c>Tensor.MoveToOuterDisposeScope</c>).</summary>
    /// <returns>This cache.</returns>
    public KeyValueCache MoveToOuterDisposeScope()
    {
        foreach (var (key, value) in Layers)
        {
            key.MoveToOuterDisposeScope();
            value.MoveToOuterDisposeScope();
        }

        return this;
    }

    /// <summary>Disposes the keys and values.</summary>
    public void Dispose()
    {
        foreach (var (key, value) in Layers)
        {
            key.Dispose();
            value.Dispose();
        }
    }
}

/// <summary>
/// A causal language model that can keep and reuse its attention keys and values (Hugging Face's
/// <c>use_cache=True</c>): generation and LLM attribution then read each prompt token once instead of at every step.
/// </summary>
/// <remarks>
/// Optional: the LLM classes take any <see cref="ICausalLanguageModel"/> and use the cache when the model implements
/// this interface (and <c>UseCachedOutputs</c> is on). Python: <c>model(input_ids, past_key_values=...,
/// use_cache=True)</c> returning <c>logits</c> and <c>past_key_values</c>.
/// </remarks>
public interface ICachingCausalLanguageModel : ICausalLanguageModel
{
    /// <summary>
    /// The logits of <paramref name="inputIds"/> read after the tokens in <paramref name="past"/>: their positions
    /// continue after <see cref="KeyValueCache.Length"/>, and each attends to every cached token and to the new tokens
    /// before it.
    /// </summary>
    /// <param name="inputIds">[batch, new tokens] ids.</param>
    /// <param name="past">The cache of the earlier tokens, or null; a cache of batch 1 serves every row.</param>
    /// <param name="present">The cache of the earlier and the new tokens (new tensors; <paramref name="past"/> is unchanged).</param>
    /// <returns>[batch, new tokens, vocabulary] logits, equal (to float rounding) to those of the whole sequence read at once.</returns>
    /// <exception cref="ArgumentException">The ids are not [batch, tokens] integers, the cache's batch fits neither 1 nor the ids', or the cached and new tokens exceed the model's positions; the message names the argument.</exception>
    Tensor Logits(Tensor inputIds, KeyValueCache? past, out KeyValueCache present);
}
