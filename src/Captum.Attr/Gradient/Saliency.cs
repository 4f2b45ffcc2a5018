using Captum.Forward;
using Captum.Runtime;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// Saliency (Simonyan et al., 2013): the gradient of the explained output with respect to each input
/// element, by default in absolute value.
/// </summary>
/// <remarks>
/// Python: <c>captum.attr.Saliency(forward_func)</c>. One forward and one backward pass over the batch, on
/// the inputs' device. The caller's tensors are not modified and their <c>requires_grad</c> is untouched.
/// </remarks>
public sealed class Saliency : IAttributionMethod<SaliencyOptions>
{
    private readonly ForwardFunction forward;

    /// <summary>Creates the method for <paramref name="forwardFunc"/>.</summary>
    /// <param name="forwardFunc">The model or function to explain.</param>
    public Saliency(ForwardFunction forwardFunc)
    {
        ArgumentNullException.ThrowIfNull(forwardFunc);
        TorchRuntime.EnsureAvailable();
        forward = forwardFunc;
    }

    /// <summary>False: Saliency has no convergence delta. Python: <c>has_convergence_delta()</c>.</summary>
    public bool HasConvergenceDelta => false;

    /// <summary>Attributes the explained output to every element of every input.</summary>
    /// <param name="inputs">One tensor or several, batch first, floating point. They are not modified.</param>
    /// <param name="options">Target, additional arguments and <c>Abs</c>; Captum's defaults when null.</param>
    /// <param name="cancellationToken">Checked before the pass.</param>
    /// <returns>One gradient per input, of its shape; the caller disposes it.</returns>
    /// <exception cref="ArgumentException">An argument does not fit; the message names it.</exception>
    public AttributionResult Attribute(Inputs inputs, SaliencyOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new SaliencyOptions();
        var tensors = inputs.Tensors;
        using var scope = torch.NewDisposeScope();
        var n = ArgumentPreparation.BatchSize(tensors);
        InputChecks.RequireFloatingPoint(tensors, nameof(Saliency));
        options.Target.ValidateCount(n);
        cancellationToken.ThrowIfCancellationRequested();

        var gradients = Gradients.Compute(forward, Gradients.Leaves(tensors), options.AdditionalForwardArgs ?? [], options.Target);
        var attributions = options.Abs ? gradients.Select(g => g.abs()).ToArray() : gradients;
        options.Progress?.Report(new AttributionProgress(1, 1));
        var result = new AttributionResult(attributions.Select(a => a.MoveToOuterDisposeScope()).ToArray(), null);
        return result;
    }
}

/// <summary>The arguments of <see cref="Saliency.Attribute"/>, with Captum's defaults.</summary>
/// <remarks>Python: the keyword arguments of <c>Saliency.attribute</c>.</remarks>
public sealed record SaliencyOptions : TargetedAttributionOptions
{
    /// <summary>Return the absolute value of the gradients (true by default). Python: <c>abs</c>.</summary>
    public bool Abs { get; init; } = true;
}
