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
        Target target)
    {
        using var noGrad = torch.no_grad();
        var startOut = ArgumentPreparation.SumRows(target.Select(forward.Invoke(ArgumentPreparation.Concat(start, additional))));
        var endOut = ArgumentPreparation.SumRows(target.Select(forward.Invoke(ArgumentPreparation.Concat(end, additional))));
        Tensor? sum = null;
        foreach (var a in attributions)
        {
            var rows = ArgumentPreparation.SumRows(a);
            sum = sum is null ? rows : sum + rows;
        }

        return sum! - (endOut - startOut).to_type(sum!.dtype);
    }
}
