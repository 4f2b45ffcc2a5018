using Captum.Forward;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>Forward passes and gradients of the selected outputs, shared by every gradient method.</summary>
internal static class Gradients
{
    /// <summary>
    /// Runs the forward function on <paramref name="inputs"/> followed by <paramref name="additional"/>
    /// and selects the target outputs: [n] (or the output itself when no target is needed).
    /// </summary>
    public static Tensor SelectedOutput(ForwardFunction forward, IReadOnlyList<Tensor> inputs, IReadOnlyList<object?> additional, Target target) =>
        target.Select(forward.Invoke(ArgumentPreparation.Concat(inputs, additional)));

    /// <summary>
    /// The gradients of the sum of the selected outputs with respect to each input (which must require grad):
    /// Captum's <c>compute_gradients</c>. An input the output does not depend on gets zeros.
    /// </summary>
    public static Tensor[] Compute(ForwardFunction forward, IReadOnlyList<Tensor> inputs, IReadOnlyList<object?> additional, Target target)
    {
        using var grad = torch.enable_grad();
        var selected = SelectedOutput(forward, inputs, additional, target);
        return Of(selected, inputs);
    }

    /// <summary>
    /// The gradients of the sum of <paramref name="selected"/> with respect to <paramref name="inputs"/>; zeros for
    /// inputs the output does not use and for inputs outside the autograd graph (which libtorch would otherwise
    /// reject with an error that terminates the process). <paramref name="retainGraph"/> keeps the graph for a
    /// second gradient of the same forward pass.
    /// </summary>
    /// <exception cref="ArgumentException">The selected output does not depend on any input (it has no gradient).</exception>
    public static Tensor[] Of(Tensor selected, IReadOnlyList<Tensor> inputs, bool retainGraph = false)
    {
        if (!selected.requires_grad && torch.is_inference_mode_enabled())
        {
            throw new InvalidOperationException(
                "gradients cannot be computed inside torch.inference_mode(): leave inference mode (dispose its scope) before calling a gradient method; torch.no_grad() is fine, the methods re-enable gradients themselves.");
        }

        if (!selected.requires_grad)
        {
            // libtorch would abort the process here rather than raise an error TorchSharp can catch.
            throw new ArgumentException(
                "the selected output does not depend on the attributed inputs or layers: the forward function must compute it from them with gradients enabled (no torch.no_grad(), detach() or integer casts on the way).",
                "inputs");
        }

        var result = new Tensor[inputs.Count];
        var tracked = Enumerable.Range(0, inputs.Count).Where(i => inputs[i].requires_grad).ToArray();
        var grads = tracked.Length > 0
            ? torch.autograd.grad([selected.sum()], tracked.Select(i => inputs[i]).ToArray(), retain_graph: retainGraph, allow_unused: true)
            : [];
        for (var k = 0; k < grads.Count; k++)
        {
            if (grads[k] is { IsInvalid: false } g)
            {
                // A model given channels-last batches (ChannelsLastLayout) gives gradients in that order.
                result[tracked[k]] = g.is_contiguous() ? g : g.contiguous();
            }
        }

        for (var i = 0; i < inputs.Count; i++)
        {
            result[i] ??= torch.zeros_like(inputs[i]);
        }

        return result;
    }

    /// <summary>Detached copies of the caller's tensors that require grad (the caller's own flags are never touched).</summary>
    public static Tensor[] Leaves(IReadOnlyList<Tensor> tensors) =>
        tensors.Select(t => t.detach().requires_grad_(true)).ToArray();
}
