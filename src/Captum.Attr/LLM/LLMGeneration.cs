using Captum.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>Greedy generation and the teacher-forced log probabilities of a known answer, over <see cref="ICausalLanguageModel.Logits"/>.</summary>
public static class LLMGeneration
{
    /// <summary>
    /// Appends the most probable token to <paramref name="prompt"/> ([1, tokens]) up to <paramref name="maxNewTokens"/>
    /// times, stopping early at <paramref name="endOfSequence"/> (which is kept, as Hugging Face's generate does) or at
    /// the model's last position. Python: <c>model.generate(input_ids, max_new_tokens=..., do_sample=False)</c>.
    /// </summary>
    /// <param name="model">The model; an <see cref="ICachingCausalLanguageModel"/> reads each token once when <paramref name="useCache"/>.</param>
    /// <param name="prompt">[1, tokens] ids.</param>
    /// <param name="maxNewTokens">At least 1.</param>
    /// <param name="endOfSequence">The token that ends generation, or null.</param>
    /// <param name="cancellationToken">Checked before each token.</param>
    /// <param name="useCache">Whether a caching model reuses its keys and values (Hugging Face's <c>use_cache</c>, on by default); the tokens are the same either way.</param>
    /// <returns>The new tokens' ids only.</returns>
    /// <exception cref="ArgumentException">The prompt is not one row of ids, [1, tokens], or fills the model's positions, leaving none for a new token; the message names prompt.</exception>
    public static long[] Greedy(ICausalLanguageModel model, Tensor prompt, int maxNewTokens, long? endOfSequence = null, CancellationToken cancellationToken = default, bool useCache = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxNewTokens, 1);
        if (prompt.dim() != 2 || prompt.shape[0] != 1)
        {
            throw new ArgumentException($"prompt must be one row of ids, [1, tokens], not [{string.Join(", ", prompt.shape)}]: generation explains one prompt per call.", nameof(prompt));
        }

        RequireRoomToGenerate(model, prompt.shape[1], nameof(prompt));
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var caching = CachingModel(model, useCache);
        var current = prompt;
        var input = prompt;
        KeyValueCache? cache = null;
        var length = prompt.shape[1];
        var generated = new List<long>();
        while (generated.Count < maxNewTokens && length < model.MaxPositions)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var step = torch.NewDisposeScope();
            long next;
            if (caching is not null)
            {
                next = caching.Logits(input, cache, out var present)[0, -1].argmax().item<long>();
                cache?.Dispose();
                cache = present.MoveToOuterDisposeScope();
                input = torch.tensor(new[] { next }, ScalarType.Int64, prompt.device).unsqueeze(0).MoveToOuterDisposeScope();
            }
            else
            {
                next = model.Logits(current)[0, -1].argmax().item<long>();
                current = torch.cat([current, torch.tensor(new[] { next }, ScalarType.Int64, current.device).unsqueeze(0)], 1).MoveToOuterDisposeScope();
            }

