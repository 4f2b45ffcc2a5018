using Captum.Runtime;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// Builds reference (baseline) token sequences for text models: every position holds the reference
/// token, typically the padding index.
/// </summary>
/// <remarks>Python: <c>captum.attr.TokenReferenceBase(reference_token_idx=0)</c>.</remarks>
public sealed class TokenReferenceBase
{
    /// <summary>Creates the generator for <paramref name="referenceTokenIdx"/> (0 by default).</summary>
    public TokenReferenceBase(long referenceTokenIdx = 0)
    {
        ReferenceTokenIdx = referenceTokenIdx;
    }

    /// <summary>The token every reference position holds. Python: <c>reference_token_idx</c>.</summary>
    public long ReferenceTokenIdx { get; }

    /// <summary>
    /// A 1-D int64 tensor of <paramref name="sequenceLength"/> reference tokens on <paramref name="device"/>
    /// (the CPU when null). Add the batch dimension with <c>unsqueeze(0)</c>. The caller owns the tensor.
    /// Python: <c>generate_reference(sequence_length, device)</c>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="sequenceLength"/> is negative.</exception>
    public Tensor GenerateReference(long sequenceLength, Device? device = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sequenceLength);
        TorchRuntime.EnsureAvailable();
        return torch.full(sequenceLength, ReferenceTokenIdx, ScalarType.Int64, device);
    }
}
