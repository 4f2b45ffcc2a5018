using System.Runtime.CompilerServices;
using Captum.Attr;
using Captum.Layers;
using Captum.Plugins;

namespace Captum.Explain.Strategies;

/// <summary>
/// <c>interpretable-embedding</c>: Integrated Gradients with an interpretable embedding configured on every
/// attribution layer that is not an input identity (the VQA tutorial's option (1)); gives the same numbers as
/// <see cref="LayerIntegratedGradientsStrategy"/>.
/// </summary>
/// <remarks>
/// Configuring an interpretable embedding is one per layer at a time (<see cref="InterpretableEmbeddings"/>), so
/// explanations of one model by this strategy run one at a time; other calls of the model (predictions, other
/// strategies) are not held up, and pass token ids through the configured layer unchanged.
/// </remarks>
public sealed class InterpretableEmbeddingStrategy : ExplanationStrategy
{
    private static readonly ConditionalWeakTable<nn.Module, Lock> Gates = new();

    /// <inheritdoc />
    public override string Name => "interpretable-embedding";

    /// <inheritdoc />
    public override string Description => "Integrated Gradients with each embedding layer among the attribution layers taken out as an interpretable embedding; the same numbers as layer-ig, with the convergence delta.";

    /// <inheritdoc />
    public override bool HasConvergenceDelta => true;

    /// <inheritdoc />
    protected override InputAttributions Attribute(IInterpretableModel model, PreparedInput input, long target, ExplanationOptions options, CancellationToken cancellationToken)
    {
        var root = model.Forward.Module ?? throw new ArgumentException("the model's forward function has no module to configure embeddings on.", nameof(model));
        lock (Gates.GetValue(root, static _ => new Lock()))
        {
            var configured = new List<InterpretableEmbeddingBase>();
            try
            {
                var inputs = new Tensor[input.Inputs.Count];
                var baselines = new BaselineValue[input.Inputs.Count];
                for (var i = 0; i < inputs.Length; i++)
                {
                    var layer = model.AttributionLayers[i].Resolve(root);
                    if (layer is InputIdentity)
                    {
                        inputs[i] = input.Inputs[i];
                        baselines[i] = input.Baselines[i];
                        continue;
                    }

                    var path = LayerPath.PathOf(root, layer)
                        ?? throw new ArgumentException($"attribution layer {model.AttributionLayers[i]} is not part of the model.", nameof(model));
                    var embedding = InterpretableEmbeddings.ConfigureInterpretableEmbeddingLayer(root, path);
                    configured.Add(embedding);
                    inputs[i] = embedding.IndicesToEmbeddings(input.Inputs[i]);
                    baselines[i] = input.Baselines[i].Tensor is { } ids
                        ? embedding.IndicesToEmbeddings(ids)
                        : throw new ArgumentException($"baseline {i} must be token ids for the embedding at '{path}'.", nameof(input));
                }

                var result = new IntegratedGradients(model.Forward).Attribute(Inputs.Of(inputs), new IntegratedGradientsOptions
                {
                    Baselines = baselines,
                    Target = target,
                    AdditionalForwardArgs = input.AdditionalForwardArgs,
                    Steps = options.Steps,
                    InternalBatchSize = options.InternalBatchSize,
                    ReturnConvergenceDelta = true,
                    Progress = options.Progress,
                }, cancellationToken);
                return new InputAttributions(result.Attributions.ToArray(), result.Delta!.item<float>())
                {
                    InternalBatchSize = result.InternalBatchSize ?? PathRows(options, input),
                    MemoryBudgetOverrun = result.MemoryBudgetOverrun,
                };
            }
            finally
            {
                foreach (var embedding in configured)
                {
                    InterpretableEmbeddings.RemoveInterpretableEmbeddingLayer(root, embedding);
                }
            }
        }
    }
}
