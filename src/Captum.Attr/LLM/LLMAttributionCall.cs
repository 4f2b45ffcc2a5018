using Captum.Forward;
using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>What the two LLM attribution classes share around a call: the answer's tokens and the argument checks.</summary>
internal static class LLMAttributionCall
{
    /// <summary>The answer's ids: the target's, without the skipped tokens, or generated greedily from the unperturbed prompt.</summary>
    /// <exception cref="ArgumentException">No target is given and the prompt leaves no position to generate one; the message names input.</exception>
    public static long[] Answer<TOptions>(ICausalLanguageModel model, ITextTokenizer tokenizer, IInterpretableInput input, LLMTarget? target, LLMAttributionOptions<TOptions> options, CancellationToken cancellationToken)
        where TOptions : AttributionOptions
    {
        if (target is { } given)
        {
            return given.Resolve(tokenizer, TokenReference.ResolveAll(options.SkipTokens, tokenizer));
        }

        using var prompt = input.ToModelInput(null, tokenizer).to(DeviceOf(model));
        LLMGeneration.RequireRoomToGenerate(model, prompt.shape[1], nameof(input));
        return LLMGeneration.Greedy(model, prompt, options.MaxNewTokens, options.EndOfSequence, cancellationToken, options.UseCachedOutputs);
    }

    /// <summary>The foil's ids, without the skipped tokens, or null without a foil.</summary>
    /// <exception cref="ArgumentException">No token is left; the message names Foil.</exception>
    public static long[]? Foil(ITextTokenizer tokenizer, LLMTarget? foil, IReadOnlyList<TokenReference>? skipTokens)
    {
        if (foil is not { } given)
        {
            return null;
        }

        try
        {
            return given.Resolve(tokenizer, TokenReference.ResolveAll(skipTokens, tokenizer));
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException("Foil: " + e.Message, "Foil", e);
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
