using Captum.Attr;

namespace Captum.Explain;

/// <summary>Options of an <see cref="IExplanationStrategy"/>; each strategy uses those that apply to it.</summary>
public sealed record ExplanationOptions
{
    /// <summary>Integration steps of path methods (the VQA tutorial uses 30).</summary>
    public int Steps { get; init; } = 30;

    /// <summary>
    /// At most this many expanded examples per forward and backward pass (path methods; all steps in one pass when
    /// null), or perturbations per forward pass for occlusion (when null, as many as the default memory budget allows, up to
    /// <see cref="PerturbationOptions.AutomaticPerturbationRows"/> rows).
    /// </summary>
    public int? InternalBatchSize { get; init; }

    /// <summary>The class to explain; the predicted one when null.</summary>
    public long? Target { get; init; }

    /// <summary>
    /// Receives the method's progress: integration steps (layer-ig, interpretable-embedding), forward
    /// evaluations (occlusion), or (1, 1) after the single pass of gradient-x-activation.
    /// </summary>
    public IProgress<AttributionProgress>? Progress { get; init; }
}
