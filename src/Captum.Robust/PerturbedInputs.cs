using static TorchSharp.torch;

namespace Captum.Robust;

/// <summary>
/// The perturbed copies of the inputs an attack or perturbation returned: one tensor per input, each of its input's
/// shape, dtype and device, not requiring grad. The caller owns them: dispose the result (or let an enclosing
/// <c>torch.NewDisposeScope()</c> do it).
/// </summary>
/// <remarks>
/// Python: the tensor (or tuple of tensors) <c>perturb</c> returns. <see cref="AsInputs"/> hands them to an
/// attribution method or back to an attack; <see cref="Perturbed"/> reads the only one.
/// </remarks>
public sealed class PerturbedInputs : IDisposable, IReadOnlyList<Tensor>
{
    private readonly Tensor[] tensors;

    /// <summary>Wraps <paramref name="tensors"/>; the result owns them from now on.</summary>
    /// <param name="tensors">One tensor per input, in input order.</param>
    /// <param name="isTuple">Whether the inputs were given as several tensors (a tuple in Captum).</param>
    /// <exception cref="ArgumentException">No tensor, or a null one.</exception>
    public PerturbedInputs(IReadOnlyList<Tensor> tensors, bool isTuple = false)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        if (tensors.Count == 0 || tensors.Any(t => t is null))
        {
            throw new ArgumentException("tensors: give one tensor per input, and no null.", nameof(tensors));
        }

        this.tensors = [.. tensors];
        IsTuple = isTuple || tensors.Count > 1;
    }

    /// <summary>The number of tensors (of inputs).</summary>
    public int Count => tensors.Length;

    /// <summary>True when the inputs were several tensors (Captum returns a tuple then).</summary>
    public bool IsTuple { get; }

    /// <summary>The perturbed input <paramref name="index"/>.</summary>
    public Tensor this[int index] => tensors[index];

    /// <summary>The perturbed input, when there is one input.</summary>
    /// <exception cref="InvalidOperationException">There are several; index the result instead.</exception>
    public Tensor Perturbed => tensors.Length == 1
        ? tensors[0]
        : throw new InvalidOperationException($"There are {tensors.Length} perturbed tensors (one per input); index the result instead.");

    /// <summary>The tensors as <see cref="Inputs"/> (the same tensors, still owned by this result).</summary>
    public Inputs AsInputs() => new(tensors) { IsTuple = IsTuple };

    /// <inheritdoc />
    public IEnumerator<Tensor> GetEnumerator() => ((IEnumerable<Tensor>)tensors).GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Frees the tensors.</summary>
    public void Dispose()
    {
        foreach (var t in tensors)
        {
            t.Dispose();
        }
    }
}
