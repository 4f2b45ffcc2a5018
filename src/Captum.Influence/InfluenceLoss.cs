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

/// <summary>The losses influence methods use unless told otherwise.</summary>
public static class InfluenceLosses
{
    /// <summary>Cross entropy of logits [n, classes] and class indices [n], per example (<c>nn.CrossEntropyLoss(reduction="none")</c>).</summary>
    /// <remarks>A class index outside [0, classes) is refused naming the labels (libtorch's own error names no argument).</remarks>
    public static InfluenceLoss CrossEntropy { get; } = (outputs, labels) =>
    {
        if (outputs.dim() == 2 && !labels.is_floating_point() && labels.numel() > 0)
        {
            var (lowest, highest) = (labels.min().item<long>(), labels.max().item<long>());
            if (lowest < 0 || highest >= outputs.shape[1])
            {
                throw new ArgumentException(
                    $"labels: the class index {(lowest < 0 ? lowest : highest)} is out of range for the model's {outputs.shape[1]} outputs: labels must be in [0, {outputs.shape[1] - 1}].",
                    nameof(labels));
            }
        }

        return nn.functional.cross_entropy(outputs, labels, reduction: nn.Reduction.None);
    };
}
