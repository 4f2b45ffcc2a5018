using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Influence;

/// <summary>
/// A loss with one value per example: given the model's outputs and the labels of a batch of n examples, returns
/// a tensor of shape [n]. Influence methods differentiate each example's loss separately.
/// </summary>
/// <remarks>
/// Captum's <c>loss_fn</c> may also be a loss reduced by sum or mean (with <c>sample_wise_grads_per_batch</c>); it
/// only uses it to recover per-example gradients, so here the loss is always per example.
/// </remarks>
public delegate Tensor InfluenceLoss(Tensor outputs, Tensor labels);

/// <summary>The losses influence methods use unless told otherwise, and Captum's own default.</summary>
public static class InfluenceLosses
{
    /// <summary>
    /// Each example's outputs summed, labels unused: what Captum's <c>TracInCP</c> differentiates when it is given no
    /// loss (<c>loss_fn=None</c>: the gradient of <c>out[i]</c> with <c>grad_outputs=ones_like(out[i])</c>). Pass it
    /// as <c>Loss</c> to reproduce such a Captum call; the methods here default to <see cref="CrossEntropy"/>.
    /// </summary>
    public static InfluenceLoss Output { get; } = (outputs, labels) =>
        outputs.dim() == 1 ? outputs.alias() : outputs.reshape(outputs.shape[0], -1).sum(1);

    /// <summary>The label whose examples <see cref="CrossEntropy"/> ignores (loss 0), as PyTorch's <c>ignore_index</c> default.</summary>
    public const long IgnoreIndex = -100;

    /// <summary>Cross entropy of logits [n, classes] and class indices [n], per example (<c>nn.CrossEntropyLoss(reduction="none")</c>).</summary>
    /// <remarks>
    /// As PyTorch's, an example labelled <see cref="IgnoreIndex"/> (-100) has loss 0. Any other class index outside
    /// [0, classes) is refused naming the labels (libtorch's own error names no argument).
    /// </remarks>
    public static InfluenceLoss CrossEntropy { get; } = (outputs, labels) =>
    {
        if (outputs.dim() == 2 && !labels.is_floating_point() && labels.numel() > 0)
        {
            using var scope = torch.NewDisposeScope();
            var counted = labels.masked_select(labels.ne(IgnoreIndex));
            if (counted.numel() > 0 && (counted.min().item<long>(), counted.max().item<long>()) is var (lowest, highest) && (lowest < 0 || highest >= outputs.shape[1]))
            {
                throw new ArgumentException(
                    $"labels: the class index {(lowest < 0 ? lowest : highest)} is out of range for the model's {outputs.shape[1]} outputs: labels must be in [0, {outputs.shape[1] - 1}] (or {IgnoreIndex}, ignored).",
                    nameof(labels));
            }
        }

        return nn.functional.cross_entropy(outputs, labels, ignore_index: IgnoreIndex, reduction: nn.Reduction.None);
    };
}
