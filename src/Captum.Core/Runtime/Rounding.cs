using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Runtime;

/// <summary>Comparisons of two evaluations of the same thing that may differ only by float rounding.</summary>
internal static class Rounding
{
    /// <summary>
    /// Whether <paramref name="got"/> equals <paramref name="expected"/> up to float32 rounding of a different batch,
    /// memory order or kernel: within 1e-4 relative, and 1e-5 of the largest value absolute (of 1e-3 at least).
    /// </summary>
    public static bool Close(Tensor got, Tensor expected)
    {
        var scale = expected.abs().max().to_type(ScalarType.Float64).item<double>();
        return torch.allclose(got, expected, rtol: 1e-4, atol: 1e-5 * Math.Max(scale, 1e-3));
    }
}
