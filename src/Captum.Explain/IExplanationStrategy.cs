using Captum.Plugins;

namespace Captum.Explain;

/// <summary>
/// One way of explaining a plugin model's prediction, chosen by name (<c>captum vqa --method NAME</c>). The four
/// built-in strategies are in <see cref="ExplanationStrategies"/>; a plugin adds its own by registering an
/// <see cref="IExplanationStrategy"/> in <see cref="ICaptumPlugin.ConfigureServices"/>:
/// <c>services.AddSingleton&lt;IExplanationStrategy, MyStrategy&gt;()</c>. Derive from
/// <see cref="ExplanationStrategy"/> to get the prediction and the <see cref="Explanation"/> for free.
/// </summary>
public interface IExplanationStrategy
{
    /// <summary>The name users choose it by, lowercase with dashes, e.g. "layer-ig".</summary>
    string Name { get; }

    /// <summary>One sentence on what it does.</summary>
    string Description { get; }

    /// <summary>
    /// One sentence on what it does to <paramref name="model"/>'s inputs, for a page or list that shows one model's
    /// methods (Captum Insights); default <see cref="Description"/>. Say nothing of inputs the model does not have
    /// (image patches for a model of text alone).
    /// </summary>
    string DescribeFor(IInterpretableModel model) => Description;

    /// <summary>
    /// Whether <see cref="Explain"/> gives a convergence delta (path methods). When it does, a NaN
    /// <see cref="Explanation.Delta"/> means the attribution failed, not that the method has none. The delta is
    /// Captum's completeness gap (the attributions' sum minus the output's change from the baseline), so a method
    /// with one says its sums add up to that change; the sums of one without one (occlusion, gradient times
    /// activation) need not, and are not comparable with them. Default false.
    /// </summary>
    bool HasConvergenceDelta => false;

    /// <summary>Predicts and explains one prepared example (batch of one). The caller disposes the result.</summary>
    /// <param name="model">The model.</param>
    /// <param name="input">The example, as the model's <see cref="IInterpretableModel.Prepare(IReadOnlyDictionary{string, string})"/> made it.</param>
    /// <param name="options">Steps, batch size, target and progress.</param>
    /// <param name="cancellationToken">Cancels the attribution.</param>
    /// <exception cref="ArgumentException">The input does not fit the model, or the options do not fit the strategy; the message names the argument.</exception>
    Explanation Explain(IInterpretableModel model, PreparedInput input, ExplanationOptions options, CancellationToken cancellationToken = default);
}
