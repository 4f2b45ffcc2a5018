using Captum.Forward;
using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// Attributes a language model's answer to the interpretable features of its prompt (tokens of a
/// <see cref="TextTokenInput"/>, values of a <see cref="TextTemplateInput"/>) with a perturbation method: how much the
/// answer's log probability (or probability) falls when a feature is removed, for the whole answer and, with
/// FeatureAblation and the Shapley methods, for each of its tokens.
/// </summary>
/// <typeparam name="TOptions">The wrapped method's options.</typeparam>
/// <remarks>
/// <para>Python: <c>captum.attr.LLMAttribution(attr_method, tokenizer, attr_target="log_prob")</c> over
/// FeatureAblation, ShapleyValueSampling, ShapleyValues, Lime or KernelShap. Build one with
/// <see cref="LLMAttribution.FeatureAblation"/> and its siblings, or give the method's constructor.</para>
/// <para>Each evaluation is one forward pass over the perturbed prompt followed by the answer (teacher forcing: the
/// model is causal, so every answer token's probability comes from the same pass), where Captum runs one pass per
/// answer token, with or without its key-value cache. Instances hold no per-call state: calls may overlap when the
/// model's forward pass allows it.</para>
/// <para>One prompt per call, as in Captum: the input is one prompt (its interpretable tensor is [1, features]) and the
/// answer one sequence; the results have no batch dimension. The model is given several rows at once only as the
/// wrapped method's perturbations of that one prompt. To explain several prompts, call once per prompt.</para>
/// </remarks>
public sealed class LLMAttribution<TOptions> : IAttribution
    where TOptions : AttributionOptions
{
    private readonly ICausalLanguageModel model;
    private readonly ITextTokenizer tokenizer;
    private readonly Func<ForwardFunction, IAttributionMethod<TOptions>> method;

    /// <summary>Wraps a perturbation method around the model.</summary>
    /// <param name="model">The language model.</param>
    /// <param name="tokenizer">Its tokenizer.</param>
    /// <param name="method">Builds the method from the forward function it perturbs, e.g. <c>f =&gt; new FeatureAblation(f)</c>.</param>
    /// <param name="target">What is attributed: the answer's log probability (Captum's default) or its probability. Python: <c>attr_target</c>.</param>
    /// <exception cref="ArgumentException">The method is not one Captum's LLMAttribution supports; the message names it.</exception>
    public LLMAttribution(ICausalLanguageModel model, ITextTokenizer tokenizer, Func<ForwardFunction, IAttributionMethod<TOptions>> method, LLMAttributionTarget target = LLMAttributionTarget.LogProbability)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(method);
        if (!Enum.IsDefined(target))
        {
            throw new ArgumentOutOfRangeException(nameof(target), target, "target must be LogProbability or Probability.");
        }

        this.model = model;
        this.tokenizer = tokenizer;
        this.method = method;
        AttributionTarget = target;
        var probe = LLMAttributionCall.Probe(model, method);
        PerTokenAttribution = probe switch
        {
            FeatureAblation or ShapleyValueSampling or ShapleyValues => true,
            Lime or KernelShap => false,
            _ => throw new ArgumentException(
                $"method: LLMAttribution wraps FeatureAblation, ShapleyValueSampling, ShapleyValues, Lime or KernelShap, not {probe.GetType().Name}.",
                nameof(method)),
        };
    }

    /// <summary>Whether the result has an attribution per answer token (FeatureAblation and the Shapley methods) besides the whole answer's.</summary>
    public bool PerTokenAttribution { get; }

    /// <summary>What is attributed. Python: <c>attr_target</c>.</summary>
    public LLMAttributionTarget AttributionTarget { get; }

    /// <inheritdoc />
    /// <remarks>False: the LLM classes return no convergence delta, as Captum's.</remarks>
    public bool HasConvergenceDelta => false;

    /// <summary>Attributes the answer to the input's features: one prompt and one answer per call (batch dimension 1).</summary>
    /// <param name="input">The prompt as interpretable features: one prompt.</param>
    /// <param name="target">The answer, as text or ids; generated greedily when null.</param>
    /// <param name="options">Skipped tokens, trials, generation length and the method's own options.</param>
    /// <param name="cancellationToken">Checked between generated tokens and between the method's evaluations.</param>
    /// <returns>The attributions and the tokens; the caller disposes it.</returns>
    /// <exception cref="ArgumentException">The answer has no token, the prompt and answer exceed the model's positions, no target is given and the prompt leaves no position to generate one, or an option does not fit; the message names it (input, target, Foil, or the option), before any forward pass.</exception>
    /// <remarks>Python: <c>attribute(inp, target, skip_tokens, num_trials, gen_args, use_cached_outputs, **kwargs)</c>.</remarks>
    public LLMAttributionResult Attribute(IInterpretableInput input, LLMTarget? target = null, LLMAttributionOptions<TOptions>? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        options ??= new LLMAttributionOptions<TOptions>();
        options.Validate(target is not null);
        LLMAttributionCall.RequireNoTargetOrArguments(options.Method);
        using var scope = torch.NewDisposeScope();
        var foil = LLMAttributionCall.Foil(model, tokenizer, options.Foil, options.SkipTokens);
        using (var ids = input.ToModelInput(null, tokenizer))
        {
            LLMAttributionCall.RequireInputIds(model, input, ids);
            if (foil is not null)
            {
                LLMAttributionCall.RequireFoilFits(model, ids.shape[1], foil.Length);
            }
        }

        var answer = LLMAttributionCall.Answer(model, tokenizer, input, target, options, cancellationToken);
        LLMAttributionCall.RequireFoilDiffers(answer, foil, tokenizer);
        IReadOnlyList<LLMStepScore> steps;
        PromptPrefixCache? prefixes;
        using (var prompt = input.ToModelInput(null, tokenizer))
        {
            LLMGeneration.RequireFits(model, prompt.shape[1], answer.Length);
            using var onDevice = prompt.to(LLMAttributionCall.DeviceOf(model));
            steps = LLMGeneration.StepScores(model, onDevice, answer);
            prefixes = PromptPrefixCache.Create(model, onDevice, options.UseCachedOutputs);
        }

        // A foil of another length has no token-by-token contrast: only the whole answer's is attributed.
        var perToken = PerTokenAttribution && (foil is null || foil.Length == answer.Length);
        var forward = ForwardFunction.FromDelegate((object?[] args) => Evaluate((Tensor)args[0]!, input, answer, foil, perToken, prefixes), model.Module);
        var attributor = method(forward);
        var rows = perToken ? 1 + answer.Length : 1;
        var total = torch.zeros(rows, input.FeatureCount, ScalarType.Float32);

        // The forward function evaluates its rows one by one, so passes shared by several perturbations gain nothing:
        // one per pass unless the caller chose otherwise.
        var methodOptions = options.Method is PerturbationOptions { PerturbationsPerEval: null } perturbation
            ? (TOptions)(object)(perturbation with { PerturbationsPerEval = 1 })
            : options.Method;

        // With a Seed, the trials draw in turn from one generator seeded with it, so that each draws fresh samples
        // (as Captum's trials do from PyTorch's generator) and the same Seed gives the same average.
        using var trials = TrialDraws.For(methodOptions);
        var trialOptions = trials is null ? methodOptions : trials.Apply(methodOptions);
        for (var trial = 0; trial < options.NumTrials; trial++)
        {
            using var trialScope = torch.NewDisposeScope();
            using var features = input.ToTensor();
            using var result = attributor.Attribute(features, trialOptions, cancellationToken);
            total.add_(result.Attribution.reshape(rows, input.FeatureCount).to_type(ScalarType.Float32).cpu());
            options.Progress?.Report(new AttributionProgress(trial + 1, options.NumTrials));
        }

        var attribution = input.FormatAttribution(total / options.NumTrials);
        return new LLMAttributionResult(
            attribution[0].MoveToOuterDisposeScope(),
            perToken ? attribution.narrow(0, 1, answer.Length).MoveToOuterDisposeScope() : null,
            input.Values,
            ReadableTokens.Of(answer, tokenizer),
            answer,
            steps,
            foil is null ? null : ReadableTokens.Of(foil, tokenizer),
            foil);
    }

    /// <summary>
    /// The attributed quantity of every row of <paramref name="perturbed"/>, flattened: per row the whole answer's,
    /// then each token's when per-token; with a foil, the answer's minus the foil's.
    /// </summary>
    private Tensor Evaluate(Tensor perturbed, IInterpretableInput input, long[] answer, long[]? foil, bool perToken, PromptPrefixCache? prefixes)
    {
        using var scope = torch.NewDisposeScope();
        var device = LLMAttributionCall.DeviceOf(model);
        var rows = new List<Tensor>();
        for (var r = 0; r < perturbed.shape[0]; r++)
        {
            var ids = input.ToModelInput(perturbed.narrow(0, r, 1), tokenizer).to(device);
            var prefix = prefixes?.For(ids);
            var row = Quantity(ids, answer, perToken, prefix);
            rows.Add(foil is null ? row : row - Quantity(ids, foil, perToken, prefix));
        }

        // Flat: one value per row for the whole answer, or 1 + answer tokens values for the whole (one-row) batch,
        // which the perturbation methods attribute each (their aggregate mode).
        return torch.stack(rows).reshape(-1).MoveToOuterDisposeScope();
    }

    /// <summary>The sequence's log probability (or probability), then, when per-token, each of its tokens'.</summary>
    private Tensor Quantity(Tensor ids, long[] sequence, bool perToken, KeyValueCache? prefix)
    {
        var distributions = LLMGeneration.AnswerDistributions(model, ids, sequence, prefix)[0];
        var chosen = torch.tensor(sequence, ScalarType.Int64, ids.device).unsqueeze(1);
        var tokens = distributions.gather(1, chosen).squeeze(1).cpu();
        var values = perToken ? torch.cat([tokens.sum().unsqueeze(0), tokens]) : tokens.sum().unsqueeze(0);
        return AttributionTarget == LLMAttributionTarget.Probability ? values.exp() : values;
    }
}

