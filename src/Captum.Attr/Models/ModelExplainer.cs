using Captum.Forward;
using Captum.Layers;
using Captum.Plugins;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>How <see cref="ModelExplainer"/> attributes a prediction to its inputs.</summary>
public enum ExplanationMethod
{
    /// <summary>Layer Integrated Gradients over the model's attribution layers, all at once (the tutorial's option (2)).</summary>
    LayerIntegratedGradients,

    /// <summary>
    /// Integrated Gradients with an interpretable embedding configured on every attribution layer that is not
    /// an input identity (the tutorial's option (1)); gives the same numbers as option (2).
    /// </summary>
    InterpretableEmbedding,

    /// <summary>
    /// Layer gradient times activation over the attribution layers: one forward and backward pass; the
    /// first-order (Taylor) view, without a baseline.
    /// </summary>
    LayerGradientXActivation,

    /// <summary>
    /// Occlusion of the raw inputs: image patches of an eighth of the side (half-overlapping) and single tokens,
    /// replaced by the baselines; one forward pass per patch and token, no gradients.
    /// </summary>
    Occlusion,
}

/// <summary>Options of <see cref="ModelExplainer.Explain"/>.</summary>
public sealed record ExplanationOptions
{
    /// <summary>The attribution method.</summary>
    public ExplanationMethod Method { get; init; } = ExplanationMethod.LayerIntegratedGradients;

    /// <summary>Integration steps (the VQA tutorial uses 30).</summary>
    public int Steps { get; init; } = 30;

    /// <summary>
    /// At most this many expanded examples per forward and backward pass (path methods; all steps in one pass when
    /// null), or perturbed examples per forward pass for occlusion (16 when null).
    /// </summary>
    public int? InternalBatchSize { get; init; }

    /// <summary>The class to explain; the predicted one when null.</summary>
    public long? Target { get; init; }

    /// <summary>
    /// Receives the method's progress: integration steps (LayerIntegratedGradients, InterpretableEmbedding), forward
    /// evaluations (Occlusion), or (1, 1) after the single pass of LayerGradientXActivation.
    /// </summary>
    public IProgress<AttributionProgress>? Progress { get; init; }
}

/// <summary>The attribution of one input of a prediction.</summary>
/// <param name="Display">How the input is shown (image or text), from the model's <see cref="PreparedInput"/>.</param>
/// <param name="Attribution">The attribution, of the attributed layer value's shape without the batch dimension; owned by the <see cref="Explanation"/>.</param>
/// <param name="Contribution">The sum of the attribution.</param>
/// <param name="TokenAttributions">For a text input, one value per token (summed over the embedding dimension); otherwise null.</param>
public sealed record InputExplanation(InputDisplay Display, Tensor Attribution, double Contribution, IReadOnlyList<float>? TokenAttributions);

/// <summary>A prediction and its attribution to every input. Dispose it to free the attribution tensors.</summary>
/// <param name="Label">The explained class's label.</param>
/// <param name="LabelIndex">The explained class.</param>
/// <param name="PredictedIndex">The predicted class (the explained one unless a target was given).</param>
/// <param name="Probability">The softmax probability of the explained class.</param>
/// <param name="Logits">The model's output for every class.</param>
/// <param name="Inputs">One explanation per input.</param>
/// <param name="Delta">The convergence delta of path methods; NaN for methods without one.</param>
public sealed record Explanation(
    string Label,
    long LabelIndex,
    long PredictedIndex,
    double Probability,
    IReadOnlyList<float> Logits,
    IReadOnlyList<InputExplanation> Inputs,
    double Delta) : IDisposable
{
    /// <summary>The sum of every input's contribution.</summary>
    public double TotalContribution => Inputs.Sum(i => i.Contribution);

    /// <summary>Frees the attribution tensors.</summary>
    public void Dispose()
    {
        foreach (var input in Inputs)
        {
            input.Attribution.Dispose();
        }
    }
}

