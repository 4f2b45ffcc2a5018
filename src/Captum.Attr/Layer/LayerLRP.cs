using Captum.Forward;
using Captum.Layers;
using Captum.Runtime;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// Layer-wise relevance propagation to one layer: the relevance <see cref="LRP"/> propagates, read at the output (or
/// the inputs) of a layer of the model instead of at the model's inputs.
/// </summary>
/// <remarks>
/// <para>Python: <c>captum.attr.LayerLRP(model, layer)</c>; Captum's <c>module.rule</c> attributes are the <c>rules</c>
/// dictionary of the constructor, as for <see cref="LRP"/>.</para>
/// <para>
/// The propagation, the rules, their defaults and the guarantees are <see cref="LRP"/>'s. The layer is one of the
/// leaf modules relevance is propagated through, called exactly once per forward pass, with tensors batch first. Its
/// output relevance is the relevance arriving at its output; its input relevance (with
/// <see cref="LayerLRPOptions.AttributeToLayerInput"/>) is what its rule hands to its inputs, so for the model's first
/// layer it equals <see cref="LRP"/>'s attribution. Captum reads both from the layer's rule and so refuses a layer
/// without one; here a nonlinearity relevance passes through may be chosen as well (its input and output relevance
/// are equal). One layer per method; Captum's list of layers (with a list of deltas) is not offered.
/// </para>
/// </remarks>
public sealed class LayerLRP : ILayerAttributionMethod<LayerLRPOptions>
{
    private readonly LrpPropagation propagation;

    /// <summary>Creates the method for one layer of <paramref name="model"/>.</summary>
    /// <param name="model">The model: a forward function built from a module, whose leaf modules are its layers.</param>
    /// <param name="layer">The layer (instance or dotted path): a leaf module of the model.</param>
    /// <param name="rules">
    /// Propagation rules per leaf module, by instance or dotted path (Captum's <c>module.rule</c>); modules not listed
    /// get the default for their type. Null for the defaults everywhere.
    /// </param>
    /// <exception cref="ArgumentException">
    /// The forward function has no module, the layer cannot be resolved or is not a leaf module, a rule does not name
    /// a leaf module, or a leaf module has no rule and no default; the message names it.
    /// </exception>
    public LayerLRP(ForwardFunction model, LayerReference layer, IReadOnlyDictionary<LayerReference, PropagationRule>? rules = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        TorchRuntime.EnsureAvailable();
        propagation = new LrpPropagation(model, rules, nameof(LayerLRP));
        Layer = layer.Resolve(propagation.Model);
        if (!propagation.Layers().Any(l => ReferenceEquals(l.Module, Layer)))
        {
            var path = LayerPath.PathOf(propagation.Model, Layer);
            throw new ArgumentException(
                path is null
                    ? $"layer {layer} ({Layer.GetType().Name}) is not part of the model."
                    : $"layer '{path}' ({Layer.GetType().Name}) contains other modules; LayerLRP attributes to a leaf module, one relevance is propagated through.",
                nameof(layer));
        }
    }

    /// <summary>The resolved layer.</summary>
    public nn.Module Layer { get; }

    IReadOnlyList<nn.Module> ILayerAttributionMethod<LayerLRPOptions>.Layers => [Layer];

    /// <summary>True: the relevances are multiplied by the layer's values. Python: <c>multiplies_by_inputs</c>.</summary>
    public bool MultipliesByInputs => true;

    /// <summary>True: LayerLRP reports how much relevance was not conserved. Python: <c>has_convergence_delta()</c>.</summary>
    public bool HasConvergenceDelta => true;

    /// <summary>Attributes the explained output to the layer's output (or inputs) by propagating its relevance.</summary>
    /// <param name="inputs">The model's inputs, batch first. They are not modified.</param>
    /// <param name="options">
    /// Target, additional arguments, the delta flag and the layer side; Captum's defaults when null. Progress is
    /// reported once, (1, 1), after the propagation.
    /// </param>
    /// <param name="cancellationToken">Checked before each forward pass.</param>
    /// <returns>
    /// The layer's relevance tensors, of the shapes of its output (or inputs), and the delta ([n]: the explained
    /// output minus the sum of the layer's relevances) when asked; the caller disposes it.
    /// </returns>
    /// <exception cref="ArgumentException">
    /// An argument does not fit, a leaf module has no rule, a layer with a rule is called more than once, or the layer
    /// is not called exactly once or gives tensors without the batch first; the message names it.
    /// </exception>
    public LayerAttributionResult Attribute(Inputs inputs, LayerLRPOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new LayerLRPOptions();
        var tensors = inputs.Tensors;
        using var scope = torch.NewDisposeScope();
        var n = ArgumentPreparation.BatchSize(tensors);
        options.Target.ValidateCount(n);

        // Floating-point inputs are tracked, as Captum's gradient requirements do; token ids pass unchanged.
        var tracked = tensors.Select(t => t.is_floating_point() ? t.detach().requires_grad_(true) : t).ToArray();
        var outcome = propagation.Run(tracked, options.AdditionalForwardArgs ?? [], options.Target, Layer, options.AttributeToLayerInput, cancellationToken);
        foreach (var r in outcome.Normalized)
        {
            if (r.dim() == 0 || r.shape[0] != n)
            {
                throw new ArgumentException(
                    $"layer {Layer.GetType().Name} gives a tensor of shape {Shapes.Format(r.shape)} for {n} examples; LayerLRP needs the batch on its dimension 0.",
                    "layer");
            }
        }

        var relevances = LrpPropagation.Scale(outcome.Normalized, outcome.Output);
        var delta = options.ReturnConvergenceDelta ? LrpPropagation.Delta(relevances, outcome.Output) : null;
        options.Progress?.Report(new AttributionProgress(1, 1));
        var result = new LayerAttributionResult([relevances.Select(r => r.MoveToOuterDisposeScope()).ToArray()], delta?.MoveToOuterDisposeScope());
        return result;
    }
}

/// <summary>The arguments of <see cref="LayerLRP.Attribute"/>, with Captum's defaults.</summary>
/// <remarks>Python: the keyword arguments of <c>LayerLRP.attribute</c> (without <c>verbose</c>).</remarks>
public sealed record LayerLRPOptions : TargetedAttributionOptions, ILayerAttributionOptions
{
    /// <inheritdoc cref="LRPOptions.ReturnConvergenceDelta"/>
    public bool ReturnConvergenceDelta { get; init; }

    /// <summary>Attribute to the layer's inputs instead of its output. Python: <c>attribute_to_layer_input</c>.</summary>
    public bool AttributeToLayerInput { get; init; }
}
