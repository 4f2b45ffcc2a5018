using Captum.Forward;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// The machinery of GuidedBackprop and Deconvolution (Captum's <c>ModifiedReluGradientAttribution</c>): the
/// gradient of the selected output with every <c>nn.ReLU</c> module back-propagating only positive
/// gradients. Guided backpropagation keeps ReLU's own mask as well (relu of the gradient with respect to its
/// input); deconvolution ignores the mask (relu of the gradient with respect to its output).
/// </summary>
internal static class ModifiedReluGradient
{
    /// <summary>The model these methods need: the forward function's module.</summary>
    /// <exception cref="ArgumentException">The forward function has no module.</exception>
    public static nn.Module ModelOf(ForwardFunction forward, string method) =>
        forward.Module ?? throw new ArgumentException(
            $"model: {method} needs the model as a module (its ReLU modules get the modified backward); this forward function has none. Build it from the module, or pass the module to ForwardFunction.FromDelegate.",
            "model");

    /// <summary>
    /// The modified gradients with respect to every input; <paramref name="useReluGradOutput"/> is true for
    /// deconvolution (Python: <c>use_relu_grad_output</c>).
    /// </summary>
    public static Tensor[] Compute(
        ForwardFunction forward,
        nn.Module model,
        IReadOnlyList<Tensor> inputs,
        IReadOnlyList<object?> additional,
        Target target,
        bool useReluGradOutput)
    {
        using var grad = torch.enable_grad();
        var leaves = Gradients.Leaves(inputs);
        var session = new OverrideSession();
        var rule = new PositiveGradient(useReluGradOutput);
        Tensor output;
        using (ModuleGradientOverrides.Register(model, (_, module) => module is ReLU ? rule : null, session))
        {
            output = forward.Invoke(ArgumentPreparation.Concat(leaves, additional));
        }

        var gradients = Gradients.Of(target.Select(output), leaves);
        session.ThrowIfFailed();
        return gradients;
    }

    private sealed class PositiveGradient(bool useReluGradOutput) : GradientRule
    {
        public override (Tensor? ToInput, Tensor? ThroughModule) Backward(Tensor input, Tensor output, Tensor gradOutput) =>
            useReluGradOutput
                ? (torch.nn.functional.relu(gradOutput), null)

                // Through ReLU's own backward: relu(g) * mask = relu(g * mask), the guided gradient.
                : (null, torch.nn.functional.relu(gradOutput));
    }
}
