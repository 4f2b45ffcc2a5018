using Captum.Attr;
using Captum.Plugins;

namespace Captum.Explain.Strategies;

/// <summary>
/// <c>occlusion</c>: occlusion of the raw inputs: image patches of an eighth of the side (half-overlapping) and
/// single tokens, replaced by the baselines; one forward pass per patch and token, no gradients, no delta.
/// </summary>
public sealed class OcclusionStrategy : ExplanationStrategy
{
    /// <inheritdoc />
    public override string Name => "occlusion";

    /// <inheritdoc />
    public override string Description => "Occlusion of the raw inputs: image patches an eighth of the side wide (half-overlapping) and single tokens; no gradients, no delta.";

    /// <inheritdoc />
    protected override InputAttributions Attribute(IInterpretableModel model, PreparedInput input, long target, ExplanationOptions options, CancellationToken cancellationToken)
    {
        var windows = new long[input.Inputs.Count][];
        var strides = new long[input.Inputs.Count][];
        for (var i = 0; i < windows.Length; i++)
        {
            var shape = input.Inputs[i].shape[1..];
            if (input.Displays[i] is ImageDisplay && shape.Length == 3)
            {
                var (h, w) = (Math.Max(1, shape[1] / 8), Math.Max(1, shape[2] / 8));
                windows[i] = [shape[0], h, w];
                strides[i] = [shape[0], Math.Max(1, h / 2), Math.Max(1, w / 2)];
            }
            else
            {
                windows[i] = shape.Select(_ => 1L).ToArray();
                strides[i] = shape.Select(_ => 1L).ToArray();
            }
        }

        var result = new Occlusion(model.Forward).Attribute(Inputs.Of([.. input.Inputs]), new OcclusionOptions
        {
            SlidingWindowShapes = windows,
            Strides = strides,
            Baselines = input.Baselines.ToArray(),
            Target = target,
            AdditionalForwardArgs = input.AdditionalForwardArgs,
            // Not given: the memory budget chooses (OcclusionOptions.MaxMemoryBytes, its default).
            PerturbationsPerEval = options.InternalBatchSize is { } given ? Math.Max(1, given) : null,
            Progress = options.Progress,
        }, cancellationToken);
        return new InputAttributions(result.Attributions.ToArray(), double.NaN)
        {
            PerturbationsPerEval = result.PerturbationsPerEval,
            MemoryBudgetOverrun = result.MemoryBudgetOverrun,
        };
    }
}
