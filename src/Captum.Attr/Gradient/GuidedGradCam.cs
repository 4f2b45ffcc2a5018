using Captum.Forward;
using Captum.Layers;
using Captum.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// Guided Grad-CAM (Selvaraju et al., 2017): the Grad-CAM map of a layer, kept where it is positive and resized to
/// every input's spatial size, times that input's guided backpropagation attributions. GuidedBackprop's fine detail
/// is kept only where Grad-CAM finds evidence for the explained output.
/// </summary>
/// <remarks>
/// <para>Python: <c>captum.attr.GuidedGradCam(model, layer)</c>.</para>
/// <para>
/// Two passes, as in Captum: <see cref="LayerGradCam"/> on the layer with plain gradients, giving
/// relu(sum over channels of weight * activation), [n, 1, ...spatial]; then <see cref="GuidedBackprop"/>, with the
/// <c>nn.ReLU</c> modules overridden. For input i the map is resized with
/// <see cref="LayerAttribution.Interpolate(Tensor, IReadOnlyList{long}, InterpolationMode)"/> to the input's dimensions
/// after the first two and multiplied elementwise with the input's guided backpropagation, broadcast over its channels.
/// </para>
/// <para>
/// Every input must be laid out like the layer's output: [n, channels, ...1 to 3 spatial dimensions], of the rank of
/// the Grad-CAM map (a [n, c, h, w] image for a 2-D convolution). Captum returns None, with a warning, for an input it
/// cannot resize the map to; here such an input is refused with an <see cref="ArgumentException"/> naming
/// <c>inputs</c>. Pass it in <c>AdditionalForwardArgs</c> instead: it then gets no attribution, as in Captum, and the
/// other inputs' attributions do not change. The layer must produce one tensor and be called exactly once per forward
/// pass, through <c>call</c>; the ReLU modules must be called through <c>call</c> too. The model is not edited and every
/// hook is removed before returning, also when an exception is thrown. Cost: two forward and backward passes.
/// </para>
/// </remarks>
public sealed class GuidedGradCam : IAttributionMethod<GuidedGradCamOptions>
{
    private readonly ForwardFunction forward;
    private readonly nn.Module model;
    private readonly LayerGradCam gradCam;

    /// <summary>Creates the method for one layer of <paramref name="model"/>.</summary>
    /// <param name="model">The model: a forward function built from a module (whose ReLU modules are overridden).</param>
    /// <param name="layer">The layer (instance or dotted path), usually the last convolution.</param>
    /// <exception cref="ArgumentException">The forward function has no module, or the layer cannot be resolved.</exception>
    public GuidedGradCam(ForwardFunction model, LayerReference layer)
    {
        ArgumentNullException.ThrowIfNull(model);
        TorchRuntime.EnsureAvailable();
        forward = model;
        this.model = ModifiedReluGradient.ModelOf(model, nameof(GuidedGradCam));
        gradCam = new LayerGradCam(model, layer);
    }

    /// <summary>The resolved layer.</summary>
    public nn.Module Layer => gradCam.Layer;

    /// <summary>False: Guided Grad-CAM has no convergence delta. Python: <c>has_convergence_delta()</c>.</summary>
    public bool HasConvergenceDelta => false;

    /// <summary>Attributes the explained output to every element of every input.</summary>
    /// <param name="inputs">One tensor or several, batch first, floating point, each [n, c, ...spatial] like the layer. They are not modified.</param>
    /// <param name="options">Target, additional arguments, the interpolation mode and the layer side; Captum's defaults when null.</param>
    /// <param name="cancellationToken">Checked before each of the two passes.</param>
    /// <returns>One attribution per input, of its shape; the caller disposes it.</returns>
    /// <exception cref="ArgumentException">
    /// An argument does not fit: an input without the Grad-CAM map's layout (<c>inputs</c>), a mode for another rank
    /// (<c>InterpolateMode</c>), a layer that produces several tensors (<c>layer</c>); the message says which.
    /// </exception>
    /// <remarks>
    /// <c>Progress</c> receives (1, 2) after the Grad-CAM pass and (2, 2) after the guided backpropagation pass.
    /// </remarks>
    public AttributionResult Attribute(Inputs inputs, GuidedGradCamOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new GuidedGradCamOptions();
        var tensors = inputs.Tensors;
        using var scope = torch.NewDisposeScope();
        var n = ArgumentPreparation.BatchSize(tensors);
        InputChecks.RequireFloatingPoint(tensors, nameof(GuidedGradCam));
        options.Target.ValidateCount(n);
        CheckLayout(tensors, options.InterpolateMode);
        cancellationToken.ThrowIfCancellationRequested();

        var additional = options.AdditionalForwardArgs ?? [];
        var cam = gradCam.Attribute(inputs, new LayerGradCamOptions
        {
            Target = options.Target,
            AdditionalForwardArgs = additional,
            AttributeToLayerInput = options.AttributeToLayerInput,
            ReluAttributions = true,
        }, cancellationToken);
        var map = SingleMap(cam, tensors);
        options.Progress?.Report(new AttributionProgress(1, 2));
        cancellationToken.ThrowIfCancellationRequested();

        var guided = ModifiedReluGradient.Compute(forward, model, tensors, additional, options.Target, useReluGradOutput: false);
        var attributions = guided
            .Select((g, i) => g * LayerAttribution.Interpolate(map, tensors[i].shape[2..], options.InterpolateMode))
            .ToArray();
        options.Progress?.Report(new AttributionProgress(2, 2));
        return new AttributionResult(attributions.Select(a => a.MoveToOuterDisposeScope()).ToArray(), null);
    }

