using Captum.Forward;
using Captum.Layers;
using Captum.Runtime;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// Layer Feature Ablation: Feature Ablation in the space of a layer's output (or input). The model runs on the real
/// inputs while each feature of the layer's value (each neuron, or each group of a layer mask) in turn is replaced by
/// its baseline, and the drop of the explained output, F(inputs) - F(inputs with the layer feature ablated), is
/// credited to the feature's neurons.
/// </summary>
/// <remarks>
/// <para>Python: <c>captum.attr.LayerFeatureAblation(forward_func, layer)</c>.</para>
/// <para>
/// The layer's value is read on the inputs in one forward pass; every later pass runs the model on the inputs with
/// the layer's value replaced by its ablated copies (several per pass with PerturbationsPerEval, the inputs and the
/// additional arguments repeated to match). A layer that produces several tensors gives one attribution per tensor;
/// each tensor's mask ids are its own features. The layer's tensors must have the batch as their first dimension,
/// and the layer must be called exactly once per forward pass, through <c>call</c>. Every hook is removed when the
/// call ends, also when it throws. Outputs as in <see cref="FeatureAblation"/>: one value per example gives
/// attributions of the layer's shapes; k values for the whole batch give first dimension k.
/// Cost: 2 + ceil(features / PerturbationsPerEval) forward passes, without gradients. With PerturbationsPerEval above 1 the
/// model before the layer runs on the n unperturbed rows only, where a check on the first shared pass (one pass more)
/// shows that gives the usual answer (beyond Captum).
/// </para>
/// </remarks>
public sealed class LayerFeatureAblation : ILayerAttributionMethod<LayerFeatureAblationOptions>
{
    private readonly LayerEvaluation evaluation;

    /// <summary>Creates the method for one layer.</summary>
    /// <param name="forwardFunc">The model or function to explain. Python: <c>forward_func</c>.</param>
    /// <param name="layer">The layer (instance or dotted path) whose output, or input, is ablated. Python: <c>layer</c>.</param>
    public LayerFeatureAblation(ForwardFunction forwardFunc, LayerReference layer)
    {
        ArgumentNullException.ThrowIfNull(forwardFunc);
        TorchRuntime.EnsureAvailable();
        evaluation = LayerEvaluation.Create(forwardFunc, [layer], false);
    }

    /// <summary>The resolved layer.</summary>
    public nn.Module Layer => evaluation.Layers[0];

    IReadOnlyList<nn.Module> ILayerAttributionMethod<LayerFeatureAblationOptions>.Layers => [Layer];

    /// <summary>False: there is no convergence delta. Python: <c>has_convergence_delta()</c>.</summary>
    public bool HasConvergenceDelta => false;

