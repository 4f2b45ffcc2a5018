using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>What every attribution method is, whatever it attributes to.</summary>
/// <remarks>Python: <c>captum.attr.Attribution</c> (its <c>has_convergence_delta</c> member).</remarks>
public interface IAttribution
{
    /// <summary>Whether the method can return a convergence delta. Python: <c>has_convergence_delta()</c>.</summary>
    bool HasConvergenceDelta { get; }
}

/// <summary>
/// An attribution method over the inputs of a forward function, called with its own options record and returning
/// one attribution per input: Captum's gradient and perturbation methods, and (through
/// <see cref="INeuronAttributionMethod{TOptions}"/>) its neuron methods. What <see cref="NoiseTunnel{TOptions}"/> wraps.
/// </summary>
/// <typeparam name="TOptions">
/// The method's options. <see cref="NoiseTunnel{TOptions}"/> expands for its noisy samples whatever per-example
/// arguments they carry: the additional forward arguments always, and the target, baselines and feature mask of
/// options that implement <see cref="ITargetOptions"/>, <see cref="IBaselineOptions"/> and <see cref="IFeatureMaskOptions"/>.
/// </typeparam>
/// <remarks>Python: <c>captum.attr.Attribution</c> (the <c>attribute</c> and <c>has_convergence_delta</c> members).</remarks>
public interface IAttributionMethod<TOptions> : IAttribution
    where TOptions : AttributionOptions
{
    /// <summary>Attributes the explained output to every element of every input.</summary>
    /// <param name="inputs">One tensor or several, batch first. They are not modified.</param>
    /// <param name="options">The method's arguments; Captum's defaults when null (a method with a required argument refuses null, naming it).</param>
    /// <param name="cancellationToken">Checked between internal batches.</param>
    /// <returns>One attribution per input, of its shape (and a delta when asked); the caller disposes it.</returns>
    AttributionResult Attribute(Inputs inputs, TOptions? options = null, CancellationToken cancellationToken = default);
}

/// <summary>
/// An attribution method over the values of one or more layers, called with its own options record: what a layer
/// noise tunnel (<see cref="NoiseTunnel.Create{TOptions}(ILayerAttributionMethod{TOptions})"/>) wraps.
/// </summary>
/// <typeparam name="TOptions">The method's options.</typeparam>
/// <remarks>Python: <c>captum.attr.LayerAttribution</c> (the <c>layer</c>, <c>attribute</c> and <c>has_convergence_delta</c> members).</remarks>
public interface ILayerAttributionMethod<TOptions> : IAttribution
    where TOptions : AttributionOptions
{
    /// <summary>The attributed layers, in the order of the result's <see cref="LayerAttributionResult.Layers"/>. Python: <c>layer</c>.</summary>
    IReadOnlyList<nn.Module> Layers { get; }

    /// <summary>Attributes the explained output to every element of the layers' values.</summary>
    /// <param name="inputs">The model's inputs, batch first. They are not modified.</param>
    /// <param name="options">The method's arguments; Captum's defaults when null.</param>
    /// <param name="cancellationToken">Checked between internal batches.</param>
    /// <returns>Per layer, one attribution per tensor it produced (and a delta when asked); the caller disposes it.</returns>
    LayerAttributionResult Attribute(Inputs inputs, TOptions? options = null, CancellationToken cancellationToken = default);
}

/// <summary>
/// An attribution method that explains one neuron of a layer (chosen by a <see cref="Attr.NeuronSelector"/> given to its
/// constructor) instead of the model's output, attributing it to every element of the inputs.
/// </summary>
/// <typeparam name="TOptions">The method's options, a <see cref="NeuronAttributionOptions"/>.</typeparam>
/// <remarks>Python: <c>captum.attr.NeuronAttribution</c> (its <c>layer</c> and <c>attribute</c> members; Captum passes the selector to <c>attribute</c>).</remarks>
public interface INeuronAttributionMethod<TOptions> : IAttributionMethod<TOptions>
    where TOptions : NeuronAttributionOptions
{
    /// <summary>The layer the neuron belongs to. Python: <c>layer</c>.</summary>
    nn.Module Layer { get; }

    /// <summary>The explained neuron. Python: <c>neuron_selector</c>.</summary>
    NeuronSelector NeuronSelector { get; }
}
