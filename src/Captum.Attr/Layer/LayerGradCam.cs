using Captum.Forward;
using Captum.Layers;
using Captum.Runtime;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// Grad-CAM (Selvaraju et al., 2017) for a layer, usually the last convolution: the gradient of the explained
/// output with respect to the layer is averaged over each channel's spatial positions, and the channels' activations
/// are summed with those weights, giving one coarse map per example ([n, 1, ...spatial]). Upsample it to the input
/// size with <see cref="LayerAttribution.Interpolate(Tensor, IReadOnlyList{long}, InterpolationMode)"/>.
/// </summary>
/// <remarks>
/// Python: <c>captum.attr.LayerGradCam(forward_func, layer)</c>. Layer tensors of two dimensions ([n, features])
/// are weighted by their gradients as they are (there are no positions to average over). The layer must be called
/// exactly once per forward pass, through <c>call</c>. Cost: one forward and one backward pass.
/// </remarks>
public sealed class LayerGradCam : ILayerAttributionMethod<LayerGradCamOptions>
{
    private readonly LayerEvaluation evaluation;

    /// <summary>Creates the method.</summary>
    /// <param name="forwardFunc">The model or function to explain.</param>
    /// <param name="layer">The layer (instance or dotted path), usually a convolution.</param>
    public LayerGradCam(ForwardFunction forwardFunc, LayerReference layer)
    {
        ArgumentNullException.ThrowIfNull(forwardFunc);
        TorchRuntime.EnsureAvailable();
        evaluation = LayerEvaluation.Create(forwardFunc, [layer], false);
    }

    /// <summary>The resolved layer.</summary>
    public nn.Module Layer => evaluation.Layers[0];

    IReadOnlyList<nn.Module> ILayerAttributionMethod<LayerGradCamOptions>.Layers => [Layer];

    /// <summary>False: the method has no convergence delta. Python: <c>has_convergence_delta()</c>.</summary>
    public bool HasConvergenceDelta => false;

    /// <summary>Computes the Grad-CAM map of every example.</summary>
    /// <param name="inputs">The model's inputs, batch first. Not modified.</param>
    /// <param name="options">Target, additional forward arguments, ReLU and channel summation.</param>
    /// <param name="cancellationToken">Checked before the forward pass.</param>
    /// <returns>
    /// One tensor per layer tensor: its shape with dimension 1 reduced to 1 (or kept when
    /// <see cref="LayerGradCamOptions.AttrDimSummation"/> is false); the caller disposes the result.
    /// </returns>
    /// <exception cref="ArgumentException">An argument does not fit, or the layer is not called exactly once.</exception>
    public LayerAttributionResult Attribute(Inputs inputs, LayerGradCamOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new LayerGradCamOptions();
        var tensors = inputs.Tensors;
        using var scope = torch.NewDisposeScope();
        var n = ArgumentPreparation.BatchSize(tensors);
        options.Target.ValidateCount(n);
        cancellationToken.ThrowIfCancellationRequested();
        var args = ArgumentPreparation.Concat(tensors, options.AdditionalForwardArgs ?? []);
        var (grads, values, _) = LayerGradients.Compute(evaluation, args, options.AttributeToLayerInput, options.Target);

        var maps = new Tensor[grads[0].Length];
        for (var j = 0; j < maps.Length; j++)
        {
            var g = grads[0][j];
            var v = values[0][j].detach();
            if (g.dim() < 2)
            {
                throw new ArgumentException(
                    $"layer {evaluation.Layers[0].GetType().Name}: tensor {j} has shape {Shapes.Format(v.shape)}; Grad-CAM needs [n, channels, ...] to weigh the channels.",
                    "layer");
            }

            // The weight of every channel: its gradient averaged over the positions after the channel dimension.
            var weights = g.dim() > 2 ? g.mean(Enumerable.Range(2, (int)g.dim() - 2).Select(d => (long)d).ToArray(), keepdim: true) : g;
            var weighted = weights * v;
            var map = options.AttrDimSummation ? weighted.sum(1, keepdim: true) : weighted;
            maps[j] = options.ReluAttributions ? nn.functional.relu(map) : map;
        }

        options.Progress?.Report(new AttributionProgress(1, 1));
        var result = new LayerAttributionResult(LayerAttribution.MoveOut([maps]), null);
        return result;
    }
}

/// <summary>The arguments of <see cref="LayerGradCam.Attribute"/>, with Captum's defaults.</summary>
/// <remarks>Python: the keyword arguments of <c>LayerGradCam.attribute</c>.</remarks>
public sealed record LayerGradCamOptions : TargetedAttributionOptions, ILayerAttributionOptions
{
    /// <summary>Attribute to the layer's input instead of its output. Python: <c>attribute_to_layer_input</c>.</summary>
    public bool AttributeToLayerInput { get; init; }

    /// <summary>
    /// Apply a ReLU to the result, keeping only positive evidence as the original Grad-CAM does; false (default)
    /// returns both signs. Python: <c>relu_attributions</c>.
    /// </summary>
    public bool ReluAttributions { get; init; }

    /// <summary>
    /// Sum the weighted activations over dimension 1 (the channels), giving one map per example (default true);
    /// false keeps one weighted map per channel. Python: <c>attr_dim_summation</c>.
    /// </summary>
    public bool AttrDimSummation { get; init; } = true;
}
