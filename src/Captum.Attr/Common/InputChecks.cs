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

    /// <summary>Checks a layer value can carry a gradient, or be interpolated (it is floating point).</summary>
    /// <param name="value">One tensor of the layer's input or output.</param>
    /// <param name="layer">The layer as the message names it (its name, or its type's).</param>
    /// <param name="onInput">Whether the value is the layer's input.</param>
    /// <param name="argumentName">The argument the exception names.</param>
    /// <param name="use">What the method does with the value, for the message.</param>
    /// <exception cref="ArgumentException">The value holds integers (parameter <paramref name="argumentName"/>).</exception>
    public static void RequireDifferentiable(Tensor value, string layer, bool onInput, string argumentName = "layer", InputUse use = InputUse.Differentiated)
    {
        if (!value.is_floating_point())
        {
            var why = use == InputUse.Interpolated ? "which cannot be interpolated" : "which has no gradient";
            throw new ArgumentException(
                $"layer {layer}: its {(onInput ? "input" : "output")} has dtype {value.dtype}, {why}. Attribute to a floating-point layer value (for token ids, the embedding's output rather than its token-id input).",
                argumentName);
        }
    }
}
