using Captum.Forward;
using static TorchSharp.torch;

namespace Captum.Robust;

/// <summary>
/// The Fast Gradient Sign Method (Goodfellow et al., 2014): a one-step adversarial attack that moves every input
/// element by epsilon in the direction of the sign of the loss gradient, x' = x + ε sign(∇ₓ L(x, y)), or against it
/// for a targeted attack, x' = x − ε sign(∇ₓ L(x, t)); then clamps to the bounds.
/// </summary>
/// <remarks>
/// Python: <c>captum.robust.FGSM(forward_func, loss_func=None, lower_bound=-inf, upper_bound=inf)</c>. One forward and
/// one backward pass over the batch. Elements whose gradient is at most 1e-6 in absolute value do not move (Captum's
/// <c>zero_thresh</c>). With several inputs, one loss is differentiated with respect to all of them and each moves by
/// its own gradient's sign, then is clamped. The caller's tensors are not modified and their <c>requires_grad</c> is
/// untouched.
/// </remarks>
public sealed class FGSM : IPerturbation<FGSMOptions>
{
    private readonly GradientAttack attack;

    /// <summary>Creates the attack on <paramref name="forwardFunc"/>.</summary>
    /// <param name="forwardFunc">The model or function attacked.</param>
    /// <param name="lossFunc">
    /// The loss whose gradient gives the direction, per example; Captum's default when null,
    /// <see cref="AttackLosses.NegativeLog"/> (minus the log of the output at the target: give
    /// <see cref="AttackLosses.CrossEntropy"/> for a model that outputs logits). Python: <c>loss_func</c>.
    /// </param>
    /// <param name="lowerBound">The smallest value an input element may take (unbounded by default). Python: <c>lower_bound</c>.</param>
    /// <param name="upperBound">The largest value an input element may take, e.g. 1 for images in [0, 1]. Python: <c>upper_bound</c>.</param>
    /// <exception cref="ArgumentException"><paramref name="lowerBound"/> exceeds <paramref name="upperBound"/>, or one is NaN.</exception>
    public FGSM(ForwardFunction forwardFunc, AttackLoss? lossFunc = null, double lowerBound = double.NegativeInfinity, double upperBound = double.PositiveInfinity)
        => attack = new GradientAttack(forwardFunc, lossFunc, lowerBound, upperBound);

    /// <summary>Returns the adversarial inputs: one signed gradient step of size <see cref="FGSMOptions.Epsilon"/>, clamped to the bounds.</summary>
    /// <param name="inputs">One tensor or several, batch first, floating point. They are not modified.</param>
    /// <param name="options">Epsilon, target and the rest; see <see cref="FGSMOptions"/>.</param>
    /// <param name="cancellationToken">Checked before the pass.</param>
    /// <returns>One perturbed tensor per input, of its shape; the caller disposes the result.</returns>
    /// <exception cref="ArgumentException">An argument does not fit; ParamName names it (<c>Epsilon</c>, <c>Mask</c>, <c>target</c>, <c>inputs</c>).</exception>
    public PerturbedInputs Perturb(Inputs inputs, FGSMOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var tensors = inputs.Tensors;
        GradientAttack.NonNegative(options.Epsilon, nameof(options.Epsilon), "epsilon");
        using var scope = torch.NewDisposeScope();
        var masks = GradientAttack.Prepare(tensors, options.Target, options.Mask, nameof(FGSM));
        cancellationToken.ThrowIfCancellationRequested();

        var stepped = attack.SignedStep(tensors, options.AdditionalForwardArgs ?? [], options.Target, options.Epsilon, options.Targeted, masks);
        var perturbed = stepped.Select(t => attack.Bound(t)).ToArray();
        options.Progress?.Report(new AttributionProgress(1, 1));
        return new PerturbedInputs(perturbed.Select(t => t.MoveToOuterDisposeScope()).ToArray(), inputs.IsTuple);
    }
}

/// <summary>The arguments of <see cref="FGSM.Perturb"/>, with Captum's defaults.</summary>
/// <remarks>Python: the keyword arguments of <c>FGSM.perturb</c>.</remarks>
public sealed record FGSMOptions
{
    /// <summary>The size of the step: how far every element moves (before the bounds). Required, at least 0. Python: <c>epsilon</c>.</summary>
    public required double Epsilon { get; init; }

    /// <summary>
    /// The labels handed to the loss: the true labels for an untargeted attack, the labels to reach for a targeted one.
    /// One index for every example or one per example, as attribution targets take (<see cref="Captum.Target"/>).
    /// Python: <c>target</c>.
    /// </summary>
    public Target Target { get; init; }

    /// <summary>Further forward arguments after the inputs, passed unchanged. Python: <c>additional_forward_args</c>.</summary>
    public IReadOnlyList<object?>? AdditionalForwardArgs { get; init; }

    /// <summary>
    /// A targeted attack: step against the gradient, towards <see cref="Target"/> (false by default: away from it).
    /// Python: <c>targeted</c>.
    /// </summary>
    public bool Targeted { get; init; }

    /// <summary>
    /// Which elements may move: one tensor per input, of zeros and ones, of the input's shape or broadcasting to it;
    /// each step is multiplied by it. Null (the default) moves every element. Python: <c>mask</c>.
    /// </summary>
    public IReadOnlyList<Tensor>? Mask { get; init; }

    /// <summary>Receives (1, 1) after the pass (beyond Captum).</summary>
    public IProgress<AttributionProgress>? Progress { get; init; }
}
