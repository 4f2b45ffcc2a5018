using Captum.Forward;
using Captum.Layers;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// Neuron Feature Ablation: Feature Ablation of one neuron of a layer instead of the model's output. Each input
/// feature (each scalar, or each group of a feature mask) in turn is replaced by its baseline, and the drop of the
/// neuron's value, neuron(inputs) - neuron(inputs with the feature ablated), is credited to the feature's elements.
/// </summary>
/// <remarks>
/// <para>
/// Python: <c>captum.attr.NeuronFeatureAblation(forward_func, layer)</c>, attributed with
/// <c>attribute(inputs, neuron_selector, ...)</c>; here the neuron selector is given to the constructor, so one object
/// explains one neuron. There is no target: the neuron is the explained value, one per example.
/// </para>
/// <para>
/// Each input's mask ids are that input's own features, as in Captum. Inputs may hold integers (token ids). The
/// layer must be called exactly once per forward pass, through <c>call</c>; the first pass runs the whole model (and
/// checks that), the ablation passes stop as soon as the layer has run. Every hook is removed when the call ends,
/// also when it throws. Cost: 1 + ceil(features / PerturbationsPerEval) forward passes, without gradients.
/// </para>
/// </remarks>
public sealed class NeuronFeatureAblation : INeuronAttributionMethod<NeuronFeatureAblationOptions>
{
    private readonly NeuronOutput neuron;

    /// <summary>Creates the method for one neuron.</summary>
    /// <param name="forwardFunc">The model or function that computes the layer. Python: <c>forward_func</c>.</param>
    /// <param name="layer">The layer (instance or dotted path). Python: <c>layer</c>.</param>
    /// <param name="neuronSelector">The neuron: an index into the layer's tensor without the batch dimension, or a function. Python: <c>neuron_selector</c>.</param>
    public NeuronFeatureAblation(ForwardFunction forwardFunc, LayerReference layer, NeuronSelector neuronSelector)
    {
        neuron = new NeuronOutput(forwardFunc, layer, neuronSelector);
    }

    /// <summary>The resolved layer.</summary>
    public nn.Module Layer => neuron.Layer;

    /// <summary>The explained neuron.</summary>
    public NeuronSelector NeuronSelector => neuron.Selector;

    /// <summary>False: neuron methods return no convergence delta, as in Captum. Python: <c>has_convergence_delta()</c>.</summary>
    public bool HasConvergenceDelta => false;

    /// <summary>Attributes the neuron's value to every element of every input by ablating features.</summary>
    /// <param name="inputs">The model's inputs, batch first; floating point or integer. Not modified.</param>
    /// <param name="options">Baselines, feature mask and the rest; Captum's defaults when null.</param>
    /// <param name="cancellationToken">Checked before every forward evaluation.</param>
    /// <returns>One tensor per input, of its shape, in the neuron's floating type; the caller disposes the result.</returns>
    /// <exception cref="ArgumentException">An argument does not fit (e.g. the neuron index is out of range for the layer).</exception>
    public AttributionResult Attribute(Inputs inputs, NeuronFeatureAblationOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new NeuronFeatureAblationOptions();
        var tensors = inputs.Tensors;
        using var scope = torch.NewDisposeScope();
        var n = ArgumentPreparation.BatchSize(tensors);
        PerturbationEvaluation.PerturbationsPerEval(options.PerturbationsPerEval);
        var baselines = PerturbationEvaluation.Baselines(tensors, options.Baselines);
        var mask = ResolvedFeatureMask.Resolve(tensors, options.FeatureMask, n);

        // The neuron as a forward function: the first pass runs the whole model, which checks that the layer is
        // called exactly once; the ablation passes stop once the layer has produced its value.
        var onInput = options.AttributeToNeuronInput;
        var checkedOnce = false;
        var neuronForward = ForwardFunction.FromDelegate(args =>
        {
            var values = checkedOnce ? neuron.Evaluation.CaptureUntilComplete(args, onInput) : neuron.Evaluation.Capture(args, onInput);
            checkedOnce = true;
            return neuron.Select(values[0]);
        });

        using var noGrad = torch.no_grad();
        var outcome = AblationEngine.Run(
            neuronForward,
            tensors,
            baselines,
            options.AdditionalForwardArgs ?? [],
            default,
            new MaskedFeatures(mask, tensors.Count, crossTensor: false),
            options.PerturbationsPerEval,
            null,
            useWeights: false,
            options.Progress,
            cancellationToken);
        return new AttributionResult(outcome.Attributions.Select(a => a.MoveToOuterDisposeScope()).ToArray(), null)
        {
            PerturbationsPerEval = outcome.PerturbationsPerEval,
        };
    }
}

/// <summary>The arguments of <see cref="NeuronFeatureAblation.Attribute"/>, with Captum's defaults.</summary>
/// <remarks>Python: the keyword arguments of <c>NeuronFeatureAblation.attribute</c> (the neuron selector is given to the constructor).</remarks>
public sealed record NeuronFeatureAblationOptions : NeuronBaselineAttributionOptions, IFeatureMaskOptions
{
    /// <summary>
    /// Groups elements into features ablated together (each input's ids are its own features); none makes every
    /// scalar a feature. Python: <c>feature_mask</c>.
    /// </summary>
    public FeatureMask FeatureMask { get; init; }

    /// <summary>
    /// How many ablations go into one forward pass (each pass holds at most this many times the batch); 1 by
    /// default. It does not change the result. Python: <c>perturbations_per_eval</c>.
    /// </summary>
    public int PerturbationsPerEval { get; init; } = 1;

    AttributionOptions IFeatureMaskOptions.WithFeatureMask(FeatureMask featureMask) => this with { FeatureMask = featureMask };
}