/// <summary>
/// The random source of <see cref="LLMAttribution{TOptions}"/>'s trials when the sampling method's options give a
/// <c>Seed</c> (<see cref="IRandomSourceOptions"/>: ShapleyValueSampling, Lime, KernelShap): one CPU generator seeded
/// with it, handed to every trial as the method's <c>Generator</c>, so trial 0 draws what the Seed alone draws and each
/// later trial continues the sequence.
/// </summary>
internal sealed class TrialDraws : IDisposable
{
    private readonly Generator generator;

    private TrialDraws(long seed) => generator = new Generator(unchecked((ulong)seed), torch.CPU);

    /// <summary>The trials' generator for options with a Seed and no Generator (the method refuses both); null for other options.</summary>
    public static TrialDraws? For(AttributionOptions? options) =>
        options is IRandomSourceOptions { Seed: { } seed, Generator: null } ? new TrialDraws(seed) : null;

    /// <summary>The options a trial is given: <paramref name="options"/> with its Seed replaced by the shared generator.</summary>
    public TOptions? Apply<TOptions>(TOptions? options)
        where TOptions : AttributionOptions =>
        options is IRandomSourceOptions random ? (TOptions)random.WithGenerator(generator) : options;

    /// <summary>Frees the generator.</summary>
    public void Dispose() => generator.Dispose();
}