/// <summary>
/// Explains a classification by an <see cref="IInterpretableModel"/> (as a plugin offers it): predicts, then
/// attributes the explained class to every input through the model's attribution layers, as Captum's
/// multimodal VQA tutorial does.
/// </summary>
public static class ModelExplainer
{
    /// <summary>Predicts and explains one prepared example (batch of one).</summary>
    /// <exception cref="ArgumentException">The prepared input does not fit the model (the message names the argument).</exception>
    public static Explanation Explain(IInterpretableModel model, PreparedInput input, ExplanationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(input);
        options ??= new ExplanationOptions();
        if (input.Inputs.Count != model.AttributionLayers.Count || input.Baselines.Count != input.Inputs.Count || input.Displays.Count != input.Inputs.Count)
        {
            throw new ArgumentException(
                $"input has {input.Inputs.Count} inputs, {input.Baselines.Count} baselines and {input.Displays.Count} displays, but the model attributes to {model.AttributionLayers.Count} layers.",
                nameof(input));
        }

        using var scope = torch.NewDisposeScope();
        var forward = model.Forward;
        Tensor logits;
        using (torch.no_grad())
        {
            logits = forward.Invoke(ArgumentPreparation.Concat(input.Inputs, input.AdditionalForwardArgs));
        }

        if (logits.dim() != 2 || logits.shape[0] != 1)
        {
            throw new ArgumentException($"the model must return [1, classes] logits for one example, not {Shapes.Format(logits.shape)}.", nameof(model));
        }

        var probabilities = torch.softmax(logits, 1);
        var predicted = probabilities.argmax(1).item<long>();
        var target = options.Target ?? predicted;
        if (target < 0 || target >= logits.shape[1])
        {
            throw new ArgumentException($"target {target} is out of range for {logits.shape[1]} classes.", nameof(options));
        }

        var (attributions, delta) = options.Method switch
        {
            ExplanationMethod.LayerIntegratedGradients => ByLayers(model, input, target, options, cancellationToken),
            ExplanationMethod.InterpretableEmbedding => ByInterpretableEmbeddings(model, input, target, options, cancellationToken),
            ExplanationMethod.LayerGradientXActivation => ByGradientXActivation(model, input, target, options, cancellationToken),
            ExplanationMethod.Occlusion => ByOcclusion(model, input, target, options, cancellationToken),
            _ => throw new ArgumentException($"unknown method {options.Method}.", nameof(options)),
        };

        var inputs = new InputExplanation[attributions.Length];
        for (var i = 0; i < attributions.Length; i++)
        {
            var attribution = attributions[i].squeeze(0).detach();
            IReadOnlyList<float>? tokens = input.Displays[i] is not TextDisplay
                ? null
                : (attribution.dim() >= 2 ? attribution.sum(dim: -1) : attribution).to_type(ScalarType.Float32).cpu().data<float>().ToArray();
            inputs[i] = new InputExplanation(input.Displays[i], attribution.MoveToOuterDisposeScope(), attribution.sum().item<float>(), tokens);
        }

        return new Explanation(
            target < model.Labels.Count ? model.Labels[(int)target] : $"#{target}",
            target,
            predicted,
            probabilities[0, target].item<float>(),
            logits.squeeze(0).cpu().data<float>().ToArray(),
            inputs,
            delta);
    }

    private static (Tensor[] Attributions, double Delta) ByLayers(IInterpretableModel model, PreparedInput input, long target, ExplanationOptions options, CancellationToken cancellationToken)
    {
        var lig = new LayerIntegratedGradients(model.Forward, model.AttributionLayers);
        var result = lig.Attribute(Inputs.Of([.. input.Inputs]), new LayerIntegratedGradientsOptions
        {
            Baselines = input.Baselines.ToArray(),
            Target = target,
            AdditionalForwardArgs = input.AdditionalForwardArgs,
            Steps = options.Steps,
            InternalBatchSize = options.InternalBatchSize,
            ReturnConvergenceDelta = true,
            Progress = options.Progress,
        }, cancellationToken);
        return (result.Layers.Select(l => l.Count == 1 ? l[0] : throw new ArgumentException("every attribution layer must produce one tensor.", nameof(model))).ToArray(), result.Delta!.item<float>());
    }

