using Captum.Forward;
using Captum.Layers;
using Captum.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// Layer Gradient SHAP: Gradient SHAP's attributions to the output (or input) of one layer. For every sample a
/// reference is drawn from the baseline distribution, noise is added to the input, and the gradient with
/// respect to the layer is taken at a random point between them (interpolated in input space); it is multiplied
/// by (layer value on the noisy input - layer value on the reference) and averaged over the samples.
/// </summary>
/// <remarks>
/// <para>Python: <c>captum.attr.LayerGradientShap(forward_func, layer, multiply_by_inputs=True)</c>, which runs a
/// noise tunnel around <c>LayerInputBaselineXGradient</c>, as this port does.</para>
/// <para>
/// The baselines are in input space, a distribution as for <see cref="GradientShap"/>. The layer must be called
/// exactly once per forward pass, through <c>call</c>, with its tensors batch first; every hook is removed before
/// returning. The delta, when asked, is per sample ([n * Samples], by example then sample) and compares the sum of
/// the layer attributions with F(noisy input) - F(reference). Cost: one forward and backward pass and two forward
/// passes over n * Samples examples (two more for the delta).
/// </para>
/// </remarks>
public sealed class LayerGradientShap : ILayerAttributionMethod<LayerGradientShapOptions>
{
    private readonly ForwardFunction forward;
    private readonly LayerEvaluation evaluation;

    /// <summary>Creates the method for one layer of <paramref name="forwardFunc"/>.</summary>
    /// <param name="forwardFunc">The model or function to explain (built from a module, for layer paths).</param>
    /// <param name="layer">The layer (instance or dotted path).</param>
    /// <param name="multiplyByInputs">
    /// True (default) for gradients times the layer difference; false for the expected gradients alone. Python: <c>multiply_by_inputs</c>.
    /// </param>
    /// <exception cref="ArgumentException">The layer cannot be resolved.</exception>
    public LayerGradientShap(ForwardFunction forwardFunc, LayerReference layer, bool multiplyByInputs = true)
    {
        ArgumentNullException.ThrowIfNull(forwardFunc);
        TorchRuntime.EnsureAvailable();
        forward = forwardFunc;
        evaluation = LayerEvaluation.Create(forwardFunc, [layer], isList: false);
        MultipliesByInputs = multiplyByInputs;
    }

    /// <summary>The resolved layer.</summary>
    public nn.Module Layer => evaluation.Layers[0];

    IReadOnlyList<nn.Module> ILayerAttributionMethod<LayerGradientShapOptions>.Layers => [Layer];

    /// <summary>Whether attributions are multiplied by the layer difference. Python: <c>multiplies_by_inputs</c>.</summary>
    public bool MultipliesByInputs { get; }

    /// <summary>Whether the method can return a convergence delta (<c>ReturnConvergenceDelta</c>). Python: <c>has_convergence_delta()</c>.</summary>
    public bool HasConvergenceDelta => true;

