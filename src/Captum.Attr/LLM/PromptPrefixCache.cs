using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// The keys and values of the unperturbed prompt (all but its last token), made once per attribution: a perturbed
/// prompt agrees with it up to its first changed token, so only the tokens from there on (and the answer) are read.
/// </summary>
/// <remarks>
/// Captum's <c>use_cached_outputs</c> caches within one perturbed prompt, token by token of the answer; here the answer
/// is read in one teacher-forced pass already, and the cache saves the perturbed prompts' unchanged beginnings instead.
/// </remarks>
internal sealed class PromptPrefixCache
{
    private readonly long[] prompt;
    private readonly KeyValueCache cache;

    private PromptPrefixCache(long[] prompt, KeyValueCache cache) => (this.prompt, this.cache) = (prompt, cache);

    /// <summary>The cache of <paramref name="prompt"/> ([1, tokens]), or null when off, the model keeps none or carries hooks (<see cref="LLMGeneration.CachingModel"/>), or the prompt has one token.</summary>
    public static PromptPrefixCache? Create(ICausalLanguageModel model, Tensor prompt, bool enabled)
    {
        if (LLMGeneration.CachingModel(model, enabled) is not { } caching || prompt.shape[1] < 2)
        {
            return null;
        }

        using var noGrad = torch.no_grad();
        caching.Logits(prompt.narrow(1, 0, prompt.shape[1] - 1), null, out var cache).Dispose();
        return new PromptPrefixCache(prompt.cpu().data<long>().ToArray(), cache);
    }

    /// <summary>The cache of the tokens <paramref name="ids"/> ([1, tokens]) shares with the prompt, leaving at least its last token to read; null when it shares none.</summary>
    public KeyValueCache? For(Tensor ids)
    {
        var row = ids.cpu().data<long>().ToArray();
        var limit = Math.Min(row.Length - 1, cache.Length);
        var shared = 0;
        while (shared < limit && row[shared] == prompt[shared])
        {
            shared++;
        }

        return shared > 0 ? cache.Prefix(shared) : null;
    }
}
