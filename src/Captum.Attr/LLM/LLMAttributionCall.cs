using Captum.Forward;
using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>What the two LLM attribution classes share around a call: the answer's tokens and the argument checks.</summary>
internal static class LLMAttributionCall
{
    /// <summary>
    /// The answer's ids: the target's, without the skipped tokens, or generated greedily from the unperturbed prompt
    /// up to the end-of-sequence token (<see cref="LLMAttributionOptions{TOptions}.EndOfSequence"/>, else the tokenizer's).
    /// </summary>
    /// <exception cref="ArgumentException">The target has an unknown token or an id outside the vocabulary (the message names target), or no target is given and the prompt leaves no position to generate one (input).</exception>
    public static long[] Answer<TOptions>(ICausalLanguageModel model, ITextTokenizer tokenizer, IInterpretableInput input, LLMTarget? target, LLMAttributionOptions<TOptions> options, CancellationToken cancellationToken)
        where TOptions : AttributionOptions
    {
        if (target is { } given)
        {
            var ids = given.Resolve(tokenizer, TokenReference.ResolveAll(options.SkipTokens, tokenizer, "SkipTokens"), "target");
            RequireTokenIds(ids, model.VocabularySize, "the model's", "target");
            return ids;
        }

        var end = options.StopAtEndOfSequence ? options.EndOfSequence ?? tokenizer.EndOfSequenceTokenId : null;
        if (end is { } id)
        {
            RequireTokenIds([id], model.VocabularySize, "the model's", options.EndOfSequence is null ? "the tokenizer's EndOfSequenceTokenId" : "EndOfSequence");
        }

        using var prompt = input.ToModelInput(null, tokenizer).to(DeviceOf(model));
        LLMGeneration.RequireRoomToGenerate(model, prompt.shape[1], nameof(input));
        return LLMGeneration.Greedy(model, prompt, options.MaxNewTokens, end, cancellationToken, options.UseCachedOutputs);
    }

    /// <summary>The foil's ids, without the skipped tokens, or null without a foil.</summary>
    /// <exception cref="ArgumentException">No token is left, or a token is unknown or outside the vocabulary; the message names Foil.</exception>
    public static long[]? Foil(ICausalLanguageModel model, ITextTokenizer tokenizer, LLMTarget? foil, IReadOnlyList<TokenReference>? skipTokens)
    {
        if (foil is not { } given)
        {
            return null;
        }

        var ids = given.Resolve(tokenizer, TokenReference.ResolveAll(skipTokens, tokenizer, "SkipTokens"), "Foil");
        RequireTokenIds(ids, model.VocabularySize, "the model's", "Foil");
        return ids;
    }

    /// <summary>
    /// Checks, before any pass, the ids the model will read that the caller chose rather than the tokenizer: the
    /// prompt's (a tokenizer that does not fit the model) and a <see cref="TextTokenInput"/>'s baseline token.
    /// </summary>
    /// <exception cref="ArgumentException">An id is outside the model's vocabulary; the message names input or baselines.</exception>
    public static void RequireInputIds(ICausalLanguageModel model, IInterpretableInput input, Tensor prompt)
    {
        if (model.VocabularySize is not { } size)
        {
            return;
        }

        if (prompt.numel() > 0)
        {
            RequireTokenIds([prompt.min().item<long>(), prompt.max().item<long>()], size, "the model's", "input");
        }

        if (input is TextTokenInput tokens)
        {
            RequireTokenIds([tokens.Baseline], size, "the model's", "baselines");
        }
    }

    /// <summary>
    /// Checks that every id is a token of a vocabulary of <paramref name="size"/> tokens; when the size is not known,
    /// only that no id is negative.
    /// </summary>
    /// <param name="ids">The ids.</param>
    /// <param name="size">The vocabulary's size, or null.</param>
    /// <param name="vocabulary">Whose vocabulary, for the message: "the model's", "the tokenizer's".</param>
    /// <param name="argument">The argument that gave the ids, which the message names.</param>
    /// <exception cref="ArgumentException">An id is outside it; the message names <paramref name="argument"/>.</exception>
    public static void RequireTokenIds(IEnumerable<long> ids, long? size, string vocabulary, string argument)
    {
        foreach (var id in ids)
        {
            if (id < 0 || id >= size)
            {
                throw new ArgumentException(
                    size is { } n
                        ? $"{argument}: {id} is not a token id of {vocabulary} {n} tokens (0 to {n - 1})."
                        : $"{argument}: {id} is not a token id (ids are 0 or more).",
                    argument);
            }
        }
    }

    /// <summary>Refuses a foil that is the answer itself, whose contrast is 0 whatever the prompt.</summary>
    /// <exception cref="ArgumentException">It is; the message names Foil.</exception>
    public static void RequireFoilDiffers(long[] answer, long[]? foil, ITextTokenizer tokenizer)
    {
        if (foil is not null && foil.AsSpan().SequenceEqual(answer))
        {
            throw new ArgumentException(
                $"Foil: the foil is the answer itself (\"{tokenizer.Decode(foil)}\"): log p(answer) - log p(foil) is 0 whatever the prompt, so every attribution would be 0. Give another foil.",
                "Foil");
        }
    }

    /// <summary>Checks that the prompt and the foil fit the model's positions.</summary>
    /// <exception cref="ArgumentException">They do not; the message names Foil.</exception>
    public static void RequireFoilFits(ICausalLanguageModel model, long promptTokens, int foilTokens)
    {
        if (promptTokens + foilTokens - 1 > model.MaxPositions)
        {
            throw new ArgumentException(
                $"Foil: the prompt ({promptTokens} tokens) and the foil ({foilTokens}) need {promptTokens + foilTokens - 1} positions, more than the model's {model.MaxPositions}.",
                "Foil");
        }
    }

    /// <summary>
    /// The method a factory builds, over a forward function that must never run: the LLM classes build their method
    /// per call around that call's prompt and answer, and look at this one only to check which method it is.
    /// </summary>
    public static T Probe<T>(ICausalLanguageModel model, Func<ForwardFunction, T> method) =>
        method(ForwardFunction.FromDelegate((Tensor[] _) => throw new InvalidOperationException("The probe's forward function is never called."), model.Module));

    /// <summary>The model's device: that of its first parameter, the CPU when it has none.</summary>
    public static Device DeviceOf(ICausalLanguageModel model) => model.Module.parameters().FirstOrDefault()?.device ?? torch.CPU;

    /// <summary>Refuses method options that set what the LLM classes set themselves.</summary>
    public static void RequireNoTargetOrArguments(AttributionOptions? options)
    {
        if (options?.AdditionalForwardArgs is { Count: > 0 })
        {
            throw new ArgumentException("Method.AdditionalForwardArgs must be empty: the LLM attribution passes the prompt and the answer itself.", "Method");
        }

        if (options is ITargetOptions { Target.IsNone: false })
        {
            throw new ArgumentException("Method.Target must be empty: the answer is the target (give it to Attribute).", "Method");
        }
    }
}
