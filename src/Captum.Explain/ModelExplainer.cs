using Captum.Plugins;

namespace Captum.Explain;

/// <summary>
/// Explains a classification by an <see cref="IInterpretableModel"/> (as a plugin offers it): predicts, then
/// attributes the explained class to every input through the model's attribution layers, as Captum's
/// multimodal VQA tutorial does. A shorthand for <see cref="IExplanationStrategy.Explain"/>.
/// </summary>
public static class ModelExplainer
{
    /// <summary>Predicts and explains one prepared example (batch of one) with Layer Integrated Gradients (<c>layer-ig</c>).</summary>
    /// <exception cref="ArgumentException">The prepared input does not fit the model (the message names the argument).</exception>
    public static Explanation Explain(IInterpretableModel model, PreparedInput input, ExplanationOptions? options = null, CancellationToken cancellationToken = default) =>
        Explain(model, input, ExplanationStrategies.LayerIntegratedGradients, options, cancellationToken);

    /// <summary>Predicts and explains one prepared example (batch of one) with <paramref name="strategy"/>.</summary>
    /// <exception cref="ArgumentException">The prepared input does not fit the model (the message names the argument).</exception>
    public static Explanation Explain(IInterpretableModel model, PreparedInput input, IExplanationStrategy strategy, ExplanationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(strategy);
        return strategy.Explain(model, input, options ?? new ExplanationOptions(), cancellationToken);
    }
}
