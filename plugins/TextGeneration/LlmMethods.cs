using Captum.Attr;

namespace Captum.Plugins.TextGeneration;

/// <summary>
/// The LLM attribution methods the plugin's commands offer (<c>captum llm</c>, <c>captum llm-eval</c>), by their
/// command-line names: which attribute tokens through the token embedding, which draw samples, and one call that runs
/// any of them. A method added here is offered by both commands.
/// </summary>
public static class LlmMethods
{
    /// <summary>The token embedding of Hugging Face's GPT-2, which the gradient methods attribute to.</summary>
    public const string Embedding = "transformer.wte";

    /// <summary>Every method; feature-ablation, Captum's default, first.</summary>
    public static IReadOnlyList<string> Names { get; } =
        ["feature-ablation", "shapley-value-sampling", "shapley-values", "lime", "kernel-shap", "layer-ig", "layer-gradient-x-activation", "layer-gradient-shap"];

    /// <summary>The methods that attribute tokens through the token embedding (<see cref="LLMGradientAttribution{TOptions}"/>): a <see cref="TextTokenInput"/> only.</summary>
    public static IReadOnlyList<string> GradientNames { get; } = ["layer-ig", "layer-gradient-x-activation", "layer-gradient-shap"];

    /// <summary>The methods that draw random samples, with each one's default sample count.</summary>
    public static IReadOnlyDictionary<string, int> DefaultSamples { get; } = new Dictionary<string, int>(StringComparer.Ordinal)
    {
        ["shapley-value-sampling"] = new ShapleyValueSamplingOptions().Samples,
        ["lime"] = new LimeOptions().Samples,
        ["kernel-shap"] = new KernelShapOptions().Samples,
        ["layer-gradient-shap"] = new LayerGradientShapOptions().Samples,
    };

    /// <summary>Attributes <paramref name="target"/> (or the greedy answer) to <paramref name="input"/>'s features with <paramref name="method"/>.</summary>
    /// <param name="method">One of <see cref="Names"/>.</param>
    /// <param name="model">The language model; a GPT-2 with Hugging Face's names for the gradient methods (<see cref="Embedding"/>).</param>
    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="input">The prompt's features; a <see cref="TextTokenInput"/> for <see cref="GradientNames"/>.</param>
    /// <param name="target">The answer; generated greedily (<paramref name="maxNewTokens"/> at most) when null.</param>
    /// <param name="foil">A contrasting answer, or null.</param>
    /// <param name="maxNewTokens">How many tokens greedy generation makes without a target; the options' default when null (must be null with a target).</param>
    /// <param name="steps">Integration steps of layer-ig.</param>
    /// <param name="seed">The sampling methods' seed.</param>
    /// <param name="samples">The sampling methods' sample count; each one's default when null.</param>
    /// <param name="cancellationToken">Checked inside the attribution.</param>
    /// <returns>The result; the caller disposes it.</returns>
    /// <exception cref="ArgumentException">The method is unknown, or a gradient method is given another input than tokens; the message names method.</exception>
    public static LLMAttributionResult Attribute(
        string method,
        ICausalLanguageModel model,
        ITextTokenizer tokenizer,
        IInterpretableInput input,
        LLMTarget? target,
        LLMTarget? foil = null,
        int? maxNewTokens = null,
        int steps = 50,
        long seed = 0,
        int? samples = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(input);
        if (GradientNames.Contains(method) && input is not TextTokenInput)
        {
            throw new ArgumentException($"method: {method} attributes tokens and takes a TextTokenInput, not a {input.GetType().Name}.", nameof(method));
        }

        var count = samples ?? DefaultSamples.GetValueOrDefault(method);
        return method switch
        {
            "feature-ablation" => LLMAttribution.FeatureAblation(model, tokenizer).Attribute(input, target, Options<FeatureAblationOptions>(), cancellationToken),
            "shapley-value-sampling" => LLMAttribution.ShapleyValueSampling(model, tokenizer)
                .Attribute(input, target, Options(new ShapleyValueSamplingOptions { Seed = seed, Samples = count }), cancellationToken),
            "shapley-values" => LLMAttribution.ShapleyValues(model, tokenizer).Attribute(input, target, Options<ShapleyValuesOptions>(), cancellationToken),
            "lime" => LLMAttribution.Lime(model, tokenizer).Attribute(input, target, Options(new LimeOptions { Seed = seed, Samples = count }), cancellationToken),
            "kernel-shap" => LLMAttribution.KernelShap(model, tokenizer).Attribute(input, target, Options(new KernelShapOptions { Seed = seed, Samples = count }), cancellationToken),
            "layer-ig" => LLMGradientAttribution.LayerIntegratedGradients(model, tokenizer, Embedding)
                .Attribute((TextTokenInput)input, target, Options(new LayerIntegratedGradientsOptions { Steps = steps }), cancellationToken),
            "layer-gradient-x-activation" => LLMGradientAttribution.LayerGradientXActivation(model, tokenizer, Embedding)
                .Attribute((TextTokenInput)input, target, Options<LayerGradientXActivationOptions>(), cancellationToken),
            "layer-gradient-shap" => LLMGradientAttribution.LayerGradientShap(model, tokenizer, Embedding)
                .Attribute((TextTokenInput)input, target, Options(new LayerGradientShapOptions { Seed = seed, Samples = count }), cancellationToken),
            _ => throw new ArgumentException($"method: unknown method '{method}'; choose from {string.Join(", ", Names)}.", nameof(method)),
        };

        // MaxNewTokens only when given: with a target, a generation option is refused.
        LLMAttributionOptions<T> Options<T>(T? methodOptions = null)
            where T : AttributionOptions => maxNewTokens is { } maxNew
            ? new() { MaxNewTokens = maxNew, Foil = foil, Method = methodOptions }
            : new() { Foil = foil, Method = methodOptions };
    }
}
