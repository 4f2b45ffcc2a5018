using static TorchSharp.torch;

namespace Captum.Robust;

/// <summary>
/// The loss an attack differentiates: from the model's output and the attack's target, one value per example
/// (a loss reduced to one value works too: the attacks use the signs of its gradient). It must be computed from
/// the output with gradients enabled.
/// </summary>
/// <param name="output">The forward function's output on the (perturbed) inputs, batch first.</param>
/// <param name="target">The options' <c>Target</c>: the true labels for an untargeted attack, the labels to reach for a targeted one. A loss of yours may ignore it and capture labels of its own.</param>
/// <returns>The loss, shape [n] (or a scalar).</returns>
/// <remarks>Python: <c>loss_func(outputs, target)</c> of <c>FGSM</c> and <c>PGD</c>.</remarks>
public delegate Tensor AttackLoss(Tensor output, Target target);

/// <summary>The losses of <see cref="FGSM"/> and <see cref="PGD"/>.</summary>
public static class AttackLosses
{
    /// <summary>
    /// The default, Captum's: minus the log of the output at the target, per example (<c>-torch.log(outputs)</c>
    /// selected with <c>target</c>). For a model whose output is probabilities this is the cross entropy; on logits it
    /// still gives a direction (the gradient of −log o is −1/o), and it is what Captum 0.8.0 computes, which the golden
    /// cases confirm.
    /// </summary>
    public static AttackLoss NegativeLog { get; } = (output, target) => -target.Select(output.log());

    /// <summary>
    /// The cross entropy of logits and the target, per example (PyTorch's
    /// <c>cross_entropy(output, target, reduction="none")</c> for [n, classes] outputs): minus the log-softmax over the
    /// last dimension at the target. Pass it as the loss for a model that outputs logits.
    /// </summary>
    public static AttackLoss CrossEntropy { get; } = (output, target) =>
        -target.Select(torch.nn.functional.log_softmax(output, output.dim() - 1));
}