    /// <summary>Attributes the explained output to the layer's output (or inputs).</summary>
    /// <param name="inputs">The model's inputs, batch first, floating point. They are not modified.</param>
    /// <param name="options">The baseline distribution (required, input space), samples, noise, seed, the layer side and the rest.</param>
    /// <param name="cancellationToken">Checked before the pass.</param>
    /// <returns>The layer's attribution tensors, of the layer value's shapes (and the delta when asked); the caller disposes it.</returns>
    /// <exception cref="ArgumentException">An argument does not fit, or the layer is not called exactly once; the message names it.</exception>
    public LayerAttributionResult Attribute(Inputs inputs, LayerGradientShapOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new LayerGradientShapOptions();
        options = options with { Baselines = options.Baselines.Resolve(inputs) };
        var tensors = inputs.Tensors;
        using var scope = torch.NewDisposeScope();
        var n = ArgumentPreparation.BatchSize(tensors);
        InputChecks.RequireFloatingPoint(tensors, nameof(LayerGradientShap));
        options.Target.ValidateCount(n);
        NoiseSampling.CheckSamples(options.Samples, null);
        var distribution = SampleExpansion.Distribution(tensors, options.Baselines, allowScalars: true, nameof(LayerGradientShap));
        var stdevs = options.Stdevs.For(tensors.Count);
        var additional = options.AdditionalForwardArgs ?? [];
        var onInput = options.AttributeToLayerInput;
        using var random = RandomDraws.Create(options.Seed, options.Generator);

        (IReadOnlyList<Tensor>, Tensor?) Samples(Tensor[] noisy, int samples)
        {
            var references = SampleExpansion.DrawReferences(noisy, distribution, options.Baselines, random);
            var expandedArgs = SampleExpansion.Interleave(additional, samples);
            var target = options.Target.RepeatInterleave(samples);
            // Tracked, so that a layer fed by the inputs directly still has a gradient.
            var points = UniformPathPoints.Draw(noisy, references, random).Select(p => p.requires_grad_(true)).ToArray();

            // Captum's LayerInputBaselineXGradient: the gradient at the point, the layer values at both ends.
            Tensor[] gradients;
            using (torch.enable_grad())
            {
                var (output, values) = evaluation.ForwardWithValues(ArgumentPreparation.Concat(points, expandedArgs), onInput);
                foreach (var v in values[0])
                {
                    InputChecks.RequireDifferentiable(v, Layer.GetType().Name, onInput);
                }

                gradients = Gradients.Of(target.Select(output), values[0]);
            }

            Tensor[] attributions = gradients;
            if (MultipliesByInputs)
            {
                var onReferences = evaluation.Capture(ArgumentPreparation.Concat(references, expandedArgs), onInput)[0];
                var onInputs = evaluation.Capture(ArgumentPreparation.Concat(noisy, expandedArgs), onInput)[0];
                attributions = gradients.Select((g, i) => (onInputs[i] - onReferences[i]) * g).ToArray();
            }

            var delta = options.ReturnConvergenceDelta
                ? ConvergenceDelta.Compute(forward, attributions, references, noisy, expandedArgs, target)
                : null;
            return (attributions, delta);
        }

        var (attributions, delta) = NoiseSampling.Run(
            tensors, n, NoiseTunnelType.SmoothGrad, options.Samples, null, stdevs, random, Samples, options.Progress, cancellationToken);
        return new LayerAttributionResult(
            [attributions.Select(a => a.MoveToOuterDisposeScope()).ToArray()],
            delta?.MoveToOuterDisposeScope());
    }
}

/// <summary>The arguments of <see cref="LayerGradientShap.Attribute"/>.</summary>
/// <remarks>Python: the keyword arguments of <c>LayerGradientShap.attribute</c>. The baselines are in input space.</remarks>
public sealed record LayerGradientShapOptions : BaselineAttributionOptions, ILayerAttributionOptions, IRandomSourceOptions
{
    /// <inheritdoc cref="GradientShapOptions.Samples"/>
    public int Samples { get; init; } = 5;

    /// <inheritdoc cref="GradientShapOptions.Stdevs"/>
    public NoiseStdevs Stdevs { get; init; } = 0.0;

    /// <inheritdoc cref="GradientShapOptions.ReturnConvergenceDelta"/>
    public bool ReturnConvergenceDelta { get; init; }

    /// <inheritdoc cref="GradientShapOptions.Seed"/>
    public long? Seed { get; init; }

    /// <inheritdoc cref="GradientShapOptions.Generator"/>
    public Generator? Generator { get; init; }

    /// <inheritdoc />
    AttributionOptions IRandomSourceOptions.WithGenerator(Generator generator) => this with { Seed = null, Generator = generator };

    /// <summary>Attribute to the layer's inputs instead of its outputs. Python: <c>attribute_to_layer_input</c>.</summary>
    public bool AttributeToLayerInput { get; init; }
}