            generated.Add(next);
            length++;
            if (next == endOfSequence)
            {
                break;
            }
        }

        return [.. generated];
    }

    /// <summary>
    /// <paramref name="model"/> as a caching model when <paramref name="useCache"/>, it keeps a cache, and none of its
    /// modules carries a forward hook (the user's or an attribution's in this flow); otherwise null, and every sequence
    /// is read whole. A cached pass reads only the new tokens and need not call every module as a module, so a hook
    /// would see, or change, other tensors than in the uncached pass the results must equal.
    /// </summary>
    internal static ICachingCausalLanguageModel? CachingModel(ICausalLanguageModel model, bool useCache)
    {
        if (!useCache || model is not ICachingCausalLanguageModel caching)
        {
            return null;
        }

        var hookedHere = HookScope.ModulesHookedInThisFlow().ToHashSet(ReferenceEqualityComparer.Instance);
        var modules = model.Module.modules().Prepend(model.Module);
        return modules.Any(m => hookedHere.Contains(m) || HookScope.HasForeignHooks(m)) ? null : caching;
    }

    /// <summary>
    /// The log probability of each of <paramref name="answer"/>'s tokens after <paramref name="prompt"/> and the answer's
    /// earlier tokens, [rows, answer tokens]: one forward pass over the prompt and the answer (the model is causal, so
    /// position t sees only what precedes it; the same numbers as feeding the answer token by token, at the cost of one pass).
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="prompt">[rows, tokens] ids.</param>
    /// <param name="answer">The answer's ids.</param>
    public static Tensor AnswerLogProbabilities(ICausalLanguageModel model, Tensor prompt, IReadOnlyList<long> answer)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(answer);
        using var scope = torch.NewDisposeScope();
        var logProbabilities = AnswerDistributions(model, prompt, answer);
        var ids = torch.tensor(answer.ToArray(), ScalarType.Int64, prompt.device);
        return logProbabilities.gather(2, ids.reshape(1, -1, 1).expand(prompt.shape[0], -1, 1)).squeeze(2).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Each answer step's probability and the entropy of the next-token distribution at that step, after
    /// <paramref name="prompt"/> ([1, tokens]) and the answer's earlier tokens, from one forward pass without gradients.
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="prompt">[1, tokens] ids.</param>
    /// <param name="answer">The answer's ids.</param>
    /// <returns>One score per answer token.</returns>
    /// <remarks>Beyond Captum: Inseq's <c>probability</c> and <c>entropy</c> step scores. The entropy is in nats.</remarks>
    public static IReadOnlyList<LLMStepScore> StepScores(ICausalLanguageModel model, Tensor prompt, IReadOnlyList<long> answer)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(answer);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var logProbabilities = AnswerDistributions(model, prompt.narrow(0, 0, 1), answer)[0].to_type(ScalarType.Float64);
        var entropy = -(logProbabilities.exp() * logProbabilities).nan_to_num(0.0).sum(dim: 1);
        var ids = torch.tensor(answer.ToArray(), ScalarType.Int64, prompt.device);
        var chosen = logProbabilities.gather(1, ids.unsqueeze(1)).squeeze(1).exp();
        var p = chosen.cpu().data<double>().ToArray();
        var h = entropy.cpu().data<double>().ToArray();
        return p.Select((v, i) => new LLMStepScore(v, h[i])).ToList();
    }

    /// <summary>
    /// The next-token log-probability distribution at each answer step, [rows, answer tokens, vocabulary], from one
    /// teacher-forced pass; with <paramref name="prefix"/> (the keys and values of the prompt's first tokens, of an
    /// <see cref="ICachingCausalLanguageModel"/>), the pass reads only the prompt's later tokens and the answer.
    /// </summary>
    internal static Tensor AnswerDistributions(ICausalLanguageModel model, Tensor prompt, IReadOnlyList<long> answer, KeyValueCache? prefix = null)
    {
        var rows = prompt.shape[0];
        var length = prompt.shape[1];
        RequireFits(model, length, answer.Count);
        using var scope = torch.NewDisposeScope();
        var ids = torch.tensor(answer.ToArray(), ScalarType.Int64, prompt.device);
        var teacher = ids.narrow(0, 0, answer.Count - 1).unsqueeze(0).expand(rows, -1);
        var read = prefix?.Length ?? 0;
        var sequence = torch.cat([prompt.narrow(1, read, length - read), teacher], 1);
        var logits = prefix is null ? model.Logits(sequence) : ((ICachingCausalLanguageModel)model).Logits(sequence, prefix, out _);
        var predicting = logits.narrow(1, length - read - 1, answer.Count);
        return torch.nn.functional.log_softmax(predicting, 2).MoveToOuterDisposeScope();
    }

    /// <summary>Checks that a prompt of <paramref name="promptTokens"/> leaves the model a position for at least one new token.</summary>
    /// <exception cref="ArgumentException">It does not; the message names <paramref name="argumentName"/>.</exception>
    internal static void RequireRoomToGenerate(ICausalLanguageModel model, long promptTokens, string argumentName)
    {
        if (promptTokens >= model.MaxPositions)
        {
            throw new ArgumentException(
                $"{argumentName}: the prompt has {promptTokens} tokens, and the model reads at most {model.MaxPositions}: no position is left to generate an answer. Shorten the prompt or give the target.",
                argumentName);
        }
    }

    /// <summary>Checks that a prompt of <paramref name="promptTokens"/> and an answer of <paramref name="answerTokens"/> fit the model's positions.</summary>
    /// <exception cref="ArgumentException">
    /// They do not; the message names target when the answer would not fit after any prompt, else input (the prompt,
    /// or both when shortening either would do).
    /// </exception>
    internal static void RequireFits(ICausalLanguageModel model, long promptTokens, int answerTokens)
    {
        var positions = model.MaxPositions;
        if (promptTokens + answerTokens - 1 <= positions)
        {
            return;
        }

        // The answer's last token is predicted, not read: after a one-token prompt an answer of MaxPositions tokens fits.
        if (answerTokens > positions)
        {
            throw new ArgumentException(
                $"target: the answer has {answerTokens} tokens, and the model reads at most {positions}: it does not fit after any prompt (after this one, of {promptTokens} tokens, at most {Math.Max(0, positions - promptTokens + 1)} answer tokens fit). Shorten the target.",
                "target");
        }

        throw new ArgumentException(
            promptTokens > positions
                ? $"input: the prompt has {promptTokens} tokens, more than the model's {positions} positions. Shorten the prompt."
                : $"input: the prompt ({promptTokens} tokens) and the answer ({answerTokens}) need {promptTokens + answerTokens - 1} positions, more than the model's {positions}. Shorten the prompt or the target.",
            "input");
    }
}
