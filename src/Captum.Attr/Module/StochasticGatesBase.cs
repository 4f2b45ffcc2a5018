using static TorchSharp.torch;

namespace Captum.Module;

/// <summary>How the gates' active probabilities are reduced to the L0 regularization term. Python: <c>reg_reduction</c>.</summary>
public enum RegReduction
{
    /// <summary>No reduction: one term per gate, <c>[n_gates]</c>, as <see cref="StochasticGatesBase.GetGateActiveProbs"/> (times the weight). Python: <c>'none'</c>.</summary>
    None,

    /// <summary>The mean over the gates. Python: <c>'mean'</c>.</summary>
    Mean,

    /// <summary>The sum over the gates (Captum's default). Python: <c>'sum'</c>.</summary>
    Sum,
}

/// <summary>
/// Stochastic gates: a learnable L0 regularization for feature selection. Every gate multiplies the input elements of
/// its group (a <c>mask</c>) by a value drawn from a smoothed Bernoulli distribution (a continuous distribution folded
/// into [0, 1] by hard-sigmoid rectification); the expected L0 norm, the sum of the gates' probabilities of being
/// non-zero, is differentiable in the distributions' parameters and is returned with the gated input, to add to the
/// loss. After training, gates near 0 mark feature groups the model does without.
/// </summary>
/// <remarks>
/// <para>Python: <c>captum.module.StochasticGatesBase</c>. <see cref="BinaryConcreteStochasticGates"/> and
/// <see cref="GaussianStochasticGates"/> are its distributions.</para>
/// <para>
/// In training mode (<c>train()</c>, a new module's mode) every example draws its own gate values; in evaluation mode
/// (<c>eval()</c>) each gate is its distribution's mean, the same for every example, so the output is deterministic.
/// The mask is a buffer (<c>mask</c>, in the state dict, moved with the module). The module owns its parameters and
/// buffer (dispose it to free them); the tensors <c>forward</c> returns are the caller's.
/// </para>
/// </remarks>
public abstract class StochasticGatesBase : nn.Module<Tensor, (Tensor GatedInput, Tensor L0Reg)>
{
    private readonly bool masked;

    /// <summary>Checks the shared arguments and registers the mask.</summary>
    /// <param name="name">The module's name.</param>
    /// <param name="nGates">The number of gates, at least 1. Python: <c>n_gates</c>.</param>
    /// <param name="mask">
    /// Integer gate ids 0 to <paramref name="nGates"/> - 1, broadcastable to the input (every element with the same id
    /// shares one gate); its largest id must be <paramref name="nGates"/> - 1. Null gates every element of an example
    /// (all dimensions but the first) separately, so an example must have <paramref name="nGates"/> elements. Copied;
    /// the caller's tensor is not kept. Python: <c>mask</c>.
    /// </param>
    /// <param name="regWeight">The weight the L0 term is multiplied by. Python: <c>reg_weight</c>.</param>
    /// <param name="regReduction">How the gates' terms are reduced. Python: <c>reg_reduction</c>.</param>
    /// <exception cref="ArgumentException">An argument does not fit; the message names it.</exception>
    protected StochasticGatesBase(string name, int nGates, Tensor? mask, double regWeight, RegReduction regReduction)
        : base(name)
    {
        if (nGates < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(nGates), nGates, "nGates (n_gates) must be at least 1.");
        }

        if (!Enum.IsDefined(regReduction))
        {
            throw new ArgumentException($"regReduction (reg_reduction) is {regReduction}; use None, Mean or Sum.", nameof(regReduction));
        }

        if (!double.IsFinite(regWeight))
        {
            throw new ArgumentException($"regWeight (reg_weight) is {regWeight}; it must be finite.", nameof(regWeight));
        }

        if (mask is not null)
        {
            if (mask.IsInvalid)
            {
                throw new ArgumentException("mask has been disposed.", nameof(mask));
            }

            if (mask.is_floating_point() || mask.is_complex() || mask.dtype == ScalarType.Bool || mask.numel() == 0)
            {
                throw new ArgumentException($"mask has dtype {mask.dtype} and {mask.numel()} element(s); it must hold integer gate ids.", nameof(mask));
            }

            var max = mask.max().item<long>();
            var min = mask.min().item<long>();
            if (max != nGates - 1 || min < 0)
            {
                throw new ArgumentException(
                    $"mask holds ids {min} to {max}, but with {nGates} gates its ids must run from 0 and its largest id must be nGates - 1 = {nGates - 1}: each id is a gate.",
                    nameof(mask));
            }

            register_buffer("mask", mask.detach().to(ScalarType.Int64).clone().DetachFromDisposeScope());
            masked = true;
        }

