using Captum.Attr;
using Captum.Forward;
using static TorchSharp.torch;

namespace Captum.Robust;

/// <summary>The norm of the ball <see cref="PGD"/> keeps its perturbation in. Python: <c>norm</c> ("Linf" or "L2").</summary>
public enum PGDNorm
{
    /// <summary>Every element within the radius of its original value: the difference is clamped to [−r, r].</summary>
    Linf,

    /// <summary>
    /// The Euclidean norm of each example's difference within the radius: a longer difference is scaled down to it
    /// (PyTorch's <c>renorm(diff, 2, 0, r)</c>, per input tensor).
    /// </summary>
    L2,
}

/// <summary>
/// Projected Gradient Descent (Madry et al., 2017): the iterative version of <see cref="FGSM"/>. Each of
/// <see cref="PGDOptions.StepNum"/> steps moves the current point by an FGSM step of size
/// <see cref="PGDOptions.StepSize"/>, projects it back onto the ball of <see cref="PGDOptions.Radius"/> around the
/// original inputs, and clamps it to the bounds: x₀ = x, xₜ₊₁ = bound(x + Clip_r(xₜ + α sign(∇ L(xₜ)) − x)), against
/// the gradient for a targeted attack.
/// </summary>
/// <remarks>
/// <para>
/// Python: <c>captum.robust.PGD(forward_func, loss_func=None, lower_bound=-inf, upper_bound=inf)</c>. As in Captum, every
/// step is an FGSM step, a signed gradient step, for either norm (the norm decides the projection and the random
/// start, not the step); elements whose gradient is at most 1e-6 do not move. With several inputs, one loss is
/// differentiated with respect to all of them and each input is projected onto its own ball and clamped on its own.
/// </para>
/// <para>
/// Cost: <see cref="PGDOptions.StepNum"/> forward and backward passes over the batch; each step's intermediates are
/// freed before the next. Progress is reported after each step and the cancellation token checked before each. The
/// caller's tensors are not modified and their <c>requires_grad</c> is untouched.
/// </para>
/// </remarks>
public sealed class PGD : IPerturbation<PGDOptions>
{
    private readonly GradientAttack attack;

    /// <summary>Creates the attack on <paramref name="forwardFunc"/>.</summary>
    /// <inheritdoc cref="FGSM(ForwardFunction, AttackLoss?, double, double)" path="/param"/>
    /// <exception cref="ArgumentException"><paramref name="lowerBound"/> exceeds <paramref name="upperBound"/>, or one is NaN.</exception>
    public PGD(ForwardFunction forwardFunc, AttackLoss? lossFunc = null, double lowerBound = double.NegativeInfinity, double upperBound = double.PositiveInfinity)
        => attack = new GradientAttack(forwardFunc, lossFunc, lowerBound, upperBound);

    /// <summary>Returns the adversarial inputs after <see cref="PGDOptions.StepNum"/> projected steps.</summary>
    /// <param name="inputs">One tensor or several, batch first, floating point. They are not modified.</param>
    /// <param name="options">Radius, step size, number of steps, target and the rest; see <see cref="PGDOptions"/>.</param>
    /// <param name="cancellationToken">Checked before every step.</param>
    /// <returns>One perturbed tensor per input, of its shape, within the radius of it and within the bounds; the caller disposes the result.</returns>
    /// <exception cref="ArgumentException">
    /// An argument does not fit; ParamName names it (<c>Radius</c>, <c>StepSize</c>, <c>StepNum</c>, <c>Norm</c>,
    /// <c>Mask</c>, <c>Seed</c>, <c>target</c>, <c>inputs</c>).
    /// </exception>
    public PerturbedInputs Perturb(Inputs inputs, PGDOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var tensors = inputs.Tensors;
        GradientAttack.NonNegative(options.Radius, nameof(options.Radius), "radius");
        GradientAttack.NonNegative(options.StepSize, nameof(options.StepSize), "step_size");
        if (options.StepNum < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options.StepNum), options.StepNum, "StepNum (step_num) must be at least 0.");
        }

        if (!Enum.IsDefined(options.Norm))
        {
            throw new ArgumentException($"Norm (norm) must be Linf or L2, not {options.Norm}.", nameof(options.Norm));
        }

        using var scope = torch.NewDisposeScope();
        var masks = GradientAttack.Prepare(tensors, options.Target, options.Mask, nameof(PGD));
        using var random = RandomDraws.Create(options.Seed, options.Generator);
        cancellationToken.ThrowIfCancellationRequested();

        var additional = options.AdditionalForwardArgs ?? [];
        var current = options.RandomStart
            ? tensors.Select((t, i) => attack.Bound(RandomPoint(t, options.Radius, options.Norm, masks[i], random))).ToArray()
            : tensors.Select(t => options.StepNum == 0 ? t.detach().clone() : t.detach()).ToArray();
        for (var step = 1; step <= options.StepNum; step++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var stepScope = torch.NewDisposeScope();
            var stepped = attack.SignedStep(current, additional, options.Target, options.StepSize, options.Targeted, masks);
            var previous = current;
            using (torch.no_grad())
            {
                current = stepped
                    .Select((t, i) => attack.Bound(Project(tensors[i], t, options.Radius, options.Norm)).MoveToOuterDisposeScope())
                    .ToArray();
            }

            foreach (var t in previous)
            {
                t.Dispose();
            }

            options.Progress?.Report(new AttributionProgress(step, options.StepNum));
        }

        return new PerturbedInputs(current.Select(t => t.MoveToOuterDisposeScope()).ToArray(), inputs.IsTuple);
    }

    /// <summary>Captum's <c>_clip</c>: <paramref name="point"/> moved back onto the ball of <paramref name="radius"/> around <paramref name="center"/>.</summary>
    private static Tensor Project(Tensor center, Tensor point, double radius, PGDNorm norm)
    {
        var difference = point - center.detach();
        return norm == PGDNorm.Linf
            ? center.detach() + difference.clamp(-radius, radius)
            : center.detach() + difference.renorm(2, 0, (float)radius);
    }

    /// <summary>
    /// Captum's <c>_random_point</c>: a uniformly random point of the ball around <paramref name="center"/> (times the
    /// mask). For L2, a Gaussian direction normalized per example, scaled by radius × u^(1/d) with u uniform per
    /// example and d the elements per example.
    /// </summary>
    private static Tensor RandomPoint(Tensor center, double radius, PGDNorm norm, Tensor? mask, RandomDraws random)
    {
        using var noGrad = torch.no_grad();
        var shape = center.shape;
        Tensor offset;
        if (norm == PGDNorm.L2)
        {
            var n = shape[0];
            var direction = random.Normal(shape, 1.0, center.dtype, center.device);
            var unit = nn.functional.normalize(direction.reshape(n, -1)).reshape(shape);
            var perExample = center[0].numel();
            var lengths = random.Uniform(n, center.dtype, center.device).pow(1.0 / perExample) * radius;

            // Captum indexes its [n] lengths so that they broadcast against the last dimension, which fails unless
            // n is 1 or matches it; each example's own length is what its comment says it draws.
            var view = new long[shape.Length];
            Array.Fill(view, 1L);
            view[0] = n;
            offset = lengths.reshape(view) * unit;
        }
        else
        {
            offset = (random.Uniform(center.numel(), center.dtype, center.device).reshape(shape) * (radius * 2)) - radius;
        }

        return mask is null ? center.detach() + offset : center.detach() + (offset * mask);
    }
}

