using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// One random point per row on the straight path from a reference to its input, as GradientShap, LayerGradientShap
/// and NeuronGradientShap take their gradients.
/// </summary>
internal static class UniformPathPoints
{
    /// <summary>reference + alpha * (input - reference), alpha uniform in [0, 1) per row (Python: <c>_scale_input</c>).</summary>
    public static Tensor[] Draw(IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor> references, RandomDraws random)
    {
        var first = inputs[0];
        var alphas = random.Uniform(first.shape[0], first.dtype, first.device);
        return inputs.Select((x, i) =>
        {
            var shape = new long[x.dim()];
            Array.Fill(shape, 1L);
            shape[0] = x.shape[0];
            var alpha = alphas.to(x.dtype).reshape(shape);
            return references[i] + (alpha * (x - references[i]));
        }).ToArray();
    }
}
