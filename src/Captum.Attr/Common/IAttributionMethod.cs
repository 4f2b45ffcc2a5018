namespace Captum.Attr;

/// <summary>
/// An attribution method over the inputs of a forward function, called with its own options record and
/// returning one attribution per input: what <see cref="NoiseTunnel{TOptions}"/> can wrap.
/// </summary>
/// <typeparam name="TOptions">The method's options; <see cref="NoiseTunnel{TOptions}"/> expands their target,
/// additional forward arguments and (for <see cref="BaselineAttributionOptions"/>) baselines per sample.</typeparam>
/// <remarks>Python: <c>captum.attr.Attribution</c> (the <c>attribute</c> and <c>has_convergence_delta</c> members).</remarks>
public interface IAttributionMethod<TOptions>
    where TOptions : AttributionOptions
{
    /// <summary>Whether the method can return a convergence delta. Python: <c>has_convergence_delta()</c>.</summary>
    bool HasConvergenceDelta { get; }

    /// <summary>Attributes the explained output to every element of every input.</summary>
    /// <param name="inputs">One tensor or several, batch first. They are not modified.</param>
    /// <param name="options">The method's arguments; Captum's defaults when null.</param>
    /// <param name="cancellationToken">Checked between internal batches.</param>
    /// <returns>One attribution per input, of its shape (and a delta when asked); the caller disposes it.</returns>
    AttributionResult Attribute(Inputs inputs, TOptions? options = null, CancellationToken cancellationToken = default);
}

/// <summary>
/// An attribution method over the values of one or more layers, called with its own options record: what a layer
/// noise tunnel (<see cref="NoiseTunnel.Create{TOptions}(ILayerAttributionMethod{TOptions})"/>) can wrap.
/// </summary>
/// <typeparam name="TOptions">The method's options.</typeparam>
/// <remarks>Python: <c>captum.attr.LayerAttribution</c> (the <c>attribute</c> and <c>has_convergence_delta</c> members).</remarks>
public interface ILayerAttributionMethod<TOptions>
    where TOptions : AttributionOptions
{
    /// <summary>Whether the method can return a convergence delta. Python: <c>has_convergence_delta()</c>.</summary>
    bool HasConvergenceDelta { get; }

    /// <summary>Attributes the explained output to every element of the layers' values.</summary>
    /// <param name="inputs">The model's inputs, batch first. They are not modified.</param>
    /// <param name="options">The method's arguments; Captum's defaults when null.</param>
    /// <param name="cancellationToken">Checked between internal batches.</param>
    /// <returns>Per layer, one attribution per tensor it produced (and a delta when asked); the caller disposes it.</returns>
    LayerAttributionResult Attribute(Inputs inputs, TOptions? options = null, CancellationToken cancellationToken = default);
}
