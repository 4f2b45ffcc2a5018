using Captum.Forward;
using Captum.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// Attributes a language model's answer to the tokens of its prompt with a gradient method on the token embedding
/// layer: for each answer token, the gradient attribution of its log probability (given the prompt and the answer's
/// earlier tokens) to the embeddings of the prompt's tokens, summed over the embedding dimension.
/// </summary>
/// <typeparam name="TOptions">The wrapped layer method's options.</typeparam>
/// <remarks>
/// <para>Python: <c>captum.attr.LLMGradientAttribution(attr_method, tokenizer)</c> over LayerIntegratedGradients,
/// LayerGradientXActivation or LayerGradientShap, with a <see cref="TextTokenInput"/>. As in Captum, the method is given
/// the interpretable tensor (ones, here as Float32) and attributes to the embedding layer's output; its baselines are
/// over the interpretable tensor: 0 puts the baseline token in an interpretable position, 1 keeps the prompt's token,
/// so LayerIntegratedGradients integrates from the baseline token's embedding and LayerGradientXActivation multiplies
/// the gradient by the prompt's embeddings.</para>
/// <para>Between 0 and 1 (LayerGradientShap's random points between baseline and input, or a baseline of such a value)
/// the layer's output at that position is put at that fraction of the way from its value on the baseline token to its
/// value on the prompt's token: Gradient SHAP's points lie between the two embeddings, as on a continuous input. (Captum
/// turns every value other than 1 into the baseline token, so its points all collapse onto the baseline.) Values 0 and
/// 1 give exactly the model's own passes. LayerGradientShap's baselines default to 0 here (Captum requires them).</para>
/// <para>One prompt per call, as in Captum: the interpretable tensor is [1, features] and the answer one sequence; the
/// results have no batch dimension (rows beyond one are the method's own, e.g. integration steps or samples).</para>
/// </remarks>
public sealed class LLMGradientAttribution<TOptions> : IAttribution
    where TOptions : AttributionOptions
{
    private readonly ICausalLanguageModel model;
    private readonly ITextTokenizer tokenizer;
    private readonly Func<ForwardFunction, ILayerAttributionMethod<TOptions>> method;
    private readonly nn.Module layer;
    private readonly bool interpolates;

    /// <summary>Wraps a layer gradient method around the model.</summary>
    /// <param name="model">The language model.</param>
    /// <param name="tokenizer">Its tokenizer.</param>
    /// <param name="method">Builds the method from the forward function, on the embedding layer, e.g. <c>f =&gt; new LayerIntegratedGradients(f, "transformer.wte")</c>.</param>
    /// <exception cref="ArgumentException">The method is not one Captum's LLMGradientAttribution supports, or attributes to more than one layer; the message names it.</exception>
    public LLMGradientAttribution(ICausalLanguageModel model, ITextTokenizer tokenizer, Func<ForwardFunction, ILayerAttributionMethod<TOptions>> method)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(method);
        this.model = model;
        this.tokenizer = tokenizer;
        this.method = method;
        var probe = LLMAttributionCall.Probe(model, method);
        if (probe is not (LayerIntegratedGradients or LayerGradientXActivation or LayerGradientShap))
        {
            throw new ArgumentException(
                $"method: LLMGradientAttribution wraps LayerIntegratedGradients, LayerGradientXActivation or LayerGradientShap, not {probe.GetType().Name}.",
                nameof(method));
        }

        if (probe.Layers.Count != 1)
        {
            throw new ArgumentException($"method: LLMGradientAttribution attributes to one layer (the token embedding), not {probe.Layers.Count}.", nameof(method));
        }

        layer = probe.Layers[0];
        interpolates = probe is not LayerGradientXActivation;
    }

    /// <inheritdoc />
    /// <remarks>False: the LLM classes return no convergence delta, as Captum's.</remarks>
    public bool HasConvergenceDelta => false;

    /// <summary>Attributes the answer, token by token, to the prompt's interpretable tokens: one prompt and one answer per call (batch dimension 1).</summary>
    /// <param name="input">The prompt's tokens: one prompt.</param>
    /// <param name="target">The answer, as text or ids; generated greedily when null.</param>
    /// <param name="options">Skipped tokens, generation length and the method's own options; NumTrials must stay 1 (Captum's LLMGradientAttribution has no <c>num_trials</c>).</param>
    /// <param name="cancellationToken">Checked between answer tokens and inside the method.</param>
    /// <returns>Per answer token and in sum, the attributions, and the step scores; the caller disposes it.</returns>
    /// <exception cref="ArgumentException">The answer has no token or does not fit the model's positions, no target is given and the prompt leaves no position to generate one, or an option does not fit (NumTrials other than 1 included); the message names it (input, target, Foil, or the option), before any gradient pass.</exception>
    /// <remarks>Python: <c>attribute(inp, target, skip_tokens, gen_args, **kwargs)</c>.</remarks>
    public LLMAttributionResult Attribute(TextTokenInput input, LLMTarget? target = null, LLMAttributionOptions<TOptions>? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        options ??= new LLMAttributionOptions<TOptions>();
        options.Validate(target is not null);
        if (options.NumTrials != 1)
        {
            // Captum's LLMGradientAttribution.attribute has no num_trials (given, it reaches the method, which refuses it).
            throw new ArgumentException(
                $"NumTrials: LLMGradientAttribution runs its method once per answer token and takes no trials (Captum's has no num_trials); leave it 1, not {options.NumTrials}.",
                nameof(options.NumTrials));
        }

        LLMAttributionCall.RequireNoTargetOrArguments(options.Method);
        using var scope = torch.NewDisposeScope();
        var foil = LLMAttributionCall.Foil(model, tokenizer, options.Foil, options.SkipTokens);
        using (var ids = input.ToModelInput(null, tokenizer))
        {
            LLMAttributionCall.RequireInputIds(model, input, ids);
        }

        if (foil is not null)
        {
            LLMAttributionCall.RequireFoilFits(model, input.Ids.Count, foil.Length);
        }

        var answer = LLMAttributionCall.Answer(model, tokenizer, input, target, options, cancellationToken);
        LLMAttributionCall.RequireFoilDiffers(answer, foil, tokenizer);
        LLMGeneration.RequireFits(model, input.Ids.Count, answer.Length);
        var device = LLMAttributionCall.DeviceOf(model);
        IReadOnlyList<LLMStepScore> steps;
        using (var prompt = input.ToModelInput(null, tokenizer).to(device))
        {
            steps = LLMGeneration.StepScores(model, prompt, answer);
        }

        var positions = torch.tensor(input.InterpretableMask.Select((b, i) => (b, i)).Where(p => p.b).Select(p => (long)p.i).ToArray(), ScalarType.Int64);
        var total = answer.Length + (foil?.Length ?? 0);
        var done = 0;
        var methodOptions = WithDefaultBaselines(options.Method);
        using var features = input.ToTensor().to_type(ScalarType.Float32).to(device);

        // The layer's value on the prompt minus its value on the baseline prompt, [1, prompt tokens, ...], and the map
        // from interpretable features to prompt positions, [features, prompt tokens]: what puts fractional features between the two.
        var difference = interpolates ? LayerDifference(input, device) : null;
        var selection = torch.nn.functional.one_hot(positions, input.Ids.Count).to_type(ScalarType.Float32).to(device);

        // [sequence tokens, interpretable tokens]: each token's attribution, given the prompt and the sequence's earlier tokens.
        Tensor TokenRows(long[] sequence)
        {
            var rows = new List<Tensor>();
            for (var t = 0; t < sequence.Length; t++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var tokenScope = torch.NewDisposeScope();
                var index = t;
                Tensor? fractions = null;
                var forward = ForwardFunction.FromDelegate(
                    (object?[] args) =>
                    {
                        var perturbed = (Tensor)args[0]!;
                        fractions = difference is null ? null : Fractions(perturbed, selection);
                        return TokenLogProbability(perturbed, input, sequence, index, device);
                    },
                    model.Module);
                var attributor = method(forward);

                // Registered before the method's own hooks, so that the method sees (and differentiates) the placed value.
                using var placing = difference is null
                    ? null
                    : LayerHooks.Register(layer, onInput: false, values => fractions is null ? null : [Place(values, fractions, difference)]);
                using var result = attributor.Attribute(features, methodOptions, cancellationToken);
                var embedding = result.Layers.Count == 1 && result.Layers[0].Count == 1
                    ? result.Layers[0][0]
                    : throw new InvalidOperationException("The method must attribute to one layer with one output (the token embedding).");

                // [1, prompt + t, width]: the sequence's earlier tokens are inputs too, but only the prompt's are attributed.
                var perPosition = embedding.narrow(1, 0, input.Ids.Count).sum(-1).cpu().to_type(ScalarType.Float32);
                rows.Add(perPosition.index_select(1, positions).MoveToOuterDisposeScope());
                options.Progress?.Report(new AttributionProgress(++done, total));
            }

            return torch.cat(rows, 0);
        }

        var tokens = TokenRows(answer);
        Tensor? perToken = tokens;
        var sequenceAttribution = tokens.sum(dim: 0);
        if (foil is not null)
        {
            // The methods are linear in the explained output: the contrast's attribution is the difference.
            var foilTokens = TokenRows(foil);
            sequenceAttribution = sequenceAttribution - foilTokens.sum(dim: 0);
            perToken = foil.Length == answer.Length ? tokens - foilTokens : null;
        }

        return new LLMAttributionResult(
            sequenceAttribution.MoveToOuterDisposeScope(),
            perToken?.MoveToOuterDisposeScope(),
            input.Values,
            ReadableTokens.Of(answer, tokenizer),
            answer,
            steps,
            foil is null ? null : ReadableTokens.Of(foil, tokenizer),
            foil);
    }

    /// <summary>LayerGradientShap's baselines, 0 (the baseline token everywhere) when none are given; other options as given.</summary>
    private static TOptions? WithDefaultBaselines(TOptions? options) =>
        typeof(TOptions) == typeof(LayerGradientShapOptions) && options is not LayerGradientShapOptions { Baselines.IsNone: false }
            ? (TOptions)(object)((options as LayerGradientShapOptions ?? new LayerGradientShapOptions()) with { Baselines = 0.0 })
            : options;

    /// <summary>The layer's value on the prompt minus its value with the baseline token in every interpretable position, [1, prompt tokens, ...], from one pass without gradients.</summary>
    private Tensor LayerDifference(TextTokenInput input, Device device)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        using var removed = torch.zeros(1, input.FeatureCount);
        var both = torch.cat([input.ToModelInput(null, tokenizer), input.ToModelInput(removed, tokenizer)], 0).to(device);
        Tensor? values = null;
        using (LayerHooks.Register(layer, onInput: false, tensors =>
               {
                   values = tensors.Length == 1 ? tensors[0].detach() : throw new ArgumentException($"method: the layer gives {tensors.Length} tensors; LLMGradientAttribution attributes to one (the token embedding's).", "method");
                   return null;
               }))
        {
            model.Logits(both);
        }

        if (values is null || values.dim() < 2 || values.shape[0] != 2 || values.shape[1] != input.Ids.Count)
        {
            throw new ArgumentException($"method: the layer must be called once per pass with a value of [rows, {input.Ids.Count} tokens, ...] (the token embedding).", "method");
        }

        return (values.narrow(0, 0, 1) - values.narrow(0, 1, 1)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// How far each prompt position of each row lies from its baseline value beyond what its token gives, [rows, prompt
    /// tokens]: a feature's value where it is neither 0 nor 1 (there the token is the baseline's), 0 elsewhere; null when
    /// no feature of <paramref name="perturbed"/> is fractional.
    /// </summary>
    private static Tensor? Fractions(Tensor perturbed, Tensor selection)
    {
        var fraction = torch.where(perturbed.eq(1), torch.zeros_like(perturbed), perturbed).to_type(ScalarType.Float32);
        return fraction.ne(0).any().item<bool>() ? fraction.matmul(selection) : null;
    }

    /// <summary>The layer's value with each prompt position moved by its fraction of <paramref name="difference"/>; later positions (the answer's) unchanged.</summary>
    private static Tensor Place(Tensor[] values, Tensor fractions, Tensor difference)
    {
        var value = values.Length == 1 && values[0].shape[0] == fractions.shape[0]
            ? values[0]
            : throw new InvalidOperationException("The layer's value does not have the rows of the perturbed features.");
        var tokens = difference.shape[1];
        var shape = Enumerable.Repeat(1L, (int)value.dim()).ToArray();
        shape[0] = fractions.shape[0];
        shape[1] = tokens;
        var prompt = value.narrow(1, 0, tokens) + (fractions.reshape(shape).to(value.dtype) * difference);
        return value.shape[1] == tokens ? prompt : torch.cat([prompt, value.narrow(1, tokens, value.shape[1] - tokens)], 1);
    }

    private Tensor TokenLogProbability(Tensor perturbed, TextTokenInput input, long[] sequence, int index, Device device)
    {
        var ids = input.ToModelInput(perturbed, tokenizer).to(device);
        if (index > 0)
        {
            var earlier = torch.tensor(sequence[..index], ScalarType.Int64, device).unsqueeze(0).expand(ids.shape[0], -1);
            ids = torch.cat([ids, earlier], 1);
        }

        var logits = model.Logits(ids)[TensorIndex.Colon, -1];
        return torch.nn.functional.log_softmax(logits, 1)[TensorIndex.Colon, sequence[index]];
    }
}

