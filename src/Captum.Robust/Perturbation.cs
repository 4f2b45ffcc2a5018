using static TorchSharp.torch;

namespace Captum.Robust;

/// <summary>
/// A perturbation or attack: something that returns perturbed copies of its inputs, given options of its own
/// (<see cref="FGSM"/> with <see cref="FGSMOptions"/>, <see cref="PGD"/> with <see cref="PGDOptions"/>, or a function
/// of yours through <see cref="Perturbation.FromFunction{TOptions}(Func{Tensor, TOptions, Tensor})"/>).
/// <c>AttackComparator</c> and <c>MinParamPerturbation</c> run any of them.
/// </summary>
/// <typeparam name="TOptions">What one call takes beyond the inputs (Captum's keyword arguments of <c>perturb</c>).</typeparam>
/// <remarks>
/// Python: <c>captum.robust.Perturbation</c> (the base of FGSM and PGD, whose <c>perturb</c> a call runs) and the
/// plain callables the comparator and <c>MinParamPerturbation</c> accept. An implementation must not modify the
/// inputs or their <c>requires_grad</c>, and returns new tensors that the caller owns.
/// </remarks>
public interface IPerturbation<in TOptions>
{
    /// <summary>Returns perturbed copies of <paramref name="inputs"/>.</summary>
    /// <param name="inputs">One tensor or several, batch first. They are not modified.</param>
    /// <param name="options">The perturbation's arguments.</param>
    /// <param name="cancellationToken">Checked between the perturbation's steps.</param>
    /// <returns>One tensor per input, of its shape; the caller disposes the result.</returns>
    PerturbedInputs Perturb(Inputs inputs, TOptions options, CancellationToken cancellationToken = default);
}

/// <summary>Makes an <see cref="IPerturbation{TOptions}"/> of a function: a transform, random noise, a masking rule.</summary>
public static class Perturbation
{
    /// <summary>
    /// A perturbation that applies <paramref name="perturb"/> to every input tensor, with the call's options:
    /// for instance Gaussian noise, <c>Perturbation.FromFunction&lt;double&gt;((x, std) =&gt; x + std * torch.randn_like(x))</c>.
    /// </summary>
    /// <param name="perturb">Returns the perturbed copy of one input tensor (of its shape); it must not modify its argument.</param>
    /// <typeparam name="TOptions">The function's parameter (a number, a record of several).</typeparam>
    public static IPerturbation<TOptions> FromFunction<TOptions>(Func<Tensor, TOptions, Tensor> perturb)
    {
        ArgumentNullException.ThrowIfNull(perturb);
        return new FunctionPerturbation<TOptions>((inputs, options) => inputs.Select(t => perturb(t, options)).ToArray());
    }

    /// <summary>
    /// A perturbation of all the inputs at once: <paramref name="perturb"/> receives every input tensor and returns
    /// one perturbed tensor per input, in the same order.
    /// </summary>
    /// <param name="perturb">Returns one tensor per input; it must not modify its arguments.</param>
    /// <typeparam name="TOptions">The function's parameter.</typeparam>
    public static IPerturbation<TOptions> FromInputsFunction<TOptions>(Func<IReadOnlyList<Tensor>, TOptions, IReadOnlyList<Tensor>> perturb)
    {
        ArgumentNullException.ThrowIfNull(perturb);
        return new FunctionPerturbation<TOptions>(perturb);
    }

    /// <summary>
    /// The name of <paramref name="attack"/> in Captum's results when none is given: its class's name, or
    /// <c>function</c> for a function (Python: <c>attack.__class__.__name__</c>).
    /// </summary>
    internal static string DefaultName(object attack)
    {
        var type = attack.GetType();
        return type.IsGenericType && type.GetGenericTypeDefinition() == typeof(FunctionPerturbation<>)
            ? "function"
            : type.Name.Split('`')[0];
    }

    /// <summary>Runs a function as a perturbation, giving the caller tensors of its own.</summary>
    private sealed class FunctionPerturbation<TOptions>(Func<IReadOnlyList<Tensor>, TOptions, IReadOnlyList<Tensor>> perturb) : IPerturbation<TOptions>
    {
        public PerturbedInputs Perturb(Inputs inputs, TOptions options, CancellationToken cancellationToken = default)
        {
            var tensors = inputs.Tensors;
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = torch.NewDisposeScope();
            var perturbed = perturb(tensors, options)
                ?? throw new InvalidOperationException("The perturbation function returned null; it must return one tensor per input.");
            if (perturbed.Count != tensors.Count || perturbed.Any(t => t is null))
            {
                throw new InvalidOperationException($"The perturbation function returned {perturbed.Count} tensors for {tensors.Count} inputs; it must return one per input, and no null.");
            }

            // Detached handles of their own: a function may hand back an input itself (an identity, a no-op), and
            // disposing the result must never free the caller's tensor; nor must the result carry a graph.
            var owned = perturbed.Select(t => t.detach().MoveToOuterDisposeScope()).ToArray();
            return new PerturbedInputs(owned, inputs.IsTuple);
        }
    }
}
