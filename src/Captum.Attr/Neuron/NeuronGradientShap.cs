using Captum.Forward;
using Captum.Layers;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// Neuron Gradient SHAP: <see cref="GradientShap"/> of one neuron of a layer instead of the model's output. For every
/// sample a reference is drawn from the baseline distribution, Gaussian noise is added to the input, and the gradient
/// of the neuron at a random point between them is multiplied by (noisy input - reference) and averaged over the
/// samples. In expectation the attributions sum to E[neuron(input)] - E[neuron(reference)].
/// </summary>
/// <remarks>
/// <para>
/// Python: <c>captum.attr.NeuronGradientShap(forward_func, layer, multiply_by_inputs=True)</c>, attributed with
/// <c>attribute(inputs, neuron_selector, baselines, ...)</c>; here the neuron selector is given to the constructor, so
/// one object explains one neuron. As in Captum, it is Gradient SHAP with the neuron's gradient in place of the
/// output's: the samples, the references and the random points are drawn exactly as by <see cref="GradientShap"/>, so
/// the same seed gives the attributions GradientShap gives for a forward function that returns the neuron.
/// </para>
/// <para>
/// The baselines are required, a distribution as for <see cref="GradientShap"/>. Draws come from <c>Seed</c> or
/// <c>Generator</c> when given (both is an <see cref="ArgumentException"/>), else from TorchSharp's default generator.
/// Inputs must be floating point. The layer must be called exactly once per forward pass, through <c>call</c>. Cost: one
/// forward and one backward pass over n * Samples examples.
/// </para>
/// </remarks>
public sealed class NeuronGradientShap : INeuronAttributionMethod<NeuronGradientShapOptions>
{
    private readonly ForwardFunction forward;
    private readonly NeuronOutput neuron;

    /// <summary>Creates the method for one neuron.</summary>
    /// <param name="forwardFunc">The model or function that computes the layer.</param>
    /// <param name="layer">The layer (instance or dotted path).</param>
    /// <param name="neuronSelector">The neuron: an index into the layer's tensor without the batch dimension, or a function. Python: <c>neuron_selector</c>.</param>
    /// <param name="multiplyByInputs">
    /// True (default) for gradients multiplied by (noisy input - reference); false for the expected gradients alone.
    /// Python: <c>multiply_by_inputs</c>.
    /// </param>
    /// <exception cref="ArgumentException">The layer cannot be resolved, or the selector is empty.</exception>
    public NeuronGradientShap(ForwardFunction forwardFunc, LayerReference layer, NeuronSelector neuronSelector, bool multiplyByInputs = true)
    {
        neuron = new NeuronOutput(forwardFunc, layer, neuronSelector);
        forward = forwardFunc;
        MultipliesByInputs = multiplyByInputs;
    }

    /// <summary>The resolved layer.</summary>
    public nn.Module Layer => neuron.Layer;

    /// <summary>The explained neuron.</summary>
    public NeuronSelector NeuronSelector => neuron.Selector;

    /// <summary>False: neuron methods return no convergence delta, as in Captum. Python: <c>has_convergence_delta()</c>.</summary>
    public bool HasConvergenceDelta => false;

    /// <summary>Whether attributions are multiplied by (noisy input - reference). Python: <c>multiplies_by_inputs</c>.</summary>
    public bool MultipliesByInputs { get; }

    /// <summary>Attributes the neuron to every input element.</summary>
    /// <param name="inputs">The model's inputs, batch first, floating point. Not modified.</param>
    /// <param name="options">The baseline distribution (required), samples, noise, seed and the rest.</param>
    /// <param name="cancellationToken">Checked before the pass.</param>
    /// <returns>One tensor per input, of its shape; the caller disposes the result.</returns>
    /// <exception cref="ArgumentException">An argument does not fit (e.g. the neuron index is out of range for the layer); the message names it.</exception>
    public AttributionResult Attribute(Inputs inputs, NeuronGradientShapOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new NeuronGradientShapOptions();
        options = options with { Baselines = options.Baselines.Resolve(inputs) };
        var onInput = options.AttributeToNeuronInput;
        return new GradientShap(forward, MultipliesByInputs, (points, additional, _) => neuron.Gradients(points, additional, onInput), nameof(NeuronGradientShap)).Attribute(inputs, new GradientShapOptions
        {
            Baselines = options.Baselines,
            AdditionalForwardArgs = options.AdditionalForwardArgs,
            Samples = options.Samples,
            Stdevs = options.Stdevs,
            Seed = options.Seed,
            Generator = options.Generator,
            Progress = options.Progress,
        }, cancellationToken);
    }
}

/// <summary>The arguments of <see cref="NeuronGradientShap.Attribute"/>, with Captum's defaults.</summary>
/// <remarks>
/// Python: the keyword arguments of <c>NeuronGradientShap.attribute</c> (the neuron selector is given to the
/// constructor). <c>Baselines</c> is required and is a distribution: per input a tensor of reference examples shaped
/// like the input after the first dimension (any number of them), or a scalar.
/// </remarks>
public sealed record NeuronGradientShapOptions : NeuronBaselineAttributionOptions, IRandomSourceOptions
{
    /// <summary>Random samples per example (5 by default). Python: <c>n_samples</c>.</summary>
    public int Samples { get; init; } = 5;

    /// <summary>
    /// Standard deviation of the Gaussian noise added to the inputs of every sample, one for all inputs or one per input
    /// (0 by default: no noise). Python: <c>stdevs</c>.
    /// </summary>
    public NoiseStdevs Stdevs { get; init; } = 0.0;

    /// <summary>
    /// Seeds a private CPU generator for every random draw of the call (the noise, the references and the interpolation
    /// points): the same seed gives the same result on every call and device. With neither this nor
    /// <see cref="Generator"/>, draws come from TorchSharp's default generator. Giving both throws an
    /// <see cref="ArgumentException"/>. Beyond Captum.
    /// </summary>
    public long? Seed { get; init; }

    /// <summary>
    /// The caller's generator, to draw every random number of the call from instead; each call advances it. Not together
    /// with <see cref="Seed"/>. Beyond Captum.
    /// </summary>
    public Generator? Generator { get; init; }

    /// <inheritdoc />
    AttributionOptions IRandomSourceOptions.WithGenerator(Generator generator) => this with { Seed = null, Generator = generator };
}