/// <summary>The LLM gradient attribution classes built from the methods Captum's supports.</summary>
public static class LLMGradientAttribution
{
    /// <summary>LLMGradientAttribution over <see cref="Attr.LayerIntegratedGradients"/> on the token embedding <paramref name="embedding"/>.</summary>
    public static LLMGradientAttribution<LayerIntegratedGradientsOptions> LayerIntegratedGradients(ICausalLanguageModel model, ITextTokenizer tokenizer, LayerReference embedding, bool multiplyByInputs = true) =>
        new(model, tokenizer, f => new LayerIntegratedGradients(f, embedding, multiplyByInputs));

    /// <summary>LLMGradientAttribution over <see cref="Attr.LayerGradientXActivation"/> on the token embedding <paramref name="embedding"/>: the gradient times the prompt's embeddings.</summary>
    public static LLMGradientAttribution<LayerGradientXActivationOptions> LayerGradientXActivation(ICausalLanguageModel model, ITextTokenizer tokenizer, LayerReference embedding, bool multiplyByInputs = true) =>
        new(model, tokenizer, f => new LayerGradientXActivation(f, embedding, multiplyByInputs));

    /// <summary>
    /// LLMGradientAttribution over <see cref="Attr.LayerGradientShap"/> on the token embedding <paramref name="embedding"/>:
    /// expected gradients at random points between the baseline token's and the prompt's embeddings (baselines 0, the
    /// baseline token, unless the options give others; set its Seed for repeatable results).
    /// </summary>
    public static LLMGradientAttribution<LayerGradientShapOptions> LayerGradientShap(ICausalLanguageModel model, ITextTokenizer tokenizer, LayerReference embedding, bool multiplyByInputs = true) =>
        new(model, tokenizer, f => new LayerGradientShap(f, embedding, multiplyByInputs));
}
