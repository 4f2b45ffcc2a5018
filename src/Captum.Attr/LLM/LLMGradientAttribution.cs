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
/// Python: <c>captum.attr.LLMGradientAttribution(attr_method, tokenizer)</c> over LayerIntegratedGradients,
/// LayerGradientXActivation or LayerGradientShap, with a <see cref="TextTokenInput"/>. The method's baselines are over
/// the interpretable tensor: the default 0 puts the baseline token in every interpretable position, so
/// LayerIntegratedGradients integrates from the baseline token's embedding.
/// </remarks>
public sealed class LLMGradientAttribution<TOptions> : IAttribution
    where TOptions : AttributionOptions
{
    private readonly ICausalLanguageModel model;
    private readonly ITextTokenizer tokenizer;
    private readonly Func<ForwardFunction, ILayerAttributionMethod<TOptions>> method;

    /// <summary>Wraps a layer gradient method around the model.</summary>
    /// <param name="model">The language model.</param>
    /// <param name="tokenizer">Its tokenizer.</param>
    /// <param name="method">Builds the method from the forward function, on the embedding layer, e.g. <c>f =&gt; new LayerIntegratedGradients(f, "transformer.wte")</c>.</param>
    /// <exception cref="ArgumentException">The method is not one Captum's LLMGradientAttribution supports; the message names it.</exception>
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
    }

    /// <inheritdoc />
    /// <remarks>False: the LLM classes return no convergence delta, as Captum's.</remarks>
    public bool HasConvergenceDelta => false;

    /// <summary>Attributes the answer, token by token, to the prompt's interpretable tokens.</summary>
    /// <param name="input">The prompt's tokens.</param>
    /// <param name="target">The answer, as text or ids; generated greedily when null.</param>
    /// <param name="options">Skipped tokens, generation length and the method's own options (NumTrials must stay 1).</param>
    /// <param name="cancellationToken">Checked between answer tokens and inside the method.</param>
    /// <returns>Per answer token and in sum, the attributions, and the step scores; the caller disposes it.</returns>
    /// <exception cref="ArgumentException">The answer has no token or does not fit the model's positions, or an option does not fit; the message names it.</exception>
    /// <remarks>Python: <c>attribute(inp, target, skip_tokens, gen_args, **kwargs)</c>.</remarks>
    public LLMAttributionResult Attribute(TextTokenInput input, LLMTarget? target = null, LLMAttributionOptions<TOptions>? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        options ??= new LLMAttributionOptions<TOptions>();
        options.Validate();
        LLMAttributionCall.RequireNoTargetOrArguments(options.Method);
        using var scope = torch.NewDisposeScope();
        var foil = LLMAttributionCall.Foil(tokenizer, options.Foil, options.SkipTokens);
        if (foil is not null)
        {
            LLMAttributionCall.RequireFoilFits(model, input.Ids.Count, foil.Length);
        }

        var answer = LLMAttributionCall.Answer(model, tokenizer, input, target, options, cancellationToken);
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

        // [sequence tokens, interpretable tokens]: each token's attribution, given the prompt and the sequence's earlier tokens.
        Tensor TokenRows(long[] sequence)
        {
            var rows = new List<Tensor>();
            for (var t = 0; t < sequence.Length; t++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var tokenScope = torch.NewDisposeScope();
                var index = t;
                var forward = ForwardFunction.FromDelegate((object?[] args) => TokenLogProbability((Tensor)args[0]!, input, sequence, index, device), model.Module);
                using var features = input.ToTensor().to(device);
                using var result = method(forward).Attribute(features, options.Method, cancellationToken);
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
}