/// <summary>What <see cref="LLMAttribution{TOptions}"/> attributes. Python: <c>attr_target</c>.</summary>
public enum LLMAttributionTarget
{
    /// <summary>The answer's log probability (the sum of its tokens'). Python: <c>"log_prob"</c>.</summary>
    LogProbability,

    /// <summary>The answer's probability (the product of its tokens'). Python: <c>"prob"</c>.</summary>
    Probability,
}

/// <summary>The LLM attribution classes built from the methods Captum's support.</summary>
public static class LLMAttribution
{
    /// <summary>LLMAttribution over <see cref="Attr.FeatureAblation"/>: each feature removed in turn.</summary>
    public static LLMAttribution<FeatureAblationOptions> FeatureAblation(ICausalLanguageModel model, ITextTokenizer tokenizer, LLMAttributionTarget target = LLMAttributionTarget.LogProbability) =>
        new(model, tokenizer, f => new FeatureAblation(f), target);

    /// <summary>LLMAttribution over <see cref="Attr.ShapleyValueSampling"/>.</summary>
    public static LLMAttribution<ShapleyValueSamplingOptions> ShapleyValueSampling(ICausalLanguageModel model, ITextTokenizer tokenizer, LLMAttributionTarget target = LLMAttributionTarget.LogProbability) =>
        new(model, tokenizer, f => new ShapleyValueSampling(f), target);

