namespace Captum.Attr;

/// <summary>
/// The arguments every attribution method takes: the forward arguments after the inputs and a progress receiver.
/// Every method's options record derives from this one, through the base that says what else it carries:
/// <see cref="TargetedAttributionOptions"/> (which output to explain), <see cref="BaselineAttributionOptions"/>
/// (and reference inputs), <see cref="PerturbationOptions"/>, <see cref="MaskedPerturbationOptions"/>, or, for the
/// neuron methods, <see cref="NeuronAttributionOptions"/> and <see cref="NeuronBaselineAttributionOptions"/>.
/// </summary>
/// <remarks>
/// What a wrapper such as <see cref="NoiseTunnel{TOptions}"/> must repeat per sample is declared by the capability
/// interfaces <see cref="ITargetOptions"/>, <see cref="IBaselineOptions"/> and <see cref="IFeatureMaskOptions"/>,
/// whose <c>With</c> members make the copy; a new options record that carries a target, baselines or a feature
/// mask gets them by deriving from the matching base or implementing the interface, and is then expanded without
/// any change to the wrapper.
/// </remarks>
public abstract record AttributionOptions
{
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

/// <summary>The arguments of methods that explain one output of the model, chosen per example by <see cref="Target"/>.</summary>
public abstract record TargetedAttributionOptions : AttributionOptions, ITargetOptions
{
    /// <summary>Which output to explain; none when the forward function returns one value per example. Python: <c>target</c>.</summary>
    public Target Target { get; init; }

    AttributionOptions ITargetOptions.WithTarget(Target target) => this with { Target = target };
}

/// <summary>The arguments of methods that explain an output by comparing the inputs with reference inputs (baselines).</summary>
public abstract record BaselineAttributionOptions : TargetedAttributionOptions, IBaselineOptions
{
    /// <summary>
    /// The baselines (reference inputs): none for zeros, a scalar, a tensor that broadcasts to the input,
    /// or one of those per input. Methods that take a baseline distribution (GradientShap, DeepLiftShap)
    /// document their own form. Python: <c>baselines</c>.
    /// </summary>
    public Baselines Baselines { get; init; }

    AttributionOptions IBaselineOptions.WithBaselines(Baselines baselines) => this with { Baselines = baselines };
}

/// <summary>
/// The arguments every neuron method takes: those of <see cref="AttributionOptions"/>, and where the neuron is read.
/// Neuron methods explain a neuron (given to their constructor), not an output, so they take no target (except
/// <see cref="NeuronConductanceOptions"/>, whose method also follows an output).
/// </summary>
public abstract record NeuronAttributionOptions : AttributionOptions
{
    /// <summary>Select the neuron from the layer's input instead of its output. Python: <c>attribute_to_neuron_input</c>.</summary>
    public bool AttributeToNeuronInput { get; init; }
}

/// <summary>The arguments of neuron methods that compare the inputs with reference inputs (baselines).</summary>
public abstract record NeuronBaselineAttributionOptions : NeuronAttributionOptions, IBaselineOptions
{
    /// <summary>
    /// The baselines (reference inputs): none for zeros, a scalar, a tensor that broadcasts to the input, or one
    /// of those per input; the methods that take a distribution (NeuronGradientShap, NeuronDeepLiftShap) document
    /// their own form. Python: <c>baselines</c>.
    /// </summary>
    public Baselines Baselines { get; init; }

    AttributionOptions IBaselineOptions.WithBaselines(Baselines baselines) => this with { Baselines = baselines };
}
