using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>Why a method needs floating-point inputs, for the message of <see cref="InputChecks.RequireFloatingPoint"/>.</summary>
internal enum InputUse
{
    /// <summary>The method differentiates with respect to its inputs.</summary>
    Differentiated,

    /// <summary>The method interpolates between baselines and inputs (and differentiates along the path).</summary>
    Interpolated,
}

/// <summary>Checks of the inputs shared by the methods, with messages that name the input and suggest the way out.</summary>
internal static class InputChecks
{
    /// <summary>Checks every input is floating point (gradients and interpolation need it).</summary>
    /// <exception cref="ArgumentException">An input holds integers (parameter <c>inputs</c>); the message suggests the layer variant.</exception>
    public static void RequireFloatingPoint(IReadOnlyList<Tensor> inputs, string method, InputUse use = InputUse.Differentiated)
    {
        for (var i = 0; i < inputs.Count; i++)
        {
            if (!inputs[i].is_floating_point())
            {
                var why = use == InputUse.Interpolated
                    ? $"{method} interpolates between baselines and inputs and needs floating-point inputs. For token ids, use LayerIntegratedGradients on the embedding layer, or an interpolation over embeddings (an interpretable embedding layer)."
                    : $"{method} differentiates with respect to its inputs and needs them floating point. For token ids, attribute to the embedding layer with a layer method, or to the embeddings through an interpretable embedding layer.";
                throw new ArgumentException($"inputs[{i}] has dtype {inputs[i].dtype}; {why}", "inputs");
            }
        }
    }
}
