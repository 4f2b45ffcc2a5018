using Captum.Forward;
using Captum.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Captum.Influence;

/// <summary>
/// The gradient of every example's loss with respect to chosen parameters, flattened and concatenated: what TracIn
/// takes dot products of.
/// </summary>
/// <remarks>
/// When every parameter is the weight or bias of an <c>nn.Linear</c> called once per forward pass, one forward and one
/// backward pass give them all: an example's weight gradient is the product of the gradient at the layer's output
/// and the layer's input (summed over any middle dimensions), its bias gradient the former (Captum's
/// <c>sample_wise_grads_per_batch</c> trick). The same backward pass gives the parameters' gradient of the batch's
/// losses (weighted per example), which the per-example gradients must add up to: a parameter also used outside the
/// layer's call (a weight tied to an embedding, or read by the forward function) does not, and takes the other way.
/// Otherwise one forward pass of the batch is followed by one backward pass per example through the same graph
/// (Captum's <c>_compute_jacobian_wrt_params</c>). Both give the same numbers.
/// </remarks>
internal static class PerExampleGradients
{
    /// <summary>[n, P]: row i is the gradient of example i's loss, P the parameters' total size (in their order).</summary>
    public static Tensor Compute(ForwardFunction forward, IReadOnlyList<Parameter> parameters, InfluenceBatch batch, InfluenceLoss loss, CancellationToken cancellationToken) =>
        Compute(forward, parameters, batch, loss, cancellationToken, out _);

    /// <summary>As the overload without <paramref name="onePass"/>, which says whether the linear layers' one-pass gradients were used.</summary>
    internal static Tensor Compute(ForwardFunction forward, IReadOnlyList<Parameter> parameters, InfluenceBatch batch, InfluenceLoss loss, CancellationToken cancellationToken, out bool onePass)
    {
        using var scope = torch.NewDisposeScope();
        using var grad = torch.enable_grad();
        var rows = forward.Module is { } model && LinearPlan.Of(model, parameters) is { } plan
            ? plan.Gradients(forward, batch, loss)
            : null;
        onePass = rows is not null;
        return (rows ?? ExampleByExample(forward, parameters, batch, loss, cancellationToken)).detach().MoveToOuterDisposeScope();
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

    internal static Tensor ExampleByExample(ForwardFunction forward, IReadOnlyList<Parameter> parameters, InfluenceBatch batch, InfluenceLoss loss, CancellationToken cancellationToken)
    {
        var losses = ExampleLosses(forward, batch, loss);
        var n = losses.shape[0];
        var rows = new Tensor[n];
        for (var i = 0; i < n; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var grads = torch.autograd.grad([losses[i]], parameters.Cast<Tensor>().ToArray(), retain_graph: i < n - 1, allow_unused: true);
            rows[i] = torch.cat(parameters.Select((p, k) => grads[k] is { IsInvalid: false } g ? g.reshape(-1) : torch.zeros(p.numel(), p.dtype, p.device)).ToArray());
        }

        return torch.stack(rows);
    }

    /// <summary>The linear layers that own the parameters, and which of their parameters each one is.</summary>
    private sealed class LinearPlan
    {
        private readonly List<Linear> layers = [];
        private readonly List<(int Layer, bool IsWeight)> owners = [];
        private readonly List<Parameter> parameters = [];

        public static LinearPlan? Of(nn.Module model, IReadOnlyList<Parameter> parameters)
        {
            var linears = model.modules().OfType<Linear>().Distinct().ToList();
            var plan = new LinearPlan();
            foreach (var p in parameters)
            {
                var owner = linears.FindIndex(l => ReferenceEquals(l.weight, p) || ReferenceEquals(l.bias, p));
                if (owner < 0)
                {
                    return null;
                }

                var layer = plan.layers.IndexOf(linears[owner]);
                if (layer < 0)
                {
                    plan.layers.Add(linears[owner]);
                    layer = plan.layers.Count - 1;
                }

                plan.owners.Add((layer, ReferenceEquals(linears[owner].weight, p)));
                plan.parameters.Add(p);
            }

            return plan;
        }

        /// <summary>The rows by one forward and one backward pass, or null when a layer was not called exactly once.</summary>
        public Tensor? Gradients(ForwardFunction forward, InfluenceBatch batch, InfluenceLoss loss)
        {
            var inputs = new Tensor?[layers.Count];
            var outputs = new Tensor?[layers.Count];
            var calls = new int[layers.Count];
            var hooks = new List<IDisposable>();
            Tensor losses;
            try
            {
                for (var l = 0; l < layers.Count; l++)
                {
                    var index = l;
                    hooks.Add(LayerHooks.Register(layers[l], onInput: true, values =>
                    {
                        calls[index]++;
                        inputs[index] = values[0].detach();
                        return null;
                    }));
                    hooks.Add(LayerHooks.Register(layers[l], onInput: false, values =>
                    {
                        // The model goes on with a copy: TorchSharp's Sequential disposes a child's input once the next
                        // child has run, and the output must survive to be differentiated.
                        outputs[index] = values[0];
                        return [values[0].clone()];
                    }));
                }

                losses = ExampleLosses(forward, batch, loss);
            }
            finally
            {
                foreach (var hook in hooks)
                {
                    hook.Dispose();
                }
            }

            if (calls.Any(c => c != 1) || outputs.Any(o => o is null || !o.requires_grad))
            {
                return null;
            }

            // One backward pass gives the gradients at the layers' outputs and, to check the result, the parameters'
            // gradients of the examples' losses weighted by distinct factors (so that other uses cannot cancel out
            // over the batch). The deltas are divided by the factors again.
            var n = losses.shape[0];
            var factors = ((torch.arange(n, ScalarType.Float64) * 0.6180339887498949).frac() + 1).to(losses.dtype, losses.device);
            var targets = outputs.Select(o => o!).Concat(parameters.Cast<Tensor>()).ToArray();
            var grads = torch.autograd.grad([(losses * factors).sum()], targets, allow_unused: true);
            var columns = new List<Tensor>();
            for (var k = 0; k < owners.Count; k++)
            {
                var (layer, isWeight) = owners[k];
                var linear = layers[layer];
                var delta = grads[layer] is { IsInvalid: false } d
                    ? d.reshape(n, -1, linear.out_features) / factors.reshape(n, 1, 1)
                    : torch.zeros(n, 1, linear.out_features);
                var column = isWeight
                    ? torch.bmm(delta.transpose(1, 2), inputs[layer]!.reshape(n, -1, linear.in_features)).reshape(n, -1)
                    : delta.sum(1);
                if (!Accounts(column, factors, grads[layers.Count + k]))
                {
                    return null;
                }

                columns.Add(column);
            }

            return torch.cat(columns, 1);
        }

        /// <summary>
        /// Whether the layer's per-example gradients, weighted by the factors, add up to the parameter's gradient of
        /// the weighted losses: false when the parameter is also used outside the layer's one call (a weight tied to
        /// an embedding, a weight read in the forward function), whose contribution the layer's input and output gradient
        /// do not hold.
        /// </summary>
        private static bool Accounts(Tensor column, Tensor factors, Tensor? whole)
        {
            if (whole is null || whole.IsInvalid)
            {
                return false;
            }

            var weighted = column * factors.unsqueeze(1);
            var scale = weighted.abs().sum([0]);
            var tolerance = (scale * 1e-3) + (scale.max() * 1e-5);
            return (weighted.sum([0]) - whole.reshape(-1)).abs().le(tolerance).all().item<bool>();
        }
    }
}
