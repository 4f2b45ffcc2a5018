using static TorchSharp.torch;

namespace Captum;

/// <summary>
/// The inputs being attributed: one tensor or several, each with the batch as its first dimension.
/// Converts implicitly from a <see cref="Tensor"/> or a <see cref="Tensor"/> array.
/// </summary>
/// <remarks>Python: <c>inputs</c> (a tensor or a tuple of tensors). The tensors stay the caller's: nothing modifies them.</remarks>
public readonly struct Inputs
{
    private readonly Tensor[]? tensors;

    /// <summary>Creates inputs from one or several tensors.</summary>
    public Inputs(params Tensor[] tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        if (tensors.Length == 0)
        {
            throw new ArgumentException("inputs must hold at least one tensor.", nameof(tensors));
        }

        for (var i = 0; i < tensors.Length; i++)
        {
            if (tensors[i] is null)
            {
                throw new ArgumentException($"inputs[{i}] is null.", nameof(tensors));
            }
        }

        this.tensors = tensors;
    }

    /// <summary>The tensors, in forward-argument order.</summary>
    public IReadOnlyList<Tensor> Tensors => tensors ?? throw new ArgumentException("inputs must hold at least one tensor.", "inputs");

    /// <summary>The number of tensors.</summary>
    public int Count => Tensors.Count;

    /// <summary>True when the inputs were given as several tensors (a tuple in Captum).</summary>
    public bool IsTuple { get; init; }

    /// <summary>One tensor.</summary>
    public static implicit operator Inputs(Tensor tensor) => new(tensor);

    /// <summary>Several tensors.</summary>
    public static implicit operator Inputs(Tensor[] tensors) => new(tensors) { IsTuple = true };

    /// <summary>Several tensors.</summary>
    public static Inputs Of(params Tensor[] tensors) => new(tensors) { IsTuple = true };
}
