using Captum.Plugins;

namespace Captum.Explain;

/// <summary>
/// The base of strategies that attribute a class to the model's inputs: <see cref="Explain"/> checks the input,
/// predicts, picks the target (the predicted class unless <see cref="ExplanationOptions.Target"/> says otherwise),
/// asks <see cref="Attribute"/> for one attribution per input, and builds the <see cref="Explanation"/> (token
/// attributions for text inputs, contributions, the explained and the predicted class with their probabilities, and logits).
/// </summary>
public abstract class ExplanationStrategy : IExplanationStrategy
{
    /// <inheritdoc />
    public abstract string Name { get; }

    /// <inheritdoc />
    public abstract string Description { get; }

    /// <inheritdoc />
    public virtual bool HasConvergenceDelta => false;

    /// <inheritdoc />
    public virtual string DescribeFor(IInterpretableModel model) => Description;

    /// <inheritdoc />
    public Explanation Explain(IInterpretableModel model, PreparedInput input, ExplanationOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(options);
        if (input.Inputs.Count != model.AttributionLayers.Count || input.Baselines.Count != input.Inputs.Count || input.Displays.Count != input.Inputs.Count)
        {
            throw new ArgumentException(
                $"input has {input.Inputs.Count} inputs, {input.Baselines.Count} baselines and {input.Displays.Count} displays, but the model attributes to {model.AttributionLayers.Count} layers.",
                nameof(input));
        }

        using var scope = torch.NewDisposeScope();
        Tensor logits;
        using (torch.no_grad())
        {
            logits = model.Forward.Invoke([.. input.Inputs, .. input.AdditionalForwardArgs]);
        }

        if (logits.dim() != 2 || logits.shape[0] != 1)
        {
            throw new ArgumentException($"the model must return [1, classes] logits for one example, not [{string.Join(", ", logits.shape)}].", nameof(model));
        }

        var probabilities = model.Scores(logits);
        if (!probabilities.shape.SequenceEqual(logits.shape))
        {
            throw new ArgumentException($"the model's scores must have the outputs' shape [{string.Join(", ", logits.shape)}], not [{string.Join(", ", probabilities.shape)}].", nameof(model));
        }

        var predicted = probabilities.argmax(1).item<long>();
        var target = options.Target ?? predicted;
        if (target < 0 || target >= logits.shape[1])
        {
            throw new ArgumentException($"target {target} is out of range for {logits.shape[1]} classes.", nameof(options));
        }

        var computed = Attribute(model, input, target, options, cancellationToken);
        var (attributions, delta) = computed;
        if (attributions.Count != input.Inputs.Count)
        {
            throw new InvalidOperationException($"{Name} gave {attributions.Count} attributions for {input.Inputs.Count} inputs.");
        }

        var inputs = new InputExplanation[attributions.Count];
        for (var i = 0; i < attributions.Count; i++)
        {
            var attribution = attributions[i].squeeze(0).detach();
            IReadOnlyList<float>? tokens = input.Displays[i] is not TextDisplay
                ? null
                : (attribution.dim() >= 2 ? attribution.sum(dim: -1) : attribution).to_type(ScalarType.Float32).cpu().data<float>().ToArray();
            inputs[i] = new InputExplanation(input.Displays[i], attribution.MoveToOuterDisposeScope(), attribution.sum().item<float>(), tokens);
        }

        return new Explanation(
            LabelOf(model, target),
            target,
            predicted,
            probabilities[0, target].item<float>(),
            logits.squeeze(0).cpu().data<float>().ToArray(),
            inputs,
            delta)
        {
            PredictedLabel = LabelOf(model, predicted),
            PredictedProbability = probabilities[0, predicted].item<float>(),
            InternalBatchSize = computed.InternalBatchSize,
            PerturbationsPerEval = computed.PerturbationsPerEval,
            MemoryBudgetOverrun = computed.MemoryBudgetOverrun,
        };
    }

    private static string LabelOf(IInterpretableModel model, long index) => index < model.Labels.Count ? model.Labels[(int)index] : $"#{index}";

    /// <summary>The rows of a path method's single pass over every step of <paramref name="input"/>'s batch: what a result's null internal batch size stands for.</summary>
    protected static int PathRows(ExplanationOptions options, PreparedInput input)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(input);
        return (int)Math.Min(int.MaxValue, options.Steps * (input.Inputs.Count > 0 ? input.Inputs[0].shape[0] : 1));
    }

    /// <summary>
    /// Attributes <paramref name="target"/> to every input of <paramref name="input"/>. Runs inside a dispose scope
    /// that <see cref="Explain"/> owns: the returned tensors need not be moved out of it.
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="input">The example (checked: one input, baseline and display per attribution layer).</param>
    /// <param name="target">The class to explain.</param>
    /// <param name="options">The options.</param>
    /// <param name="cancellationToken">Cancels the attribution.</param>
    protected abstract InputAttributions Attribute(IInterpretableModel model, PreparedInput input, long target, ExplanationOptions options, CancellationToken cancellationToken);
}
