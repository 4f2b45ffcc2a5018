using Captum.Forward;
using Captum.Layers;
using Captum.Runtime;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// Layer-wise relevance propagation (Bach et al., 2015): the explained output is the relevance of the output
/// layer, and every layer hands its relevance back to its inputs by a propagation rule chosen per layer
/// (<see cref="EpsilonRule"/>, <see cref="GammaRule"/>, <see cref="Alpha1Beta0Rule"/>, <see cref="IdentityRule"/>).
/// The attributions are the relevances of the input elements.
/// </summary>
/// <remarks>
/// <para>Python: <c>captum.attr.LRP(model)</c>; the rules Captum reads from <c>module.rule</c> are given here as the
/// <c>rules</c> dictionary of the constructor, by module instance or dotted path.</para>
/// <para>
/// Every leaf module of the model is a layer. Modules without a given rule get Captum 0.8.0's default: the epsilon
/// rule (epsilon 1e-9) for Linear, Conv2d, MaxPool1d/2d/3d, AvgPool2d, AdaptiveAvgPool2d and BatchNorm2d (matched by
/// exact type, as Captum does); ReLU, Dropout and Tanh pass relevance through unchanged. Beyond Captum, Flatten,
/// Unflatten and Identity modules pass relevance through as well (Captum refuses them, although it passes the
/// equivalent functional reshape). Any other leaf module without a rule is refused with an
/// <see cref="ArgumentException"/> naming its path and type (Captum raises <c>TypeError</c>); a rule can be given for
/// any module, including nonlinearities. A layer with a rule must be called at most once per forward pass.
/// </para>
/// <para>
/// Relevance is propagated as a modified gradient, as in Captum: the backward pass divides the gradient at a rule
/// layer's output by (z + epsilon * sign(z)), runs the layer's own backward, and multiplies by the layer's input. The
/// result is normalised by the explained output (as Captum computes it), then multiplied by that output per example.
/// Captum inserts these steps with tensor and full backward hooks, which TorchSharp does not have; here forward hooks
/// insert custom autograd functions that compute the same. Operations between modules (functional calls in a
/// forward, reshapes, additions) back-propagate their plain gradient, as in Captum. One difference follows from
/// hooking a layer's call rather than its input tensor: where one tensor feeds a rule layer and also something
/// without a rule (a functional operation such as the <c>+</c> of a residual <c>x + f(x)</c>, or a ReLU), Captum
/// multiplies the sum of all their gradients by the tensor, and this port only the rule layer's share. Where every
/// consumer of a tensor has a rule, or a tensor has one consumer, the two agree.
/// </para>
/// <para>
/// <see cref="GammaRule"/> and <see cref="Alpha1Beta0Rule"/> change the weights of their modules in place while
/// relevance is propagated, as Captum does: a first forward pass with the model's own weights records every rule
/// layer's input and the output, then a second pass with the changed weights propagates, each rule layer being fed
/// the input it had in the first. The weights are restored before the call returns, also when it throws; meanwhile
/// the model must not be used elsewhere. Without such rules one forward pass suffices. Every hook is removed before
/// returning. Layers must be called through <c>call</c> (TorchSharp fires hooks only there); put the model in eval
/// mode (Dropout and BatchNorm). Cost: one (or two) forward passes and one backward pass over the batch.
/// </para>
/// </remarks>
public sealed class LRP : IAttributionMethod<LRPOptions>
{
    private readonly LrpPropagation propagation;

    /// <summary>Creates the method for <paramref name="model"/>.</summary>
    /// <param name="model">The model: a forward function built from a module, whose leaf modules are its layers.</param>
    /// <param name="rules">
    /// Propagation rules per leaf module, by instance or dotted path (Captum's <c>module.rule</c>); modules not listed
    /// get the default for their type. Null for the defaults everywhere.
    /// </param>
    /// <exception cref="ArgumentException">
    /// The forward function has no module, a rule does not name a leaf module of the model, or a leaf module has no
    /// rule and no default; the message names it.
    /// </exception>
    public LRP(ForwardFunction model, IReadOnlyDictionary<LayerReference, PropagationRule>? rules = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        TorchRuntime.EnsureAvailable();
        propagation = new LrpPropagation(model, rules, nameof(LRP));
    }

    /// <summary>True: the relevances are multiplied by the inputs. Python: <c>multiplies_by_inputs</c>.</summary>
    public bool MultipliesByInputs => true;

    /// <summary>True: LRP reports how much relevance was not conserved. Python: <c>has_convergence_delta()</c>.</summary>
    public bool HasConvergenceDelta => true;

    /// <summary>Attributes the explained output to every element of every input by propagating its relevance.</summary>
    /// <param name="inputs">One tensor or several, batch first, floating point. They are not modified.</param>
    /// <param name="options">Target, additional arguments and the delta flag; Captum's defaults when null. Progress is reported once, (1, 1), after the propagation.</param>
    /// <param name="cancellationToken">Checked before each forward pass.</param>
    /// <returns>
    /// One relevance tensor per input, of its shape (and the delta, [n]: the explained output minus the sum of all
    /// relevances, when asked); the caller disposes it.
    /// </returns>
    /// <exception cref="ArgumentException">
    /// An argument does not fit, a leaf module has no rule, or a layer with a rule is called more than once; the
    /// message names it.
    /// </exception>
    public AttributionResult Attribute(Inputs inputs, LRPOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new LRPOptions();
        var tensors = inputs.Tensors;
        using var scope = torch.NewDisposeScope();
        var n = ArgumentPreparation.BatchSize(tensors);
        InputChecks.RequireFloatingPoint(tensors, nameof(LRP));
        options.Target.ValidateCount(n);

        var leaves = Gradients.Leaves(tensors);
        var outcome = propagation.Run(leaves, options.AdditionalForwardArgs ?? [], options.Target, layer: null, onInput: false, cancellationToken);
        var relevances = LrpPropagation.Scale(outcome.Normalized, outcome.Output);
        var delta = options.ReturnConvergenceDelta ? LrpPropagation.Delta(relevances, outcome.Output) : null;
        options.Progress?.Report(new AttributionProgress(1, 1));
        var result = new AttributionResult(relevances.Select(r => r.MoveToOuterDisposeScope()).ToArray(), delta?.MoveToOuterDisposeScope());
        return result;
    }
}

/// <summary>The arguments of <see cref="LRP.Attribute"/>, with Captum's defaults.</summary>
/// <remarks>
/// Python: the keyword arguments of <c>LRP.attribute</c> (<c>verbose</c>, which prints the rules applied, is left
/// out). <c>Target</c> and <c>AdditionalForwardArgs</c> come from <see cref="AttributionOptions"/>.
/// </remarks>
public sealed record LRPOptions : TargetedAttributionOptions
{
    /// <summary>
    /// Also compute the convergence delta per example: Captum's completeness check for LRP, the explained output
    /// minus the sum of all relevances (note the order, the reverse of the path methods' delta). It is close to 0
    /// when relevance is conserved, and absorbed relevance (biases, epsilon) makes it non-zero.
    /// Python: <c>return_convergence_delta</c>.
    /// </summary>
    public bool ReturnConvergenceDelta { get; init; }
}
