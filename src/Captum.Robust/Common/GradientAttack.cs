using Captum.Attr;
using Captum.Forward;
using Captum.Runtime;
using static TorchSharp.torch;

namespace Captum.Robust;

/// <summary>
/// What FGSM and PGD share: the model, the loss and the bounds they were built with, the checks of their arguments,
/// the gradient of the loss with respect to the inputs and Captum's signed step (<c>FGSM._perturb</c>), and the clamp
/// to the bounds (Captum's <c>bound</c>).
/// </summary>
internal sealed class GradientAttack
{
    /// <summary>Gradients at most this large (in absolute value) count as zero: the element does not move (Captum's <c>zero_thresh</c>).</summary>
    public const double ZeroThreshold = 1e-6;

    private readonly ForwardFunction forward;
    private readonly AttackLoss loss;

    /// <summary>Checks the bounds and keeps the attack's model, loss (Captum's default when null) and bounds.</summary>
    /// <exception cref="ArgumentException">A bound is NaN, or the lower bound exceeds the upper one (ParamName <c>lowerBound</c>).</exception>
    public GradientAttack(ForwardFunction forwardFunc, AttackLoss? lossFunc, double lowerBound, double upperBound)
    {
        ArgumentNullException.ThrowIfNull(forwardFunc);
        if (double.IsNaN(lowerBound) || double.IsNaN(upperBound) || lowerBound > upperBound)
        {
            throw new ArgumentException(
                $"lowerBound ({lowerBound}) must not exceed upperBound ({upperBound}), and neither may be NaN.", nameof(lowerBound));
        }

        TorchRuntime.EnsureAvailable();
        forward = forwardFunc;
        loss = lossFunc ?? AttackLosses.NegativeLog;
        LowerBound = lowerBound;
        UpperBound = upperBound;
    }

    /// <summary>The smallest value an input element may take.</summary>
    public double LowerBound { get; }

    /// <summary>The largest value an input element may take.</summary>
    public double UpperBound { get; }

    /// <summary>Checks a size of step or ball is a finite number at least 0.</summary>
    /// <exception cref="ArgumentOutOfRangeException">It is negative, infinite or NaN; ParamName is <paramref name="name"/>.</exception>
    public static void NonNegative(double value, string name, string python)
    {
        if (!(value >= 0) || double.IsInfinity(value))
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} ({python}) must be a finite number at least 0.");
        }
    }

    /// <summary>
    /// Checks the inputs (floating point, one batch), the target's count and the masks, and returns the masks as
    /// tensors of the inputs' dtypes and devices (null where every element moves).
    /// </summary>
    /// <exception cref="ArgumentException">An argument does not fit; ParamName names it (<c>inputs</c>, <c>target</c>, <c>Mask</c>).</exception>
    public static Tensor?[] Prepare(IReadOnlyList<Tensor> inputs, Target target, IReadOnlyList<Tensor>? masks, string method)
    {
        var n = ArgumentPreparation.BatchSize(inputs);
        InputChecks.RequireFloatingPoint(inputs, method);
        target.ValidateCount(n);
        if (masks is null)
        {
            return new Tensor?[inputs.Count];
        }

        if (masks.Count != inputs.Count)
        {
            throw new ArgumentException($"Mask gives {masks.Count} tensors for {inputs.Count} inputs: give one per input.", "Mask");
        }

        var result = new Tensor?[inputs.Count];
        for (var i = 0; i < inputs.Count; i++)
        {
            var mask = masks[i] ?? throw new ArgumentException($"Mask[{i}] is null.", "Mask");
            if (mask.IsInvalid)
            {
                throw new ArgumentException($"Mask[{i}] has been disposed.", "Mask");
            }

            if (!ArgumentPreparation.Broadcasts(mask.shape, inputs[i].shape))
            {
                throw new ArgumentException(
                    $"Mask[{i}] has shape {Shapes.Format(mask.shape)}, which does not broadcast to input {i}'s shape {Shapes.Format(inputs[i].shape)}.",
                    "Mask");
            }

            result[i] = mask.detach().to(inputs[i].dtype, inputs[i].device);
        }

        return result;
    }

    /// <summary>
    /// Captum's FGSM step without the bounds: every element whose loss gradient exceeds <see cref="ZeroThreshold"/>
    /// moves by <paramref name="epsilon"/> times the gradient's sign (against it when <paramref name="targeted"/>),
    /// times its mask. New tensors, not requiring grad; <paramref name="inputs"/> are not modified.
    /// </summary>
    public Tensor[] SignedStep(
        IReadOnlyList<Tensor> inputs,
        IReadOnlyList<object?> additional,
        Target target,
        double epsilon,
        bool targeted,
        IReadOnlyList<Tensor?> masks)
    {
        var leaves = Gradients.Leaves(inputs);
        Tensor[] gradients;
        using (torch.enable_grad())
        {
            var output = forward.Invoke(ArgumentPreparation.Concat(leaves, additional));
            var value = loss(output, target)
                ?? throw new InvalidOperationException("The loss function returned null; it must return the loss per example.");
            gradients = Gradients.Of(value, leaves);
        }

        using var noGrad = torch.no_grad();
        var step = targeted ? -epsilon : epsilon;
        var result = new Tensor[inputs.Count];
        for (var i = 0; i < inputs.Count; i++)
        {
            var move = gradients[i].sign() * step;
            if (masks[i] is { } mask)
            {
                move = move * mask;
            }

            result[i] = torch.where(gradients[i].abs() > ZeroThreshold, inputs[i] + move, inputs[i]);
        }

        return result;
    }

    /// <summary>Clamps to [<see cref="LowerBound"/>, <see cref="UpperBound"/>] (Captum's <c>bound</c>); a new tensor.</summary>
    public Tensor Bound(Tensor t) =>
        double.IsNegativeInfinity(LowerBound) && double.IsPositiveInfinity(UpperBound) ? t.clone() : t.clamp(LowerBound, UpperBound);
}
