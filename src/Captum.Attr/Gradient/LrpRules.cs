using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// How <see cref="LRP"/> and <see cref="LayerLRP"/> propagate relevance through one layer. Give rules per module in
/// the methods' <c>rules</c> dictionary; modules without one get Captum's default for their type.
/// </summary>
/// <remarks>
/// <para>Python: <c>captum.attr._utils.lrp_rules.PropagationRule</c>.</para>
/// <para>
/// Every rule but <see cref="IdentityRule"/> is a z-rule: with a layer's input activations a, its output z (computed
/// with the rule's weights) and the relevance R of its output, the relevance of input i is
/// a_i * sum_j (dz_j / da_i) * R_j / (z_j + epsilon * sign(z_j)), sign(0) taken as 1. For a linear layer
/// z = W a + b this is a_i * sum_j W_ji R_j / (z_j + epsilon * sign(z_j)). The rules differ in epsilon and in the
/// weights the layer uses while relevance is propagated (Captum's <c>_manipulate_weights</c>). Rules hold no state:
/// one instance may serve several modules. New rules cannot be derived outside this library.
/// </para>
/// </remarks>
public abstract class PropagationRule
{
    /// <summary>Captum's <c>STABILITY_FACTOR</c> of the rules that set none: 1e-9.</summary>
    internal const double DefaultEpsilon = 1e-9;

    private protected PropagationRule()
    {
    }

    /// <summary>The epsilon added (with the sign of z) to every output z before dividing by it.</summary>
    internal virtual double Stabilizer => DefaultEpsilon;

    /// <summary>Whether relevance passes from the output to the input unchanged (<see cref="IdentityRule"/>).</summary>
    internal virtual bool PassesThrough => false;

    /// <summary>Whether the rule changes the layer's parameters while relevance is propagated.</summary>
    internal virtual bool ChangesParameters => false;

    /// <summary>
    /// Changes the parameters of <paramref name="module"/> through <paramref name="changes"/>, which restores them
    /// when disposed. Runs without gradient recording.
    /// </summary>
    internal virtual void ChangeParameters(nn.Module module, ParameterChanges changes)
    {
    }

    /// <summary>Sets the module's bias to zero, when it has one.</summary>
    private protected static void ZeroBias(nn.Module module, ParameterChanges changes)
    {
        if (ParameterChanges.Find(module, "bias") is { } bias)
        {
            changes.Set(bias, torch.zeros_like(bias));
        }
    }
}

/// <summary>
/// The epsilon rule: the z-rule with the layer's own weights, and epsilon (1e-9 by default) added to every output
/// with its sign, which absorbs weak or contradictory relevance. Captum's default for every layer with weights.
/// </summary>
/// <remarks>
/// Python: <c>captum.attr._utils.lrp_rules.EpsilonRule(epsilon=1e-9)</c>. With a tiny epsilon on a ReLU network this
/// is Gradient x Input, and relevance is conserved where the layers have no biases. Suggested for middle layers.
/// </remarks>
public sealed class EpsilonRule : PropagationRule
{
    /// <summary>Creates the rule.</summary>
    /// <param name="epsilon">The stabiliser added to every output z with its sign (1e-9 by default; 0 gives the plain z-rule). Python: <c>epsilon</c>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="epsilon"/> is negative or not finite.</exception>
    public EpsilonRule(double epsilon = DefaultEpsilon)
    {
        if (!double.IsFinite(epsilon) || epsilon < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "epsilon must be finite and non-negative.");
        }

        Epsilon = epsilon;
    }

    /// <summary>The stabiliser added to every output with its sign. Python: <c>STABILITY_FACTOR</c>.</summary>
    public double Epsilon { get; }

    internal override double Stabilizer => Epsilon;

    /// <inheritdoc />
    public override string ToString() => FormattableString.Invariant($"EpsilonRule(epsilon={Epsilon})");
}

/// <summary>
/// The gamma rule: the z-rule with every weight w replaced by w + gamma * max(w, 0), which favours positive
/// contributions; epsilon is 1e-9. Optionally the bias is set to zero as well.
/// </summary>
/// <remarks>
/// Python: <c>captum.attr._utils.lrp_rules.GammaRule(gamma=0.25, set_bias_to_zero=False)</c>. The module's
/// parameter named <c>weight</c> (and <c>bias</c>) is changed in place for the duration of the attribution call and
/// restored afterwards, also when the call fails. Suggested for lower layers.
/// </remarks>
public sealed class GammaRule : PropagationRule
{
    /// <summary>Creates the rule.</summary>
    /// <param name="gamma">How much positive weights are increased (0.25 by default). Python: <c>gamma</c>.</param>
    /// <param name="setBiasToZero">Propagate with the bias set to zero. Python: <c>set_bias_to_zero</c>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="gamma"/> is negative or not finite.</exception>
    public GammaRule(double gamma = 0.25, bool setBiasToZero = false)
    {
        if (!double.IsFinite(gamma) || gamma < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(gamma), gamma, "gamma must be finite and non-negative.");
        }