    /// <summary>LLMAttribution over exact <see cref="Attr.ShapleyValues"/> (every feature order; for a few features).</summary>
    public static LLMAttribution<ShapleyValuesOptions> ShapleyValues(ICausalLanguageModel model, ITextTokenizer tokenizer, LLMAttributionTarget target = LLMAttributionTarget.LogProbability) =>
        new(model, tokenizer, f => new ShapleyValues(f), target);

    /// <summary>LLMAttribution over <see cref="Attr.Lime"/> (whole answer only), with Lime's defaults for what is not given.</summary>
    /// <param name="model">The language model.</param>
    /// <param name="tokenizer">Its tokenizer.</param>
    /// <param name="target">What the attributions explain: the answer's log probability (default) or probability.</param>
    /// <param name="interpretableModel">The surrogate; a Lasso with alpha 0.01 by default.</param>
    /// <param name="similarityFunc">The sample weight; <see cref="Attr.Lime.ExpKernelSimilarity"/>() by default.</param>
    /// <param name="perturbFunc">The sampler; <see cref="Attr.Lime.DefaultPerturbation"/> by default.</param>
    public static LLMAttribution<LimeOptions> Lime(
        ICausalLanguageModel model,
        ITextTokenizer tokenizer,
        LLMAttributionTarget target = LLMAttributionTarget.LogProbability,
        ISurrogateModel? interpretableModel = null,
        SimilarityFunction? similarityFunc = null,
        PerturbFunction? perturbFunc = null) =>
        new(model, tokenizer, f => new Lime(f, interpretableModel, similarityFunc, perturbFunc), target);

    /// <summary>LLMAttribution over <see cref="Attr.KernelShap"/> (whole answer only).</summary>
    public static LLMAttribution<KernelShapOptions> KernelShap(ICausalLanguageModel model, ITextTokenizer tokenizer, LLMAttributionTarget target = LLMAttributionTarget.LogProbability) =>
        new(model, tokenizer, f => new KernelShap(f), target);
}

