using Captum.Forward;
using Captum.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Influence;

/// <summary>
/// What TracInCPFast needs of a batch: per example, the gradient of its loss with respect to the model's output and
/// the input of the final fully-connected layer (whose weight gradient is their outer product), as Captum's
/// <c>_basic_computation_tracincp_fast</c>.
/// </summary>
internal static class FinalLayerGradients
{
    /// <summary>(output gradients [n, outputs], layer inputs [n, inputs]), detached.</summary>
    public static (Tensor OutputGradients, Tensor LayerInputs) Compute(ForwardFunction forward, nn.Module finalLayer, InfluenceBatch batch, InfluenceLoss loss)
    {
        using var scope = torch.NewDisposeScope();
        using var grad = torch.enable_grad();
        Tensor? layerInput = null;
        Tensor? layerOutput = null;
        Tensor outputs;
        using (var hooks = new HookScope())
        {
            LayerHooks.Register(hooks, finalLayer, onInput: true, values =>
            {
                layerInput = values[0].detach();
                return null;
            });
            LayerHooks.Register(hooks, finalLayer, onInput: false, values =>
            {
                layerOutput = values.Length == 1 ? values[0] : null;
                return null;
            });
            outputs = forward.Invoke([.. batch.Inputs]);
        }

        if (layerInput is null)
        {
            throw new ArgumentException("finalFcLayer: the forward pass never called the final layer (call it through call(), not forward()).", "finalFcLayer");
        }

        // The weight gradient is the outer product of the gradient at the layer's output and its input, and the
        // gradient is taken at the model's output: the two must be one tensor, as Captum assumes without checking.
        // (A layer output the model went on with may already be disposed, as nn.Sequential frees its intermediates.)
        if (!ReferenceEquals(layerOutput, outputs))
        {
            throw new ArgumentException(
                "finalFcLayer: its output must be the model's output, returned as it is (no activation, view or further layer after it); TracInCPFast differentiates the loss at the model's output as the gradient at this layer's.",
                "finalFcLayer");
        }

        // One input vector per example: a layer applied at several positions ([n, T, features], a token classifier)
        // has a weight gradient that is a sum of outer products, whose dot products are not the product of the two
        // factors' dot products that the fast methods take (Captum's code assumes [n, features] too).
        if (layerInput.dim() != 2 || outputs.dim() != 2)
        {
            throw new ArgumentException(
                $"finalFcLayer: its input has shape {Shapes.Format(layerInput.shape)} and its output {Shapes.Format(outputs.shape)}; TracInCPFast and TracInCPFastRandProj need one vector per example, [n, features] to [n, outputs]. A layer applied at several positions has a weight gradient summed over them, which the fast methods' product of dot products does not give: use TracInCP with Layers = [this layer].",
                "finalFcLayer");
        }

        var losses = loss(outputs, batch.Labels);
        if (losses is null || losses.dim() != 1 || losses.shape[0] != batch.Count)
        {
            throw new ArgumentException($"Loss: the loss must give one value per example ([{batch.Count}]); reduce nothing (reduction none).", "Loss");
        }

        if (!outputs.requires_grad)
        {
            throw new ArgumentException("model: its output does not require grad; it must be computed with gradients enabled.", "model");
        }

        var outputGradients = torch.autograd.grad([losses.sum()], [outputs])[0];
        return (outputGradients.reshape(batch.Count, -1).detach().MoveToOuterDisposeScope(), layerInput.reshape(batch.Count, -1).MoveToOuterDisposeScope());
    }
}