/// <summary>The arguments of <see cref="PGD.Perturb"/>, with Captum's defaults.</summary>
/// <remarks>Python: the keyword arguments of <c>PGD.perturb</c>.</remarks>
public sealed record PGDOptions
{
    /// <summary>The radius of the ball around the inputs the perturbation stays in (for <see cref="Norm"/>). Required, at least 0. Python: <c>radius</c>.</summary>
    public required double Radius { get; init; }

    /// <summary>The size of each signed gradient step. Required, at least 0. Python: <c>step_size</c>.</summary>
    public required double StepSize { get; init; }

    /// <summary>
    /// The number of steps, at least 0; enough steps let the perturbation reach the ball's border. 0, as Captum takes
    /// it, gives the starting point: a copy of the inputs, or the random start. Required. Python: <c>step_num</c>.
    /// </summary>
    public required int StepNum { get; init; }

    /// <summary>
    /// The labels handed to the loss: the true labels for an untargeted attack, the labels to reach for a targeted one.
    /// Python: <c>target</c>.
    /// </summary>
    public Target Target { get; init; }

    /// <summary>Further forward arguments after the inputs, passed unchanged to every step. Python: <c>additional_forward_args</c>.</summary>
    public IReadOnlyList<object?>? AdditionalForwardArgs { get; init; }

    /// <summary>A targeted attack: step against the gradient, towards <see cref="Target"/> (false by default). Python: <c>targeted</c>.</summary>
    public bool Targeted { get; init; }

    /// <summary>
    /// Start from a uniformly random point of the ball (times the mask), clamped to the bounds, instead of the inputs
    /// (false by default). Draws from <see cref="Seed"/> or <see cref="Generator"/>. Python: <c>random_start</c>.
    /// </summary>
    public bool RandomStart { get; init; }

    /// <summary>The norm of the ball: <see cref="PGDNorm.Linf"/> (the default) or <see cref="PGDNorm.L2"/>. Python: <c>norm</c>.</summary>
    public PGDNorm Norm { get; init; } = PGDNorm.Linf;

    /// <summary>
    /// Which elements may move: one tensor per input, of zeros and ones, of the input's shape or broadcasting to it;
    /// every step and the random start are multiplied by it. Null (the default) moves every element. Python: <c>mask</c>.
    /// </summary>
    public IReadOnlyList<Tensor>? Mask { get; init; }

    /// <summary>
    /// The random start's seed: the same seed gives the same start on every call and device, drawn from a private
    /// generator. Give a seed or a <see cref="Generator"/>, not both; with neither, TorchSharp's default generator
    /// (<c>torch.manual_seed</c>) is used, as Captum uses PyTorch's global one.
    /// </summary>
    public long? Seed { get; init; }

    /// <summary>The random start's generator (the caller's; every draw advances it). Give this or <see cref="Seed"/>, not both.</summary>
    public Generator? Generator { get; init; }

    /// <summary>Receives (step, <see cref="StepNum"/>) after every step (beyond Captum).</summary>
    public IProgress<AttributionProgress>? Progress { get; init; }
}
