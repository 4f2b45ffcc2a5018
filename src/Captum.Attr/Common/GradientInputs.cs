using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>Checks shared by the methods that differentiate with respect to their inputs.</summary>
internal static class GradientInputs
{
    /// <summary>Checks every input is floating point (gradients need it).</summary>
    /// <exception cref="ArgumentException">An input holds integers; the message suggests the layer variant.</exception>
    public static void RequireFloatingPoint(IReadOnlyList<Tensor> inputs, string method)
    {
        for (var i = 0; i < inputs.Count; i++)
        {
            if (!inputs[i].is_floating_point())
            {
                throw new ArgumentException(
                    $"inputs[{i}] has dtype {inputs[i].dtype}; {method} differentiates with respect to its inputs and needs them floating point. For token ids, attribute to the embedding layer with a layer method, or to the embeddings through an interpretable embedding layer.",
                    "inputs");
            }
        }
    }
}
