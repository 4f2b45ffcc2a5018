using Captum.Forward;
using Captum.Layers;
using Captum.Runtime;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// Layer DeepLift SHAP: <see cref="LayerDeepLift"/> with respect to every example of a baseline distribution,
/// averaged over the distribution; the SHAP values of the layer's neurons as DeepLift approximates them, assuming
/// independent features and a model that is linear in each explanation (Lundberg and Lee, 2017).
/// </summary>
/// <remarks>
/// <para>Python: <c>captum.attr.LayerDeepLiftShap(model, layer, multiply_by_inputs=True)</c>.</para>
/// <para>
/// The baselines are in input space: per input a tensor of m &gt; 1 reference examples (the same m for every input),
/// shaped like the input after the first dimension. Every example is paired with every reference (inputs repeated in
/// place, references tiled, targets and additional arguments expanded like the inputs), Layer DeepLift runs once on
/// the n * m pairs, and each layer tensor's attributions are averaged over the references: [n, ...] like the layer's
/// value. The delta, when asked, is per pair, [n * m] ordered by example then reference: the sum of the pair's layer
/// attributions minus (F(input) - F(reference)). The same modules are supported, and the same guarantees given, as by
/// <see cref="LayerDeepLift"/>. Cost: one forward and one backward pass over 2 * n * m examples (plus two forward
/// passes over n * m for the delta).
/// </para>
/// </remarks>
public sealed class LayerDeepLiftShap : ILayerAttributionMethod<LayerDeepLiftShapOptions>
{
    private readonly LayerDeepLift layerDeepLift;

    /// <summary>Creates the method for one layer of <paramref name="model"/>.</summary>
    /// <param name="model">The model: a forward function built from a module, whose nonlinearity modules get the rules.</param>
    /// <param name="layer">The layer (instance or dotted path).</param>
    /// <param name="multiplyByInputs">
    /// True (default) for multipliers times the layer difference before averaging; false for the averaged multipliers.
    /// Python: <c>multiply_by_inputs</c>.
    /// </param>
    /// <exception cref="ArgumentException">The forward function has no module, or the layer cannot be resolved.</exception>
    public LayerDeepLiftShap(ForwardFunction model, LayerReference layer, bool multiplyByInputs = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        TorchRuntime.EnsureAvailable();
        layerDeepLift = new LayerDeepLift(model, layer, multiplyByInputs);
    }

    /// <summary>The resolved layer.</summary>
    public nn.Module Layer => layerDeepLift.Layer;

    IReadOnlyList<nn.Module> ILayerAttributionMethod<LayerDeepLiftShapOptions>.Layers => [Layer];

    /// <summary>Whether attributions are multiplied by the layer difference. Python: <c>multiplies_by_inputs</c>.</summary>
    public bool MultipliesByInputs => layerDeepLift.MultipliesByInputs;

    /// <summary>True: the delta is reported per pair of example and reference. Python: <c>has_convergence_delta()</c>.</summary>
    public bool HasConvergenceDelta => true;

    /// <summary>Attributes the explained output to the layer's output (or inputs), averaged over the baseline distribution.</summary>
    /// <param name="inputs">The model's inputs, batch first. They are not modified.</param>
    /// <param name="options">The baseline distribution (required, input space), target, additional arguments, the delta flag and the layer side.</param>
    /// <param name="cancellationToken">Checked before the pass.</param>
    /// <returns>
    /// The layer's attribution tensors, of the layer value's shapes (and the delta, [n * m], when asked); the caller
    /// disposes it.
    /// </returns>
    /// <exception cref="ArgumentException">
    /// An argument does not fit (no distribution, a single reference, shapes or counts that differ), the layer is not
    /// called exactly once, or the model holds a nonlinearity DeepLift has no rule for; the message names it.
    /// </exception>
    public LayerAttributionResult Attribute(Inputs inputs, LayerDeepLiftShapOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new LayerDeepLiftShapOptions();
        options = options with { Baselines = options.Baselines.Resolve(inputs) };
        var tensors = inputs.Tensors;
        using var scope = torch.NewDisposeScope();
        var n = ArgumentPreparation.BatchSize(tensors);
        options.Target.ValidateCount(n);
        var pairs = ReferencePairs.Of(tensors, n, options.Baselines, options.AdditionalForwardArgs, options.Target, nameof(LayerDeepLiftShap));
        cancellationToken.ThrowIfCancellationRequested();

        var (attributions, delta) = layerDeepLift.Compute(
            pairs.Inputs, pairs.Baselines, pairs.AdditionalForwardArgs, pairs.Target, options.AttributeToLayerInput, options.ReturnConvergenceDelta, options.CustomAttributionFunc);
        options.Progress?.Report(new AttributionProgress(1, 1));
        var result = new LayerAttributionResult(
            [attributions.Select(a => pairs.Mean(a).MoveToOuterDisposeScope()).ToArray()],
            delta?.MoveToOuterDisposeScope());
        return result;
    }
}

/// <summary>The arguments of <see cref="LayerDeepLiftShap.Attribute"/>, with Captum's defaults.</summary>
/// <remarks>
/// Python: the keyword arguments of <c>LayerDeepLiftShap.attribute</c>. <c>Baselines</c> is a distribution in input
/// space: per input a tensor of more than one reference example, shaped like the input after the first dimension,
/// with the same number of examples for every input.
/// </remarks>
public sealed record LayerDeepLiftShapOptions : BaselineAttributionOptions, ILayerAttributionOptions
{
    /// <summary>
    /// Also compute the convergence delta, one per pair of example and reference (ordered by example, then reference:
    /// [n * references]). Python: <c>return_convergence_delta</c>.
    /// </summary>
    public bool ReturnConvergenceDelta { get; init; }

    /// <summary>Attribute to the layer's inputs instead of its outputs. Python: <c>attribute_to_layer_input</c>.</summary>
    public bool AttributeToLayerInput { get; init; }

    /// <summary>
    /// As <see cref="DeepLiftOptions.CustomAttributionFunc"/>, given the layer's multipliers and its values on the inputs
    /// and the references, per pair before averaging. Python: <c>custom_attribution_func</c>.
    /// </summary>
    public CustomAttributionFunc? CustomAttributionFunc { get; init; }
}