    /// <summary>Checks, before any pass, that every input has spatial dimensions the mode can resize to.</summary>
    private static void CheckLayout(IReadOnlyList<Tensor> inputs, InterpolationMode mode)
    {
        for (var i = 0; i < inputs.Count; i++)
        {
            var rank = inputs[i].dim();
            if (rank is < 3 or > 5)
            {
                throw new ArgumentException(
                    $"inputs[{i}] has shape {Shapes.Format(inputs[i].shape)}; GuidedGradCam resizes the layer's Grad-CAM map to every input's dimensions after the first two, so each input must be [n, c, ...1 to 3 spatial dimensions]. " +
                    "Captum returns None for such an input: pass it in AdditionalForwardArgs instead to leave it unattributed.",
                    "inputs");
            }

            if (LayerAttribution.RankFor(mode) is { } needed && needed != rank)
            {
                throw new ArgumentException(
                    $"InterpolateMode {mode} resizes {needed}-dimensional tensors, but inputs[{i}] has {rank} dimensions; use Nearest, Area, or the linear mode of that rank.",
                    "InterpolateMode");
            }
        }
    }

    /// <summary>The Grad-CAM map of the layer's only tensor, checked against the inputs' ranks.</summary>
    private Tensor SingleMap(LayerAttributionResult cam, IReadOnlyList<Tensor> inputs)
    {
        if (cam.Layers[0].Count != 1)
        {
            throw new ArgumentException(
                $"layer {Layer.GetType().Name} produces {cam.Layers[0].Count} tensors; GuidedGradCam needs a layer that produces a single tensor.",
                "layer");
        }

        var map = cam.Attribution;
        for (var i = 0; i < inputs.Count; i++)
        {
            if (inputs[i].dim() != map.dim())
            {
                throw new ArgumentException(
                    $"inputs[{i}] has shape {Shapes.Format(inputs[i].shape)}, but the Grad-CAM map of layer {Layer.GetType().Name} has shape {Shapes.Format(map.shape)}: " +
                    "GuidedGradCam needs every input laid out like the layer (the same number of dimensions). Choose a layer whose output matches the inputs, or pass the other inputs in AdditionalForwardArgs (Captum returns None for them).",
                    "inputs");
            }
        }

        return map;
    }
}

/// <summary>The arguments of <see cref="GuidedGradCam.Attribute"/>, with Captum's defaults.</summary>
/// <remarks>Python: the keyword arguments of <c>GuidedGradCam.attribute</c>.</remarks>
public sealed record GuidedGradCamOptions : TargetedAttributionOptions, ILayerAttributionOptions
{
    /// <summary>
    /// How the Grad-CAM map is resized to each input: <see cref="InterpolationMode.Nearest"/> by default (the original
    /// paper uses bilinear, which works on 4-dimensional inputs only), <see cref="InterpolationMode.Area"/>, or the
    /// linear mode of the inputs' rank. Python: <c>interpolate_mode</c>.
    /// </summary>
    public InterpolationMode InterpolateMode { get; init; } = InterpolationMode.Nearest;

    /// <summary>Compute Grad-CAM on the layer's input instead of its output. Python: <c>attribute_to_layer_input</c>.</summary>
    public bool AttributeToLayerInput { get; init; }
}