        NGates = nGates;
        RegWeight = regWeight;
        RegReduction = regReduction;
    }

    /// <summary>The number of gates. Python: <c>n_gates</c>.</summary>
    public int NGates { get; }

    /// <summary>The weight of the L0 term. Python: <c>reg_weight</c>.</summary>
    public double RegWeight { get; }

    /// <summary>How the L0 term is reduced. Python: <c>reg_reduction</c>.</summary>
    public RegReduction RegReduction { get; }

    /// <summary>The gate id of every input element (a copy of the mask given, int64), or null when every element has its own gate.</summary>
    public Tensor? Mask => masked ? get_buffer("mask") : null;

    /// <summary>Gates the input and gives the L0 regularization term.</summary>
    /// <param name="input">The input, batch first (at least two dimensions without a mask); it is not modified.</param>
    /// <returns>
    /// The gated input (the input's shape: each element times its gate's value, clamped to [0, 1]) and the L0 term
    /// (a scalar, or <c>[NGates]</c> with <see cref="RegReduction.None"/>), both differentiable in the gates' parameters;
    /// to add to the model's loss. The caller disposes them.
    /// </returns>
    /// <exception cref="ArgumentException">The input does not fit the gates (ParamName <c>input</c>).</exception>
    public override (Tensor GatedInput, Tensor L0Reg) forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var mask = Mask;
        if (mask is null)
        {
            if (input.dim() < 2 || input[0].numel() != NGates)
            {
                throw new ArgumentException(
                    $"input has shape {Shapes.Format(input.shape)}; without a mask every example (all dimensions but the first) must have one element per gate ({NGates}).",
                    nameof(input));
            }
        }
        else if (!Broadcasts(mask.shape, input.shape))
        {
            throw new ArgumentException(
                $"input has shape {Shapes.Format(input.shape)}, to which the mask of shape {Shapes.Format(mask.shape)} does not broadcast.",
                nameof(input));
        }

        using var scope = torch.NewDisposeScope();
        var batch = input.shape[0];
        var gates = SampleGateValues(batch).clamp(0, 1);
        if (mask is not null)
        {
            var ids = mask.to(input.device).expand_as(input).reshape(batch, -1);
            gates = gates.gather(1, ids);
        }

        var gated = input * gates.reshape(input.shape);
        var probs = ActiveProbs();
        var reg = RegReduction switch
        {
            RegReduction.Sum => probs.sum(),
            RegReduction.Mean => probs.mean(),
            _ => probs,
        };
        reg = reg * RegWeight;
        return (gated.MoveToOuterDisposeScope(), reg.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// Every gate's value: the mean of its distribution, clamped to [0, 1] unless <paramref name="clamp"/> is false
    /// (the raw means tell apart gates beyond 0 or 1). Detached from the graph; <c>[NGates]</c>; the caller disposes it.
    /// </summary>
    /// <remarks>Python: <c>get_gate_values(clamp=True)</c>.</remarks>
    public Tensor GetGateValues(bool clamp = true)
    {
        using var scope = torch.NewDisposeScope();
        var values = RawGateValues();
        if (clamp)
        {
            values = values.clamp(0, 1);
        }

        return values.detach().MoveToOuterDisposeScope();
    }

    /// <summary>Every gate's probability of being active (non-zero). Detached; <c>[NGates]</c>; the caller disposes it.</summary>
    /// <remarks>Python: <c>get_gate_active_probs()</c>.</remarks>
    public Tensor GetGateActiveProbs()
    {
        using var scope = torch.NewDisposeScope();
        return ActiveProbs().detach().MoveToOuterDisposeScope();
    }

    /// <summary>The gates' unrectified values, <c>[batchSize, NGates]</c>: draws in training mode, the means in evaluation mode. Python: <c>_sample_gate_values</c>.</summary>
    protected abstract Tensor SampleGateValues(long batchSize);

    /// <summary>The means of the gates' distributions, unclamped, <c>[NGates]</c>. Python: <c>_get_gate_values</c>.</summary>
    protected abstract Tensor RawGateValues();

    /// <summary>The gates' probabilities of being non-zero, differentiable, <c>[NGates]</c>. Python: <c>_get_gate_active_probs</c>.</summary>
    protected abstract Tensor ActiveProbs();

    /// <summary>A parameter of the given initial values, kept out of the caller's dispose scopes (the module owns it).</summary>
    private protected static TorchSharp.Modules.Parameter NewParameter(Tensor initial)
    {
        var parameter = new TorchSharp.Modules.Parameter(initial.detach().clone(), requires_grad: true);
        parameter.DetachFromDisposeScope();
        return parameter;
    }

    private static bool Broadcasts(long[] shape, long[] target)
    {
        if (shape.Length > target.Length)
        {
            return false;
        }

        for (var d = 1; d <= shape.Length; d++)
        {
            var size = shape[^d];
            if (size != 1 && size != target[^d])
            {
                return false;
            }
        }

        return true;
    }
}
