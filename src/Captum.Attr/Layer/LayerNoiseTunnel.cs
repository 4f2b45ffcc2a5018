using Captum.Runtime;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// Noise Tunnel over a layer method: runs it on noisy copies of every example (the noise is added to the model's
/// inputs) and combines the samples' layer attributions as SmoothGrad, SmoothGrad squared or VarGrad. Wraps any
/// <see cref="ILayerAttributionMethod{TOptions}"/>: LayerIntegratedGradients, LayerConductance, InternalInfluence,
/// LayerActivation, LayerGradientXActivation, LayerGradCam, LayerDeepLift, LayerDeepLiftShap, LayerGradientShap,
/// LayerFeatureAblation, LayerFeaturePermutation, LayerLRP.
/// </summary>
/// <typeparam name="TOptions">The wrapped method's options.</typeparam>
/// <remarks>
/// Python: <c>captum.attr.NoiseTunnel(attribution_method)</c> with a layer attribution method; create one with
/// <see cref="NoiseTunnel.Create{TOptions}(ILayerAttributionMethod{TOptions})"/>. Everything else is as
/// <see cref="NoiseTunnel{TOptions}"/>: the same options, the same expansion of targets, additional arguments and
/// baselines, the same seeding, progress and deltas. The layers' values must be batch first.
/// </remarks>
public sealed class LayerNoiseTunnel<TOptions> : IAttribution
    where TOptions : AttributionOptions, new()
{
    private readonly ILayerAttributionMethod<TOptions> method;

    /// <summary>Wraps <paramref name="attributionMethod"/>.</summary>
    /// <param name="attributionMethod">The layer method run on the noisy samples. Python: <c>attribution_method</c>.</param>
    public LayerNoiseTunnel(ILayerAttributionMethod<TOptions> attributionMethod)
    {
        ArgumentNullException.ThrowIfNull(attributionMethod);
        TorchRuntime.EnsureAvailable();
        method = attributionMethod;
    }

    /// <summary>The wrapped method. Python: <c>attribution_method</c>.</summary>
    public ILayerAttributionMethod<TOptions> AttributionMethod => method;

    /// <summary>Whether the wrapped method has a convergence delta. Python: <c>has_convergence_delta()</c>.</summary>
    public bool HasConvergenceDelta => method.HasConvergenceDelta;

    /// <summary>Attributes with the wrapped layer method on noisy samples of every example and combines the samples.</summary>
    /// <param name="inputs">The model's inputs, batch first, floating point. They are not modified.</param>
    /// <param name="options">The noise tunnel's arguments and the wrapped method's; Captum's defaults when null.</param>
    /// <param name="cancellationToken">Checked before every batch of samples, and passed to the wrapped method.</param>
    /// <returns>
    /// Per layer, one combined attribution per tensor it produced, of its shape (and the wrapped method's deltas, per
    /// example then sample, when it returned them); the caller disposes it.
    /// </returns>
    /// <exception cref="ArgumentException">An argument does not fit; the message names it.</exception>
    public LayerAttributionResult Attribute(Inputs inputs, NoiseTunnelOptions<TOptions>? options = null, CancellationToken cancellationToken = default)
    {
        using var scope = torch.NewDisposeScope();
        var (layers, delta) = NoiseTunnelEngine.RunLayers(
            inputs, options, method.GetType().Name, (noisy, expanded) => method.Attribute(noisy, expanded, cancellationToken), cancellationToken);
        return new LayerAttributionResult(LayerAttribution.MoveOut(layers), delta?.MoveToOuterDisposeScope());
    }
}
