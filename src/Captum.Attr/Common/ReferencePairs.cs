using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// Every example paired with every reference: the paired inputs and references ([n * m, ...], by example then
/// reference), the additional arguments and target expanded alike, and m.
/// </summary>
internal sealed record ReferencePairs(Tensor[] Inputs, Tensor[] Baselines, object?[] AdditionalForwardArgs, Target Target, long References)
{
    /// <summary>The mean over each example's references: [n * m, ...] to [n, ...].</summary>
    public Tensor Mean(Tensor attribution) => SampleExpansion.MeanOfGroups(attribution, References);

    /// <summary>
    /// Pairs every example with every reference of the distribution, as DeepLiftShap, LayerDeepLiftShap and
    /// NeuronDeepLiftShap do (Captum's <c>_expand_inputs_baselines_targets</c>): inputs, targets and tensor additional
    /// arguments repeated in place, references tiled, so that pair (i, j) is row i * m + j.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// The baselines are not a distribution of more than one reference example, the same number for every input.
    /// </exception>
    public static ReferencePairs Of(
        IReadOnlyList<Tensor> inputs, long n, Baselines baselines, IReadOnlyList<object?>? additional, Target target, string method)
    {
        var distribution = SampleExpansion.Distribution(inputs, baselines, allowScalars: false, method);
        var m = distribution[0]!.shape[0];
        for (var i = 0; i < distribution.Length; i++)
        {
            if (distribution[i]!.shape[0] != m || m < 2)
            {
                throw new ArgumentException(
                    m < 2
                        ? $"baselines hold {m} reference example; {method} needs a distribution of more than one (for a single baseline use {method[..^"Shap".Length]})."
                        : $"baselines[{i}] holds {distribution[i]!.shape[0]} reference examples but baselines[0] holds {m}: every input needs the same number.",
                    "baselines");
            }
        }

        var repeats = (int)m;
        return new ReferencePairs(
            inputs.Select(x => SampleExpansion.RepeatInterleave(x.detach(), repeats)).ToArray(),
            distribution.Select(b => ArgumentPreparation.RepeatBatch(b!, (int)n)).ToArray(),
            SampleExpansion.Interleave(additional ?? [], repeats),
            target.RepeatInterleave(repeats),
            m);
    }
}
