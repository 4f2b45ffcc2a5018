using System.Numerics;
using Captum.Checkpoints;
using static TorchSharp.torch;

namespace Captum.Tests.Checkpoints;

/// <summary>Structural equality of loaded checkpoint values, for the tests that damage checkpoints.</summary>
internal static class CheckpointComparison
{
    /// <summary>Same containers, keys, scalars, and tensors equal in dtype, shape and every element.</summary>
    public static bool Same(object? a, object? b) => Compare(a, b, (x, y) => x.numel() == 0 || x.equal(y).all().item<bool>());

    /// <summary>Same containers, keys and scalars, and tensors of the same dtype and shape, whatever their elements.</summary>
    public static bool SameStructure(object? a, object? b) => Compare(a, b, (_, _) => true);

    private static bool Compare(object? a, object? b, Func<Tensor, Tensor, bool> elements) => (a, b) switch
    {
        (null, null) => true,
        (Tensor x, Tensor y) => x.dtype == y.dtype && x.shape.SequenceEqual(y.shape) && elements(x, y),
        (CheckpointDict x, CheckpointDict y) => x.Count == y.Count && x.All(e => y.TryGetValue(e.Key, out var v) && Compare(e.Value, v, elements)),
        (string x, string y) => x == y,
        (byte[] x, byte[] y) => x.AsSpan().SequenceEqual(y),
        (System.Collections.IEnumerable x, System.Collections.IEnumerable y) => x.Cast<object?>().Count() == y.Cast<object?>().Count() && x.Cast<object?>().Zip(y.Cast<object?>()).All(p => Compare(p.First, p.Second, elements)),
        (BigInteger x, BigInteger y) => x == y,
        _ => Equals(a, b) || (a?.GetType() == b?.GetType() && a?.ToString() == b?.ToString()),
    };
}
