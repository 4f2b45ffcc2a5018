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
    public override string Description => "Occlusion of the raw inputs: image patches an eighth of the side wide (half-overlapping) and every other input one element (a token) at a time, replaced by the baseline; no gradients, no delta; the sums are not the output's change.";

    /// <inheritdoc />
    /// <remarks>Names the model's inputs: patches for its image inputs only, elements for the others.</remarks>
    public override string DescribeFor(IInterpretableModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var images = model.RawInputs.Where(r => r.Kind == RawInputKind.ImageFile).Select(r => r.Name).ToList();
        var others = model.RawInputs.Where(r => r.Kind != RawInputKind.ImageFile).Select(r => r.Name).ToList();
        var unnamed = model.RawInputs.Count < model.AttributionLayers.Count;
        var parts = new List<string>();
        if (images.Count > 0)
        {
            parts.Add($"{string.Join(" and ", images)} in patches an eighth of the side wide (half-overlapping), each pixel given the mean change of the patches over it");
        }

        if (others.Count > 0 || unnamed)
        {
            var names = unnamed ? (images.Count > 0 || others.Count > 0 ? "every other input" : "every input") : string.Join(" and ", others);
            parts.Add($"{names} one element (a token) at a time");
        }

        var sums = images.Count > 0
            ? "the sums are not the output's change (every pixel is given a patch's change, so an image's sum grows with its size)"
            : "the sums are not the output's change";
        return $"Occlusion: {string.Join(", and ", parts)}, replaced by the baseline; one forward pass each, no gradients, no delta; {sums}.";
    }

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
