using Captum.Attr;
using static TorchSharp.torch;

namespace Captum.Metrics;

/// <summary>
/// An explanation method as the metrics call it: explains <paramref name="inputs"/> with the given per-example
/// arguments and returns the explanation tensors (for an attribution method, its attributions; for a layer method,
/// the tensors of every layer in order). Results are read, not kept: the metric frees them.
/// </summary>
/// <param name="inputs">The inputs to explain (the original ones, or a perturbed batch).</param>
/// <param name="arguments">
/// Baselines, target and additional forward arguments, already expanded by the metric to the batch of
/// <paramref name="inputs"/>; pass them on to the method.
/// </param>
/// <param name="cancellationToken">The metric's token.</param>
/// <returns>The explanation tensors, each batch first.</returns>
/// <remarks>
/// Python: <c>explanation_func</c> of <c>sensitivity_max</c>, typically <c>method.attribute</c>, called with the
/// inputs and the keyword arguments. Adapters for the attribution classes are in <see cref="Explanations"/>; any other
/// method is one lambda away, e.g.
/// <c>(x, a, ct) =&gt; method.Attribute(x, new() { Target = a.Target }, ct).Attributions</c>.
/// </remarks>
public delegate IReadOnlyList<Tensor> ExplanationFunction(Inputs inputs, ExplanationArguments arguments, CancellationToken cancellationToken);

/// <summary>
/// The per-example arguments a metric hands to an <see cref="ExplanationFunction"/>, expanded to the batch being
/// explained: every example of a perturbed batch gets its original example's target, baseline and additional
/// forward arguments.
/// </summary>
/// <param name="Baselines">The baselines (none when the metric was given none).</param>
/// <param name="Target">The target (none when the metric was given none).</param>
/// <param name="AdditionalForwardArgs">The additional forward arguments (null when the metric was given none).</param>
public sealed record ExplanationArguments(Baselines Baselines, Target Target, IReadOnlyList<object?>? AdditionalForwardArgs);

/// <summary>Adapters that turn CaptumSharp's attribution objects into <see cref="ExplanationFunction"/>s.</summary>
/// <remarks>
/// The options given here supply everything else (steps, method, ...). The metric's baselines, target and additional
/// forward arguments replace the options' own whenever the metric was given them; give per-example values to the
/// metric, which expands them for every perturbed batch.
/// </remarks>
public static class Explanations
{
    /// <summary>
    /// Any attribution method over the inputs (gradient, perturbation or neuron method) as an explanation function:
    /// its attributions, one per input.
    /// </summary>
    /// <typeparam name="TOptions">The method's options.</typeparam>
    /// <param name="method">The method.</param>
    /// <param name="options">Its options; the metric's arguments replace baselines, target and additional arguments when given.</param>
    /// <exception cref="ArgumentException">
    /// When called: the metric gives baselines or a target but the method's options take none (they would be ignored).
    /// </exception>
    public static ExplanationFunction Of<TOptions>(IAttributionMethod<TOptions> method, TOptions? options = null)
        where TOptions : AttributionOptions, new()
    {
        ArgumentNullException.ThrowIfNull(method);
        var template = options ?? new TOptions();
        return (inputs, arguments, cancellationToken) =>
            method.Attribute(inputs, Merge(template, arguments, method), cancellationToken).Attributions;
    }

    /// <summary>Any layer attribution method as an explanation function: the attributions of every layer, in order.</summary>
    /// <typeparam name="TOptions">The method's options.</typeparam>
    /// <param name="method">The method.</param>
    /// <param name="options">Its options; the metric's arguments replace baselines, target and additional arguments when given.</param>
    /// <exception cref="ArgumentException">
    /// When called: the metric gives baselines or a target but the method's options take none (they would be ignored).
    /// </exception>
    public static ExplanationFunction Of<TOptions>(ILayerAttributionMethod<TOptions> method, TOptions? options = null)
        where TOptions : AttributionOptions, new()
    {
        ArgumentNullException.ThrowIfNull(method);
        var template = options ?? new TOptions();
        return (inputs, arguments, cancellationToken) =>
            method.Attribute(inputs, Merge(template, arguments, method), cancellationToken).Layers.SelectMany(l => l).ToArray();
    }

    private static TOptions Merge<TOptions>(TOptions template, ExplanationArguments arguments, IAttribution method)
        where TOptions : AttributionOptions
    {
        var merged = ((AttributionOptions)template) with
        {
            AdditionalForwardArgs = arguments.AdditionalForwardArgs ?? template.AdditionalForwardArgs,
        };
        if (!arguments.Baselines.IsNone)
        {
            merged = merged is IBaselineOptions withBaselines
                ? withBaselines.WithBaselines(arguments.Baselines)
                : throw new ArgumentException($"The metric was given baselines, but {method.GetType().Name} takes none.", "baselines");
        }

        if (!arguments.Target.IsNone)
        {
            merged = merged is ITargetOptions targeted
                ? targeted.WithTarget(arguments.Target)
                : throw new ArgumentException($"The metric was given a target, but {method.GetType().Name} explains no output (it takes no target).", "target");
        }

        return (TOptions)merged;
    }
}