/// <summary>The arguments of <see cref="LLMAttribution{TOptions}.Attribute"/>, with Captum's defaults.</summary>
/// <typeparam name="TOptions">The wrapped method's options.</typeparam>
/// <remarks>Python: the keyword arguments of <c>LLMAttribution.attribute</c>.</remarks>
public sealed record LLMAttributionOptions<TOptions>
    where TOptions : AttributionOptions
{
    /// <summary>Tokens left out of a target given as text (BOS, which the tokenizer adds). Python: <c>skip_tokens</c>.</summary>
    public IReadOnlyList<TokenReference>? SkipTokens { get; init; }

    /// <summary>
    /// How many times the method runs, its attributions averaged (for the sampling methods), at least 1. Python:
    /// <c>num_trials</c>. Each trial draws fresh samples: from the method's <c>Generator</c> or TorchSharp's default
    /// one, which every trial advances, or, when the method's options give a <c>Seed</c>, from one generator seeded with
    /// it for the whole call (trial 0 draws what that Seed alone gives, trial 1 the numbers that follow, and so on), so
    /// the same Seed gives the same average. <see cref="LLMGradientAttribution{TOptions}"/> takes no trials (Captum's
    /// has no <c>num_trials</c>) and refuses any other value than 1.
    /// </summary>
    public int NumTrials { get; init; } = 1;

    /// <summary>
    /// How many tokens are generated when no target is given, at least 1; 25 as Captum's default generation arguments.
    /// Given together with a target, the call is refused (Captum asserts <c>gen_args</c> is None when a target is given).
    /// Python: <c>gen_args["max_new_tokens"]</c>.
    /// </summary>
    public int MaxNewTokens
    {
        get => maxNewTokens;
        init
        {
            maxNewTokens = value;
            GenerationOptionGiven ??= nameof(MaxNewTokens);
        }
    }

    /// <summary>
    /// The token that ends greedy generation (kept in the answer, as Hugging Face's generate keeps it); when null (the
    /// default), the tokenizer's <see cref="ITextTokenizer.EndOfSequenceTokenId"/>, if it has one, as Captum's
    /// generation stops at the model's <c>eos_token_id</c> (GPT-2's and the story model's are their tokenizers').
    /// Python: <c>gen_args["eos_token_id"]</c>.
    /// </summary>
    public long? EndOfSequence
    {
        get => endOfSequence;
        init
        {
            endOfSequence = value;
            GenerationOptionGiven ??= nameof(EndOfSequence);
        }
    }

    /// <summary>
    /// Whether greedy generation stops at the end-of-sequence token (<see cref="EndOfSequence"/>, or the tokenizer's);
    /// true by default. False generates <see cref="MaxNewTokens"/> tokens (or up to the model's last position) whatever
    /// they are. Beyond Captum (whose generation always stops there).
    /// </summary>
    public bool StopAtEndOfSequence
    {
        get => stopAtEndOfSequence;
        init
        {
            stopAtEndOfSequence = value;
            GenerationOptionGiven ??= nameof(StopAtEndOfSequence);
        }
    }

    /// <summary>
    /// Whether a model that keeps a key-value cache (<see cref="ICachingCausalLanguageModel"/>) reuses it: greedy
    /// generation reads each token once, and <see cref="LLMAttribution{TOptions}"/> reads the unperturbed prompt once
    /// and each perturbed prompt only from its first changed token. True by default, as Captum's
    /// <c>use_cached_outputs</c>; the attributions are the same (to float rounding) either way. Ignored for other models,
    /// and while any of the model's modules carries a forward hook (a cached pass reads only the new tokens, so a hook
    /// would see or change other tensors than in the whole pass).
    /// </summary>
    /// <remarks>Python: <c>use_cached_outputs</c> (Captum caches token by token within each perturbed prompt; here the answer
    /// is read in one teacher-forced pass, and the cache saves the prompts' unchanged beginnings).</remarks>
    public bool UseCachedOutputs { get; init; } = true;

    /// <summary>
    /// Reports trials done (<see cref="LLMAttribution{TOptions}"/>) or answer tokens done
    /// (<see cref="LLMGradientAttribution{TOptions}"/>); the wrapped method's own evaluations are reported through
    /// its options' <c>Progress</c>. Beyond Captum.
    /// </summary>
    public IProgress<AttributionProgress>? Progress { get; init; }

    /// <summary>
    /// A contrastive foil, as text (encoded, skipped tokens left out) or ids: the attributed quantity becomes the
    /// answer's minus the foil's (why "garden" rather than "kitchen"); null (the default) attributes the answer alone.
    /// Beyond Captum (Inseq's contrastive attribution).
    /// </summary>
    /// <remarks>
    /// <para>The answer and the foil are each scored after the prompt with their own earlier tokens (teacher forcing).
    /// The whole-answer quantity is log p(answer) − log p(foil) (or p(answer) − p(foil) towards the probability), the
    /// sums of their tokens' log probabilities, whatever their lengths. Per token (FeatureAblation, the Shapley
    /// methods, the gradient methods), row t is log p(answer_t | prompt, answer_&lt;t) − log p(foil_t | prompt, foil_&lt;t),
    /// defined only when the foil has as many tokens as the answer; otherwise the result's token attribution is null
    /// and only the whole-answer contrast is attributed.</para>
    /// <para><see cref="LLMGradientAttribution{TOptions}"/> attributes each answer token and each foil token and
    /// subtracts (the gradient methods are linear in the explained output); LayerGradientShap's random baselines are
    /// drawn again for the foil, so set its Seed for an exact difference.</para>
    /// </remarks>
    public LLMTarget? Foil { get; init; }

    /// <summary>The wrapped method's options (perturbations per evaluation, samples, ...); its target and additional forward arguments must be left empty. Python: <c>**kwargs</c>.</summary>
    public TOptions? Method { get; init; }

    private readonly int maxNewTokens = 25;
    private readonly long? endOfSequence;
    private readonly bool stopAtEndOfSequence = true;

    /// <summary>The first generation option (MaxNewTokens, EndOfSequence, StopAtEndOfSequence) the caller set, or null.</summary>
    internal string? GenerationOptionGiven { get; private init; }

    internal void Validate(bool targetGiven)
    {
        if (targetGiven && GenerationOptionGiven is { } given)
        {
            // Captum: "gen_args must be None when target is given"; ignoring it would hide that the answer was not generated.
            throw new ArgumentException(
                $"{given}: generation options apply only when no target is given (the target is the answer; nothing is generated). Leave {given} unset, or pass no target.",
                given);
        }

        if (NumTrials < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(NumTrials), NumTrials, "NumTrials (num_trials) must be at least 1.");
        }

        if (MaxNewTokens < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxNewTokens), MaxNewTokens, "MaxNewTokens (max_new_tokens) must be at least 1.");
        }
    }
}