    private static (Tensor[] Attributions, double Delta) ByGradientXActivation(IInterpretableModel model, PreparedInput input, long target, ExplanationOptions options, CancellationToken cancellationToken)
    {
        var method = new LayerGradientXActivation(model.Forward, model.AttributionLayers);
        var result = method.Attribute(Inputs.Of([.. input.Inputs]), new LayerGradientXActivationOptions
        {
            Target = target,
            AdditionalForwardArgs = input.AdditionalForwardArgs,
            Progress = options.Progress,
        }, cancellationToken);
        return (result.Layers.Select(l => l.Count == 1 ? l[0] : throw new ArgumentException("every attribution layer must produce one tensor.", nameof(model))).ToArray(), double.NaN);
    }

    private static (Tensor[] Attributions, double Delta) ByOcclusion(IInterpretableModel model, PreparedInput input, long target, ExplanationOptions options, CancellationToken cancellationToken)
    {
        var windows = new long[input.Inputs.Count][];
        var strides = new long[input.Inputs.Count][];
        for (var i = 0; i < windows.Length; i++)
        {
            var shape = input.Inputs[i].shape[1..];
            if (input.Displays[i] is ImageDisplay && shape.Length == 3)
            {
                var (h, w) = (Math.Max(1, shape[1] / 8), Math.Max(1, shape[2] / 8));
                windows[i] = [shape[0], h, w];
                strides[i] = [shape[0], Math.Max(1, h / 2), Math.Max(1, w / 2)];
            }
            else
            {
                windows[i] = shape.Select(_ => 1L).ToArray();
                strides[i] = shape.Select(_ => 1L).ToArray();
            }
        }

        var result = new Occlusion(model.Forward).Attribute(Inputs.Of([.. input.Inputs]), new OcclusionOptions
        {
            SlidingWindowShapes = windows,
            Strides = strides,
            Baselines = input.Baselines.ToArray(),
            Target = target,
            AdditionalForwardArgs = input.AdditionalForwardArgs,
            PerturbationsPerEval = Math.Max(1, options.InternalBatchSize ?? 16),
            Progress = options.Progress,
        }, cancellationToken);
        return (result.Attributions.ToArray(), double.NaN);
    }

    private static (Tensor[] Attributions, double Delta) ByInterpretableEmbeddings(IInterpretableModel model, PreparedInput input, long target, ExplanationOptions options, CancellationToken cancellationToken)
    {
        var root = model.Forward.Module ?? throw new ArgumentException("the model's forward function has no module to configure embeddings on.", nameof(model));
        var configured = new List<InterpretableEmbeddingBase>();
        try
        {
            var inputs = new Tensor[input.Inputs.Count];
            var baselines = new BaselineValue[input.Inputs.Count];
            for (var i = 0; i < inputs.Length; i++)
            {
                var layer = model.AttributionLayers[i].Resolve(root);
                if (layer is InputIdentity)
                {
                    inputs[i] = input.Inputs[i];
                    baselines[i] = input.Baselines[i];
                    continue;
                }

                var path = LayerPath.PathOf(root, layer)
                    ?? throw new ArgumentException($"attribution layer {model.AttributionLayers[i]} is not part of the model.", nameof(model));
                var embedding = InterpretableEmbeddings.ConfigureInterpretableEmbeddingLayer(root, path);
                configured.Add(embedding);
                inputs[i] = embedding.IndicesToEmbeddings(input.Inputs[i]);
                baselines[i] = input.Baselines[i].Tensor is { } ids
                    ? embedding.IndicesToEmbeddings(ids)
                    : throw new ArgumentException($"baseline {i} must be token ids for the embedding at '{path}'.", nameof(input));
            }

            var result = new IntegratedGradients(model.Forward).Attribute(Inputs.Of(inputs), new IntegratedGradientsOptions
            {
                Baselines = baselines,
                Target = target,
                AdditionalForwardArgs = input.AdditionalForwardArgs,
                Steps = options.Steps,
                InternalBatchSize = options.InternalBatchSize,
                ReturnConvergenceDelta = true,
                Progress = options.Progress,
            }, cancellationToken);
            return (result.Attributions.ToArray(), result.Delta!.item<float>());
        }
        finally
        {
            foreach (var embedding in configured)
            {
                InterpretableEmbeddings.RemoveInterpretableEmbeddingLayer(root, embedding);
            }
        }
    }
}