    /// <summary>Attributes the explained output to every neuron of the layer by ablating the layer's features.</summary>
    /// <param name="inputs">The model's inputs, batch first; integer token ids are allowed. Not modified.</param>
    /// <param name="options">Layer baselines, target, layer mask and the rest; Captum's defaults when null.</param>
    /// <param name="cancellationToken">Checked before every forward evaluation.</param>
    /// <returns>
    /// For the layer, one tensor per tensor it produces, of that tensor's shape (first dimension k when the forward
    /// function returns k values for the whole batch), in the output's floating type; the caller disposes the result.
    /// </returns>
    /// <exception cref="ArgumentException">An argument does not fit, or the layer is not called exactly once.</exception>
    public LayerAttributionResult Attribute(Inputs inputs, LayerFeatureAblationOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new LayerFeatureAblationOptions();
        var tensors = inputs.Tensors;
        using var scope = torch.NewDisposeScope();
        var n = ArgumentPreparation.BatchSize(tensors);
        PerturbationEvaluation.PerturbationsPerEval(options.PerturbationsPerEval);
        options.Target.ValidateCount(n);
        var onInput = options.AttributeToLayerInput;
        var original = ArgumentPreparation.Concat(tensors, options.AdditionalForwardArgs ?? []);

        cancellationToken.ThrowIfCancellationRequested();
        var values = evaluation.Capture(original, onInput)[0];
        for (var j = 0; j < values.Length; j++)
        {
            if (values[j].dim() == 0 || values[j].shape[0] != n)
            {
                throw new ArgumentException(
                    $"layer: its {(onInput ? "input" : "output")} tensor {j} has shape {Shapes.Format(values[j].shape)}, but Layer Feature Ablation needs the batch ({n} examples) as the first dimension of the layer's tensors.",
                    "layer");
            }
        }

        var baselines = LayerArguments.Renamed(() => PerturbationEvaluation.Baselines(values, options.LayerBaselines), "baselines", "LayerBaselines", "layer_baselines");
        var mask = LayerArguments.Renamed(() => ResolvedFeatureMask.Resolve(values, options.LayerMask, n), "FeatureMask", "LayerMask", "layer_mask");

        // The layer's tensors are the ablated "inputs"; the model's own arguments follow them and are repeated with them.
        var count = values.Length;
        bool? prefixOnce = null;
        var layerForward = ForwardFunction.FromDelegate(args =>
        {
            var replaced = args[..count].Cast<Tensor>().ToArray();
            var rows = replaced[0].shape[0];
            if (rows > n)
            {
                // Several perturbations share this pass: the model before the layer sees only the unperturbed inputs,
                // so it runs once on their n rows where the model allows it, checked once against the usual pass.
                if (prefixOnce is null)
                {
                    // The check runs the usual pass too: its output is this pass's answer either way.
                    var (matches, usual) = evaluation.CompareReplacingOnce(original, args[count..], onInput, [replaced], rows);
                    prefixOnce = matches;
                    if (usual is not null)
                    {
                        return usual;
                    }
                }
                else if (prefixOnce == true && evaluation.TryForwardReplacingOnceWithoutGradients(original, onInput, [replaced], rows) is { } once)
                {
                    return once;
                }
            }

            return evaluation.ForwardReplacing(args[count..], onInput, [replaced]);
        });

        using var noGrad = torch.no_grad();
        var outcome = AblationEngine.Run(
            layerForward,
            values,
            baselines,
            original,
            options.Target,
            new MaskedFeatures(mask, count, crossTensor: false),
            options.PerturbationsPerEval,
            null,
            useWeights: false,
            options.Progress,
            cancellationToken);
        return new LayerAttributionResult(LayerAttribution.MoveOut([outcome.Attributions]), null)
        {
            PerturbationsPerEval = outcome.PerturbationsPerEval,
        };
    }
}

/// <summary>The arguments of <see cref="LayerFeatureAblation.Attribute"/>, with Captum's defaults.</summary>
/// <remarks>
/// Python: the keyword arguments of <c>LayerFeatureAblation.attribute</c>. <c>Progress</c> counts the forward
/// evaluations of the ablation: the unablated pass, then one per group of PerturbationsPerEval features.
/// </remarks>
public sealed record LayerFeatureAblationOptions : TargetedAttributionOptions, ILayerAttributionOptions
{
    /// <summary>
    /// The values that replace ablated neurons, in the layer's space: none for zeros, a scalar, a tensor that
    /// broadcasts to the layer's tensor, or one of those per layer tensor. Python: <c>layer_baselines</c>.
    /// </summary>
    public Baselines LayerBaselines { get; init; }

    /// <summary>
    /// Groups the layer's neurons into features ablated together: one integer tensor per layer tensor, of its shape
    /// or broadcastable to it; none makes every neuron a feature. Python: <c>layer_mask</c>.
    /// </summary>
    public FeatureMask LayerMask { get; init; }

    /// <summary>Ablate the layer's inputs instead of its outputs. Python: <c>attribute_to_layer_input</c>.</summary>
    public bool AttributeToLayerInput { get; init; }

    /// <summary>
    /// How many ablations go into one forward pass (each pass holds at most this many times the batch); 1 by
    /// default. It does not change the result. Must be 1 when the forward function returns one value for the whole
    /// batch. Python: <c>perturbations_per_eval</c>.
    /// </summary>
    public int PerturbationsPerEval { get; init; } = 1;
}
