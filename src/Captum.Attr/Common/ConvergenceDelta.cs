using Captum.Forward;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// The convergence delta of path methods: per example, the sum of all attributions minus
/// (F(end) - F(start)), F being the selected output.
/// </summary>
internal static class ConvergenceDelta
{
    public static Tensor Compute(
        ForwardFunction forward,
        IEnumerable<Tensor> attributions,
        IReadOnlyList<Tensor> start,
        IReadOnlyList<Tensor> end,
        IReadOnlyList<object?> additional,
        Target target) =>
        FromOutputDifference(attributions, OutputDifference(forward, start, end, additional, target));

    /// <summary>F(end) - F(start) per example, [n], for the selected output, without gradients.</summary>
    public static Tensor OutputDifference(ForwardFunction forward, IReadOnlyList<Tensor> start, IReadOnlyList<Tensor> end, IReadOnlyList<object?> additional, Target target)
    {
        using var noGrad = torch.no_grad();
        return OutputDifference(
            forward.Invoke(ArgumentPreparation.Concat(start, additional)),
            forward.Invoke(ArgumentPreparation.Concat(end, additional)),
            target);
    }

    /// <summary>F(end) - F(start) per example, [n], from the model's outputs at both ends.</summary>
    public static Tensor OutputDifference(Tensor startOutput, Tensor endOutput, Target target) =>
        ArgumentPreparation.SumRows(target.Select(endOutput)) - ArgumentPreparation.SumRows(target.Select(startOutput));

    /// <summary>The sum of all attributions per example minus the output difference.</summary>
    public static Tensor FromOutputDifference(IEnumerable<Tensor> attributions, Tensor outputDifference)
    {
        Tensor? sum = null;
        foreach (var a in attributions)
        {
            var rows = ArgumentPreparation.SumRows(a);
            sum = sum is null ? rows : sum + rows;
        }

        return sum! - outputDifference.to_type(sum!.dtype);
    }
}
