using Captum.Forward;
using Captum.Layers;
using Captum.Runtime;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// Feature Permutation of a layer's neurons: the model runs on its real inputs while groups of the layer's values are
/// shuffled across the batch, and each group is credited with the change of the explained output.
/// </summary>
/// <remarks>
/// Python: <c>captum.attr.LayerFeaturePermutation(forward_func, layer)</c>, FeaturePermutation over the layer's output
/// in place of the inputs. As FeaturePermutation, it needs a batch of at least two examples and one mask for all of them.
/// The model runs without gradients; the caller's tensors are not modified.
/// </remarks>
public sealed class LayerFeaturePermutation : ILayerAttributionMethod<LayerFeaturePermutationOptions>
{
    private readonly LayerEvaluation evaluation;
    private readonly PermutationFunction? permFunc;

    /// <summary>Creates the method for <paramref name="layer"/> of <paramref name="forwardFunc"/>.</summary>
    /// <param name="forwardFunc">The model or function to explain.</param>
    /// <param name="layer">The layer (module or dotted path) whose output is permuted.</param>
    /// <param name="permFunc">Permutes one feature of the layer's batch; a random permutation of the examples when null. Python: <c>perm_func</c> of FeaturePermutation.</param>
    public LayerFeaturePermutation(ForwardFunction forwardFunc, LayerReference layer, PermutationFunction? permFunc = null)
    {
        ArgumentNullException.ThrowIfNull(forwardFunc);
        TorchRuntime.EnsureAvailable();
        evaluation = LayerEvaluation.Create(forwardFunc, [layer], false);
        this.permFunc = permFunc;
    }

    /// <summary>The attributed layer.</summary>
    public nn.Module Layer => evaluation.Layers[0];

    IReadOnlyList<nn.Module> ILayerAttributionMethod<LayerFeaturePermutationOptions>.Layers => [Layer];

    /// <summary>False: no convergence delta. Python: <c>has_convergence_delta()</c>.</summary>
    public bool HasConvergenceDelta => false;

    /// <summary>Attributes the explained output to the layer's output, group by group.</summary>
    /// <param name="inputs">The model's inputs, batch first, at least two examples. They are not modified.</param>
    /// <param name="options">Target, additional arguments, <c>LayerMask</c>, <c>PerturbationsPerEval</c> and the seed; Captum's defaults when null.</param>
    /// <param name="cancellationToken">Checked between forward passes.</param>
    /// <returns>One attribution per tensor the layer produced, of its shape; the caller disposes it.</returns>
    /// <exception cref="ArgumentException">An argument does not fit; the message names it (LayerMask for the mask).</exception>
    public LayerAttributionResult Attribute(Inputs inputs, LayerFeaturePermutationOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new LayerFeaturePermutationOptions();
        var tensors = inputs.Tensors;
        using var scope = torch.NewDisposeScope();
        var n = ArgumentPreparation.BatchSize(tensors);
        PerturbationEvaluation.PerturbationsPerEval(options.PerturbationsPerEval);
        options.Target.ValidateCount(n);
        var original = ArgumentPreparation.Concat(tensors, options.AdditionalForwardArgs ?? []);

        cancellationToken.ThrowIfCancellationRequested();
        Tensor[] values;
        using (torch.no_grad())
        {
            values = evaluation.Capture(original, onInput: false)[0];
        }

        if (values.Any(v => v.dim() == 0 || v.shape[0] != n))
        {
            throw new ArgumentException(
                $"layer: its output tensors have shapes {string.Join(", ", values.Select(v => Shapes.Format(v.shape)))}, but Layer Feature Permutation needs the batch ({n} examples) as their first dimension.",
                "layer");
        }

        // The layer's tensors are the permuted "inputs"; the model's own arguments follow them and are repeated with them.
        var count = values.Length;
        var layerForward = ForwardFunction.FromDelegate(args =>
            evaluation.ForwardReplacing(args[count..], onInput: false, [args[..count].Cast<Tensor>().ToArray()]));
        var result = LayerArguments.Renamed(
            () => new FeaturePermutation(layerForward, permFunc).Attribute(values, new FeaturePermutationOptions
            {
                Target = options.Target,
                AdditionalForwardArgs = original,
                FeatureMask = options.LayerMask,
                PerturbationsPerEval = options.PerturbationsPerEval,
                Seed = options.Seed,
                Generator = options.Generator,
                Progress = options.Progress,
            }, cancellationToken),
            "FeatureMask",
            "LayerMask",
            "layer_mask");
        using (result)
        {
            return new LayerAttributionResult(LayerAttribution.MoveOut([result.Attributions.Select(a => a.alias()).ToArray()]), null);
        }
    }
}

/// <summary>The arguments of <see cref="LayerFeaturePermutation.Attribute"/>, with Captum's defaults.</summary>
/// <remarks>Python: the keyword arguments of <c>LayerFeaturePermutation.attribute</c>.</remarks>
public sealed record LayerFeaturePermutationOptions : TargetedAttributionOptions, ILayerAttributionOptions, IRandomSourceOptions
{
    /// <summary>
    /// Groups the layer's output elements into features permuted together; none makes every neuron a feature. Its
    /// first dimension must be 1. Python: <c>layer_mask</c>.
    /// </summary>
    public FeatureMask LayerMask { get; init; }

    /// <summary>How many permuted features go into one forward pass; 1 by default. Python: <c>perturbations_per_eval</c>.</summary>
    public int PerturbationsPerEval { get; init; } = 1;

    /// <summary>Always false: Captum's LayerFeaturePermutation permutes the layer's output (Python: it has no <c>attribute_to_layer_input</c>).</summary>
    public bool AttributeToLayerInput
    {
        get => false;
        init
        {
            if (value)
            {
                throw new ArgumentException("AttributeToLayerInput: LayerFeaturePermutation permutes the layer's output only, as Captum's.", nameof(AttributeToLayerInput));
            }
        }
    }

    /// <inheritdoc cref="FeaturePermutationOptions.Seed"/>
    public long? Seed { get; init; }

    /// <inheritdoc cref="FeaturePermutationOptions.Generator"/>
    public Generator? Generator { get; init; }

    /// <inheritdoc />
    AttributionOptions IRandomSourceOptions.WithGenerator(Generator generator) => this with { Seed = null, Generator = generator };
}
