using Captum.Forward;
using Captum.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// DeepLIFT with the rescale rule (Shrikumar et al., 2017, in the gradient formulation of Ancona et al.,
/// 2018): the inputs and their baselines run through the model together, and every supported nonlinearity
/// back-propagates the multiplier (y - y_ref) / (x - x_ref) instead of its derivative. Attributions are the
/// multipliers times (input - baseline); on a model whose nonlinearities are all supported modules they sum
/// exactly to F(input) - F(baseline) (summation-to-delta), up to rounding.
/// </summary>
/// <remarks>
/// <para>Python: <c>captum.attr.DeepLift(model, multiply_by_inputs=True, eps=1e-10)</c>.</para>
/// <para>
/// Supported nonlinearity modules, matched by exact type as in Captum 0.8.0: ReLU, ELU, LeakyReLU, Sigmoid,
/// Tanh, Softplus (the rescale rule), Softmax (rescaled, then the mean of the whole gradient subtracted) and
/// MaxPool1d/2d/3d (the output difference routed to the winning positions of the input and of the reference).
/// Where |x - x_ref| &lt; eps the module's own gradient is used. Other activation modules (GELU, SiLU, ReLU6,
/// ...) are refused with an <see cref="ArgumentException"/> naming them, where Captum would silently use their
/// plain gradient. Functional nonlinearities (<c>torch.tanh(x)</c> in a forward), recurrent layers and
/// normalisation layers cannot be seen and back-propagate their plain gradient, as in Captum; summation-to-delta
/// then holds only approximately.
/// </para>
/// <para>
/// Nonlinearity modules must be invoked through <c>call</c> (TorchSharp fires hooks only there) and see the
/// batch on dimension 0, so that its first half holds the inputs and its second the references. A module may be
/// called several times per forward pass; in-place modules are supported. The rules are custom autograd functions
/// inserted by forward hooks: the model is not edited, and every hook is removed before returning, also when an
/// exception is thrown. Cost: one forward and one backward pass over a batch of 2n (plus two forward passes for
/// the delta), on the inputs' device.
/// </para>
/// </remarks>
public sealed class DeepLift : IAttributionMethod<DeepLiftOptions>
{
    private readonly ForwardFunction forward;
    private readonly nn.Module model;
    private readonly StackedSelection select;

    /// <summary>Creates the method for <paramref name="model"/>.</summary>
    /// <param name="model">The model: a forward function built from a module, whose nonlinearity modules get the rules.</param>
    /// <param name="multiplyByInputs">
    /// True (default) for attributions multiplied by (input - baseline); false for the multipliers alone.
    /// Python: <c>multiply_by_inputs</c>.
    /// </param>
    /// <param name="eps">
    /// Below this |x - x_ref| a nonlinearity uses its own gradient (1e-10 by default). Python: <c>eps</c>.
    /// </param>
    /// <exception cref="ArgumentException">The forward function has no module, or <paramref name="eps"/> is negative or not finite.</exception>
    public DeepLift(ForwardFunction model, bool multiplyByInputs = true, double eps = 1e-10)
        : this(model, multiplyByInputs, eps, null)
    {
    }

    /// <summary>
    /// DeepLift of what <paramref name="select"/> computes from the stacked batch instead of the model's target output
    /// (Captum's replaced <c>gradient_func</c>): the neuron methods select a neuron of a layer there.
    /// </summary>
    internal DeepLift(ForwardFunction model, bool multiplyByInputs, double eps, StackedSelection? select)
    {
        ArgumentNullException.ThrowIfNull(model);
        TorchRuntime.EnsureAvailable();
        if (!double.IsFinite(eps) || eps < 0)
        {
            throw new ArgumentException($"eps must be finite and non-negative, got {eps}.", nameof(eps));
        }

        forward = model;
        this.model = DeepLiftPass.ModelOf(model, nameof(model));
        this.select = select ?? ((args, target) => target.Select(forward.Invoke(args)));
        MultipliesByInputs = multiplyByInputs;
        Eps = eps;
    }

    /// <summary>Whether attributions are multiplied by (input - baseline). Python: <c>multiplies_by_inputs</c>.</summary>
    public bool MultipliesByInputs { get; }

