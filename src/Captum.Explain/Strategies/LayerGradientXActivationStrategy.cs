using Captum.Attr;
using Captum.Plugins;

namespace Captum.Explain.Strategies;

/// <summary>
/// <c>gradient-x-activation</c>: layer gradient times activation over the attribution layers; one forward and
/// backward pass, the first-order (Taylor) view, without a baseline or a delta.
/// </summary>
public sealed class LayerGradientXActivationStrategy : ExplanationStrategy
{
    /// <inheritdoc />
    public override string Name => "gradient-x-activation";

    /// <inheritdoc />
    public override string Description => "Layer gradient times activation over the attribution layers: one pass, no baseline, no delta; the sums are not the output's change.";

    /// <inheritdoc />
    protected override InputAttributions Attribute(IInterpretableModel model, PreparedInput input, long target, ExplanationOptions options, CancellationToken cancellationToken)
    {
        var method = new LayerGradientXActivation(model.Forward, model.AttributionLayers);
        var result = method.Attribute(Inputs.Of([.. input.Inputs]), new LayerGradientXActivationOptions
        {
            Target = target,
            AdditionalForwardArgs = input.AdditionalForwardArgs,
            Progress = options.Progress,
        }, cancellationToken);
        return new InputAttributions(LayerTensors.OnePerLayer(result.Layers, model), double.NaN);
    }
}
