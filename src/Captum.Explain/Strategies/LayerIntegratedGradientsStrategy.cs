using Captum.Attr;
using Captum.Plugins;

namespace Captum.Explain.Strategies;

/// <summary>
/// <c>layer-ig</c>: Layer Integrated Gradients over the model's attribution layers, all at once (the VQA
/// tutorial's option (2)), with the convergence delta.
/// </summary>
public sealed class LayerIntegratedGradientsStrategy : ExplanationStrategy
{
    /// <inheritdoc />
    public override string Name => "layer-ig";

    /// <inheritdoc />
    public override string Description => "Layer Integrated Gradients over the model's attribution layers, all at once, with the convergence delta: the sums add up to the output's change from the baseline.";

    /// <inheritdoc />
    public override bool HasConvergenceDelta => true;

    /// <inheritdoc />
    protected override InputAttributions Attribute(IInterpretableModel model, PreparedInput input, long target, ExplanationOptions options, CancellationToken cancellationToken)
    {
        var lig = new LayerIntegratedGradients(model.Forward, model.AttributionLayers);
        var result = lig.Attribute(Inputs.Of([.. input.Inputs]), new LayerIntegratedGradientsOptions
        {
            Baselines = input.Baselines.ToArray(),
            Target = target,
            AdditionalForwardArgs = input.AdditionalForwardArgs,
            Steps = options.Steps,
            InternalBatchSize = options.InternalBatchSize,
            ReturnConvergenceDelta = true,
            Progress = options.Progress,
        }, cancellationToken);
        return new InputAttributions(LayerTensors.OnePerLayer(result.Layers, model), result.Delta!.item<float>())
        {
            InternalBatchSize = result.InternalBatchSize ?? PathRows(options, input),
            MemoryBudgetOverrun = result.MemoryBudgetOverrun,
        };
    }
}