    /// <summary>The threshold below which nonlinearities use their own gradient. Python: <c>eps</c>.</summary>
    public double Eps { get; }

    /// <summary>True: DeepLift reports its summation-to-delta error. Python: <c>has_convergence_delta()</c>.</summary>
    public bool HasConvergenceDelta => true;

    /// <summary>Attributes F(input) - F(baseline) to every element of every input.</summary>
    /// <param name="inputs">One tensor or several, batch first, floating point. They are not modified.</param>
    /// <param name="options">Baselines, target, additional arguments and the delta flag; Captum's defaults when null.</param>
    /// <param name="cancellationToken">Checked before the pass.</param>
    /// <returns>One attribution per input, of its shape (and the delta, [n], when asked); the caller disposes it.</returns>
    /// <exception cref="ArgumentException">
    /// An argument does not fit, or the model holds a nonlinearity DeepLift has no rule for; the message names it.
    /// </exception>
    public AttributionResult Attribute(Inputs inputs, DeepLiftOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new DeepLiftOptions();
        var tensors = inputs.Tensors;
        using var scope = torch.NewDisposeScope();
        var n = ArgumentPreparation.BatchSize(tensors);
        InputChecks.RequireFloatingPoint(tensors, nameof(DeepLift));
        options.Target.ValidateCount(n);
        var baselines = ArgumentPreparation.Baselines(tensors, options.Baselines);
        cancellationToken.ThrowIfCancellationRequested();

        var (attributions, delta) = Compute(tensors, baselines, options.AdditionalForwardArgs ?? [], options.Target, options.ReturnConvergenceDelta, options.CustomAttributionFunc);
        options.Progress?.Report(new AttributionProgress(1, 1));
        var result = new AttributionResult(
            attributions.Select(a => a.MoveToOuterDisposeScope()).ToArray(),
            delta?.MoveToOuterDisposeScope());
        return result;
    }

    /// <summary>DeepLift on prepared arguments (baselines of the inputs' full shapes); results in the current dispose scope.</summary>
    internal (Tensor[] Attributions, Tensor? Delta) Compute(
        IReadOnlyList<Tensor> inputs,
        IReadOnlyList<Tensor> baselines,
        IReadOnlyList<object?> additional,
        Target target,
        bool returnDelta,
        CustomAttributionFunc? custom)
    {
        var multipliers = DeepLiftPass.InputMultipliers(model, inputs, baselines, additional, target, Eps, select);
        var attributions = DeepLiftPass.Attributions(multipliers, inputs, baselines, MultipliesByInputs, custom);
        var delta = returnDelta ? ConvergenceDelta.Compute(forward, attributions, baselines, inputs, additional, target) : null;
        return (attributions, delta);
    }
}

/// <summary>The arguments of <see cref="DeepLift.Attribute"/>, with Captum's defaults.</summary>
/// <remarks>
/// Python: the keyword arguments of <c>DeepLift.attribute</c>. <c>Baselines</c>: none for zeros, a scalar, a
/// tensor of the input's shape or with one row for the whole batch, or one of those per input.
/// </remarks>
public sealed record DeepLiftOptions : BaselineAttributionOptions
{
    /// <summary>
    /// Also compute the convergence delta per example: the sum of the attributions minus
    /// (F(input) - F(baseline)). Python: <c>return_convergence_delta</c>.
    /// </summary>
    public bool ReturnConvergenceDelta { get; init; }

    /// <summary>
    /// Replaces multipliers * (input - baseline) by a function of the multipliers, inputs and baselines; the
    /// convergence delta then holds only as far as that function preserves it. Python: <c>custom_attribution_func</c>.
    /// </summary>
    public CustomAttributionFunc? CustomAttributionFunc { get; init; }
}

/// <summary>
/// Computes final attributions from DeepLift's multipliers, the inputs and the baselines (one tensor of each
/// per input, or per layer tensor for layer methods), returning one attribution per input.
/// </summary>
/// <remarks>Python: <c>custom_attribution_func(multipliers, inputs, baselines)</c>.</remarks>
public delegate IReadOnlyList<Tensor> CustomAttributionFunc(IReadOnlyList<Tensor> multipliers, IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor> baselines);
