using Captum.Forward;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Captum.Influence;

/// <summary>
/// The gradient of every example's loss with respect to chosen parameters, flattened and concatenated: what TracIn
/// takes dot products of. One forward pass of the batch, then one backward pass per example through the same graph,
/// as Captum's <c>_compute_jacobian_wrt_params</c>.
/// </summary>
internal static class PerExampleGradients
{
    /// <summary>[n, P]: row i is the gradient of example i's loss, P the parameters' total size (in their order).</summary>
    public static Tensor Compute(ForwardFunction forward, IReadOnlyList<Parameter> parameters, InfluenceBatch batch, InfluenceLoss loss, CancellationToken cancellationToken)
    {
        using var scope = torch.NewDisposeScope();
        using var grad = torch.enable_grad();
        var losses = ExampleLosses(forward, batch, loss);
        var n = losses.shape[0];
        var rows = new Tensor[n];
        for (var i = 0; i < n; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var grads = torch.autograd.grad([losses[i]], parameters.Cast<Tensor>().ToArray(), retain_graph: i < n - 1, allow_unused: true);
            rows[i] = torch.cat(parameters.Select((p, k) => grads[k] is { IsInvalid: false } g ? g.reshape(-1) : torch.zeros(p.numel(), p.dtype, p.device)).ToArray());
        }

        return torch.stack(rows).detach().MoveToOuterDisposeScope();
    }

    /// <summary>The per-example losses of a batch, checked to be [n] and to depend on the parameters.</summary>
    public static Tensor ExampleLosses(ForwardFunction forward, InfluenceBatch batch, InfluenceLoss loss)
    {
        var outputs = forward.Invoke([.. batch.Inputs]);
        var losses = loss(outputs, batch.Labels);
        if (losses is null || losses.dim() != 1 || losses.shape[0] != batch.Count)
        {
            throw new ArgumentException(
                $"Loss: the loss must give one value per example ([{batch.Count}]), not {(losses is null ? "null" : "[" + string.Join(", ", losses.shape) + "]")}; reduce nothing (reduction none).",
                "Loss");
        }

        if (!losses.requires_grad)
        {
            throw new ArgumentException("Loss: the loss does not depend on the model's parameters (no gradient); compute it from the outputs with gradients enabled.", "Loss");
        }

        return losses;
    }
}
