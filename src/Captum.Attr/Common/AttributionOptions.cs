namespace Captum.Attr;

/// <summary>
/// The arguments every attribution method takes: which output to explain and the forward arguments after
/// the inputs. Each method's options record derives from this one (or from
/// <see cref="BaselineAttributionOptions"/>), so that <see cref="NoiseTunnel{TOptions}"/> can expand them
/// for its noisy samples whatever the method.
/// </summary>
public abstract record AttributionOptions
{
    /// <summary>Which output to explain; none when the forward function returns one value per example. Python: <c>target</c>.</summary>
    public Target Target { get; init; }

    /// <summary>
    /// Further forward arguments after the inputs. Tensors with a batch dimension are repeated along it when a
    /// method expands the batch (integration steps, samples, the paired reference batch); 0-dimensional tensors
    /// and anything else are passed unchanged. Python: <c>additional_forward_args</c>.
    /// </summary>
    public IReadOnlyList<object?>? AdditionalForwardArgs { get; init; }

    /// <summary>
    /// Receives the work done, as (completed, total), after every internal batch, in the method's unit: integration
    /// steps or path points for the path methods, forward evaluations for the perturbation methods, samples per
    /// example for the sampling methods, and (1, 1) after the single pass of the one-pass methods (docs/api.md,
    /// "Progress and cancellation", lists every method's unit).
    /// Reports come on the calling thread; completed never decreases and ends at the total. The last report comes
    /// before the results are handed back, so a callback that throws leaves no result tensors behind. The cancellation token is
    /// checked before every batch, so a token cancelled from a report stops the call before its next batch.
    /// </summary>
    /// <remarks>
    /// Beyond Captum (whose perturbation methods print a bar with <c>show_progress</c>). <see cref="NoiseTunnel{TOptions}"/>
    /// passes the wrapped method's progress through, summed over its calls (see <see cref="NoiseTunnelOptions{TOptions}.Progress"/>).
    /// </remarks>
    public IProgress<AttributionProgress>? Progress { get; init; }
}

/// <summary>The arguments of methods that compare the inputs with reference inputs (baselines).</summary>
public abstract record BaselineAttributionOptions : AttributionOptions
{
    /// <summary>
    /// The baselines (reference inputs): none for zeros, a scalar, a tensor that broadcasts to the input,
    /// or one of those per input. Methods that take a baseline distribution (GradientShap, DeepLiftShap)
    /// document their own form. Python: <c>baselines</c>.
    /// </summary>
    public Baselines Baselines { get; init; }
}
