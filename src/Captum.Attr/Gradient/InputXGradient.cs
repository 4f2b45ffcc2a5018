using Captum.Forward;
using Captum.Runtime;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// Input X Gradient: each input element times the gradient of the explained output with respect to it
/// (Shrikumar et al., 2016).
/// </summary>
/// <remarks>
/// Python: <c>captum.attr.InputXGradient(forward_func)</c>. One forward and one backward pass over the batch,
/// on the inputs' device. The caller's tensors are not modified and their <c>requires_grad</c> is untouched.
/// </remarks>
public sealed class InputXGradient : IAttributionMethod<InputXGradientOptions>
{
    private readonly ForwardFunction forward;

    /// <summary>Creates the method for <paramref name="forwardFunc"/>.</summary>
    /// <param name="forwardFunc">The model or function to explain.</param>
    public InputXGradient(ForwardFunction forwardFunc)
    {
        ArgumentNullException.ThrowIfNull(forwardFunc);
        TorchRuntime.EnsureAvailable();
        forward = forwardFunc;
    }

    /// <summary>True: attributions are gradients multiplied by the inputs. Python: <c>multiplies_by_inputs</c>.</summary>
    public bool MultipliesByInputs => true;

    /// <summary>False: Input X Gradient has no convergence delta. Python: <c>has_convergence_delta()</c>.</summary>
    public bool HasConvergenceDelta => false;

    /// <summary>Attributes the explained output to every element of every input.</summary>
    /// <param name="inputs">One tensor or several, batch first, floating point. They are not modified.</param>
    /// <param name="options">Target and additional arguments; none when null.</param>
    /// <param name="cancellationToken">Checked before the pass.</param>
    /// <returns>One attribution per input, of its shape; the caller disposes it.</returns>
    /// <exception cref="ArgumentException">An argument does not fit; the message names it.</exception>
    public AttributionResult Attribute(Inputs inputs, InputXGradientOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new InputXGradientOptions();
        var tensors = inputs.Tensors;
        using var scope = torch.NewDisposeScope();
        var n = ArgumentPreparation.BatchSize(tensors);
        InputChecks.RequireFloatingPoint(tensors, nameof(InputXGradient));
        options.Target.ValidateCount(n);
        cancellationToken.ThrowIfCancellationRequested();

        var gradients = Gradients.Compute(forward, Gradients.Leaves(tensors), options.AdditionalForwardArgs ?? [], options.Target);
        options.Progress?.Report(new AttributionProgress(1, 1));
        var result = new AttributionResult(gradients.Select((g, i) => (tensors[i].detach() * g).MoveToOuterDisposeScope()).ToArray(), null);
        return result;
    }
}

/// <summary>The arguments of <see cref="InputXGradient.Attribute"/>.</summary>
/// <remarks>Python: the keyword arguments of <c>InputXGradient.attribute</c>.</remarks>
public sealed record InputXGradientOptions : TargetedAttributionOptions;