        Gamma = gamma;
        SetBiasToZero = setBiasToZero;
    }

    /// <summary>How much positive weights are increased. Python: <c>gamma</c>.</summary>
    public double Gamma { get; }

    /// <summary>Whether the bias is set to zero while relevance is propagated. Python: <c>set_bias_to_zero</c>.</summary>
    public bool SetBiasToZero { get; }

    internal override bool ChangesParameters => true;

    internal override void ChangeParameters(nn.Module module, ParameterChanges changes)
    {
        if (ParameterChanges.Find(module, "weight") is { } weight)
        {
            changes.Set(weight, weight + (Gamma * weight.clamp(min: 0)));
        }

        if (SetBiasToZero)
        {
            ZeroBias(module, changes);
        }
    }

    /// <inheritdoc />
    public override string ToString() => FormattableString.Invariant($"GammaRule(gamma={Gamma}, setBiasToZero={SetBiasToZero})");
}

/// <summary>
/// The alpha-1-beta-0 rule (deep Taylor decomposition): the z-rule with only the positive weights (negative ones set
/// to zero), so that only positive relevance is propagated; epsilon is 1e-9. Optionally the bias is set to zero.
/// </summary>
/// <remarks>
/// Python: <c>captum.attr._utils.lrp_rules.Alpha1_Beta0_Rule(set_bias_to_zero=False)</c>. The module's parameter named
/// <c>weight</c> (and <c>bias</c>) is changed in place for the duration of the attribution call and restored
/// afterwards, also when the call fails. Not meant for BatchNorm, whose weight is a scale. Suggested for lower layers.
/// </remarks>
public sealed class Alpha1Beta0Rule : PropagationRule
{
    /// <summary>Creates the rule.</summary>
    /// <param name="setBiasToZero">Propagate with the bias set to zero. Python: <c>set_bias_to_zero</c>.</param>
    public Alpha1Beta0Rule(bool setBiasToZero = false)
    {
        SetBiasToZero = setBiasToZero;
    }

    /// <summary>Whether the bias is set to zero while relevance is propagated. Python: <c>set_bias_to_zero</c>.</summary>
    public bool SetBiasToZero { get; }

    internal override bool ChangesParameters => true;

    internal override void ChangeParameters(nn.Module module, ParameterChanges changes)
    {
        if (ParameterChanges.Find(module, "weight") is { } weight)
        {
            changes.Set(weight, weight.clamp(min: 0));
        }

        if (SetBiasToZero)
        {
            ZeroBias(module, changes);
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"Alpha1Beta0Rule(setBiasToZero={SetBiasToZero})";
}

/// <summary>
/// The identity rule: the relevance of the layer's output becomes the relevance of its input unchanged. Only for
/// layers with one input of as many elements as the output (BatchNorm2d, for example).
/// </summary>
/// <remarks>Python: <c>captum.attr._utils.lrp_rules.IdentityRule()</c>.</remarks>
public sealed class IdentityRule : PropagationRule
{
    internal override bool PassesThrough => true;

    /// <inheritdoc />
    public override string ToString() => "IdentityRule()";
}

/// <summary>
/// Parameters changed by rules for one attribution call: each is saved before its first change and every one is
/// copied back, in reverse order, when this is disposed.
/// </summary>
internal sealed class ParameterChanges : IDisposable
{
    private readonly List<(Parameter Parameter, Tensor Original)> saved = [];

    /// <summary>The module's own parameter called <paramref name="name"/> (not a submodule's), or null.</summary>
    public static Parameter? Find(nn.Module module, string name) =>
        module.named_parameters(recurse: false).Where(p => p.name == name).Select(p => p.parameter).FirstOrDefault();

    /// <summary>Saves the parameter's values, then overwrites them with <paramref name="value"/>.</summary>
    public void Set(Parameter parameter, Tensor value)
    {
        using var noGrad = torch.no_grad();
        saved.Add((parameter, parameter.detach().clone()));
        parameter.copy_(value);
    }

    /// <summary>Copies every saved parameter back.</summary>
    public void Dispose()
    {
        using var noGrad = torch.no_grad();
        for (var i = saved.Count - 1; i >= 0; i--)
        {
            var (parameter, original) = saved[i];
            parameter.copy_(original);
            original.Dispose();
        }

        saved.Clear();
    }
}
