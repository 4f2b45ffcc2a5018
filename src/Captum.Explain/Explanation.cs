using Captum.Plugins;

namespace Captum.Explain;

/// <summary>A prediction and its attribution to every input. Dispose it to free the attribution tensors.</summary>
/// <param name="Label">The explained class's label.</param>
/// <param name="LabelIndex">The explained class.</param>
/// <param name="PredictedIndex">The predicted class (the explained one unless a target was given).</param>
/// <param name="Probability">The explained class's score (<see cref="IInterpretableModel.Scores"/>: its softmax probability unless the model says otherwise).</param>
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
    private readonly string? predictedLabel;
    private readonly double? predictedProbability;

    /// <summary>
    /// The predicted class's label: <see cref="Label"/> when the predicted class is the explained one; otherwise the
    /// one given (<see cref="ExplanationStrategy"/> gives the model's label), else <c>#index</c>.
    /// </summary>
    public string PredictedLabel
    {
        get => predictedLabel ?? (PredictedIndex == LabelIndex ? Label : $"#{PredictedIndex}");
        init => predictedLabel = value;
    }

    /// <summary>
    /// The predicted class's score, as <see cref="Probability"/> is the explained class's: <see cref="Probability"/>
    /// when the predicted class is the explained one; otherwise the one given (<see cref="ExplanationStrategy"/> gives
    /// it), else null.
    /// </summary>
    public double? PredictedProbability
    {
        get => predictedProbability ?? (PredictedIndex == LabelIndex ? Probability : null);
        init => predictedProbability = value;
    }

    /// <summary>
    /// The rows (integration steps times examples) per forward and backward pass of a path method: the internal batch
    /// size given, or the one the memory budget chose (every step when it all fits one pass); null for other methods.
    /// </summary>
    public int? InternalBatchSize { get; init; }

    /// <summary>The perturbations per forward pass of a perturbation method (given, or chosen by the memory budget); null for other methods.</summary>
    public int? PerturbationsPerEval { get; init; }

    /// <summary>Set when one step or perturbation alone needed more than the default memory budget, so the method ran beyond it.</summary>
    public MemoryBudgetOverrun? MemoryBudgetOverrun { get; init; }

    /// <summary>The sum of every input's contribution.</summary>
    public double TotalContribution => Inputs.Sum(i => i.Contribution);

    /// <summary>The contribution of the first input shown as <typeparamref name="T"/> (e.g. <see cref="TextDisplay"/>); 0 when there is none.</summary>
    public double ContributionOf<T>()
        where T : InputDisplay => Inputs.FirstOrDefault(i => i.Display is T)?.Contribution ?? 0;

    /// <summary>
    /// Refuses an explanation that answers nothing: a prediction (logits or probability) or attributions (an input's
    /// contribution, the convergence delta) that are NaN or infinite, as weights whose products overflow float32 give.
    /// </summary>
    /// <param name="method">The strategy that made it, named in the message.</param>
    /// <exception cref="InvalidOperationException">It is not finite; the message says which part.</exception>
    public void RequireFinite(string method)
    {
        if (!double.IsFinite(Probability) || Logits.Any(l => !float.IsFinite(l)))
        {
            var bad = Logits.Count(l => !float.IsFinite(l));
            throw new InvalidOperationException(string.Create(
                System.Globalization.CultureInfo.InvariantCulture,
                $"the model's output is not finite (NaN or infinite) for this input ({bad} of {Logits.Count} logits, probability {Probability}): a weight or an input is NaN, infinite or too large for float32."));
        }

        var notFinite = Inputs.Where(i => !double.IsFinite(i.Contribution) || (i.TokenAttributions?.Any(t => !float.IsFinite(t)) ?? false)).Select(i => i.Display.Name).ToList();
        if (notFinite.Count > 0 || !(double.IsNaN(Delta) || double.IsFinite(Delta)))
        {
            throw new InvalidOperationException(
                $"the {method} attributions of {(notFinite.Count > 0 ? string.Join(", ", notFinite) : "the inputs (their convergence delta)")} are not finite (NaN or infinite), though the prediction is: the gradients overflow float32.");
        }
    }

    /// <summary>Frees the attribution tensors.</summary>
    public void Dispose()
    {
        foreach (var input in Inputs)
        {
            input.Attribution.Dispose();
        }
    }
}
