using Captum.Forward;
using Captum.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// Guided backpropagation (Springenberg et al., 2014): the gradient of the explained output with every ReLU module back-propagating only positive gradients, on top of its own mask (relu of the gradient with respect to its input).
/// </summary>
/// <remarks>
/// Python: <c>captum.attr.GuidedBackprop(model)</c>. Only <c>nn.ReLU</c> modules invoked through <c>call</c> are overridden
/// (Captum's <c>isinstance(module, nn.ReLU)</c>); functional <c>torch.relu</c> calls in a model's forward, and
/// other activations, back-propagate normally, as in Captum. The override is a custom autograd function
/// inserted by forward hooks: the model is not edited, and every hook is removed before returning, also
/// when an exception is thrown. One forward and one backward pass over the batch, on the inputs' device.
/// </remarks>
public sealed class GuidedBackprop : IAttributionMethod<GuidedBackpropOptions>
{
    private readonly ForwardFunction forward;
    private readonly nn.Module model;

    /// <summary>Creates the method for <paramref name="model"/>.</summary>
    /// <param name="model">The model: a forward function built from a module (whose ReLU modules are overridden).</param>
    /// <exception cref="ArgumentException">The forward function has no module.</exception>
    public GuidedBackprop(ForwardFunction model)
    {
        ArgumentNullException.ThrowIfNull(model);
        TorchRuntime.EnsureAvailable();
        forward = model;
        this.model = ModifiedReluGradient.ModelOf(model, nameof(GuidedBackprop));
    }

    /// <summary>False: GuidedBackprop has no convergence delta. Python: <c>has_convergence_delta()</c>.</summary>
    public bool HasConvergenceDelta => false;

    /// <summary>Attributes the explained output to every element of every input.</summary>
    /// <param name="inputs">One tensor or several, batch first, floating point. They are not modified.</param>
    /// <param name="options">Target and additional arguments; none when null.</param>
    /// <param name="cancellationToken">Checked before the pass.</param>
    /// <returns>One attribution per input, of its shape; the caller disposes it.</returns>
    /// <exception cref="ArgumentException">An argument does not fit; the message names it.</exception>
    public AttributionResult Attribute(Inputs inputs, GuidedBackpropOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new GuidedBackpropOptions();
        var tensors = inputs.Tensors;
        using var scope = torch.NewDisposeScope();
        var n = ArgumentPreparation.BatchSize(tensors);
        InputChecks.RequireFloatingPoint(tensors, nameof(GuidedBackprop));
        options.Target.ValidateCount(n);
        cancellationToken.ThrowIfCancellationRequested();

        var gradients = ModifiedReluGradient.Compute(forward, model, tensors, options.AdditionalForwardArgs ?? [], options.Target, useReluGradOutput: false);
        options.Progress?.Report(new AttributionProgress(1, 1));
        var result = new AttributionResult(gradients.Select(g => g.MoveToOuterDisposeScope()).ToArray(), null);
        return result;
    }
}

/// <summary>The arguments of <see cref="GuidedBackprop.Attribute"/>.</summary>
/// <remarks>Python: the keyword arguments of <c>GuidedBackprop.attribute</c>.</remarks>
public sealed record GuidedBackpropOptions : TargetedAttributionOptions;
