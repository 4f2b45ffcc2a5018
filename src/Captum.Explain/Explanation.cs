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
    /// <summary>The sum of every input's contribution.</summary>
    public double TotalContribution => Inputs.Sum(i => i.Contribution);

    /// <summary>The contribution of the first input shown as <typeparamref name="T"/> (e.g. <see cref="TextDisplay"/>); 0 when there is none.</summary>
    public double ContributionOf<T>()
        where T : InputDisplay => Inputs.FirstOrDefault(i => i.Display is T)?.Contribution ?? 0;

    /// <summary>Frees the attribution tensors.</summary>
    public void Dispose()
    {
        foreach (var input in Inputs)
        {
            input.Attribution.Dispose();
        }
    }
}
