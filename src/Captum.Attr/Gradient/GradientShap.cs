using Captum.Forward;
using Captum.Runtime;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// Gradient SHAP (Lundberg and Lee, 2017): the expected gradient at random points between the inputs and
/// references drawn from a baseline distribution, times (input - reference). For every example it draws
/// <c>Samples</c> references at random, adds Gaussian noise to the input, picks a point uniformly on the straight
/// line from the reference to the noisy input, and averages gradient * (noisy input - reference) over the
/// samples. In expectation the attributions sum to E[F(input)] - E[F(reference)].
/// </summary>
/// <remarks>
/// <para>Python: <c>captum.attr.GradientShap(forward_func, multiply_by_inputs=True)</c>; Captum runs it as a
/// noise tunnel (SmoothGrad, drawing baselines from the distribution) around <c>InputBaselineXGradient</c>, and so
/// does this port.</para>
/// <para>
/// The baselines are required: per input a tensor of reference examples shaped like the input after the first
/// dimension (references are drawn independently per input, as in Captum), or a scalar. Draws come from
/// <c>Seed</c> or <c>Generator</c> when given, so that runs repeat exactly. The delta, when asked, is per sample:
/// [n * Samples], ordered by example then sample. Cost: one forward and backward pass over n * Samples examples,
/// plus two forward passes for the delta, on the inputs' device.
/// </para>
/// </remarks>
public sealed class GradientShap : IAttributionMethod<GradientShapOptions>
{
    private readonly ForwardFunction forward;
    private readonly PointGradient gradient;
    private readonly string name;

    /// <summary>Creates the method for <paramref name="forwardFunc"/>.</summary>
    /// <param name="forwardFunc">The model or function to explain.</param>
    /// <param name="multiplyByInputs">
    /// True (default) for gradients multiplied by (input - reference); false for the expected gradients alone.
    /// Python: <c>multiply_by_inputs</c>.
    /// </param>
    public GradientShap(ForwardFunction forwardFunc, bool multiplyByInputs = true)
        : this(forwardFunc, multiplyByInputs, null, nameof(GradientShap))
    {
    }

    /// <summary>
    /// Gradient SHAP of what <paramref name="gradient"/> differentiates instead of the model's target output (Captum's
    /// replaced <c>gradient_func</c>); <paramref name="name"/> is the method errors name.
    /// </summary>
    internal GradientShap(ForwardFunction forwardFunc, bool multiplyByInputs, PointGradient? gradient, string name)
    {
        ArgumentNullException.ThrowIfNull(forwardFunc);
        TorchRuntime.EnsureAvailable();
        forward = forwardFunc;
        MultipliesByInputs = multiplyByInputs;
        this.gradient = gradient ?? ((points, additional, target) => Gradients.Compute(forward, Gradients.Leaves(points), additional, target));
        this.name = name;
    }

    /// <summary>Whether attributions are multiplied by (input - reference). Python: <c>multiplies_by_inputs</c>.</summary>
    public bool MultipliesByInputs { get; }

    /// <summary>True: the delta is reported per sample. Python: <c>has_convergence_delta()</c>.</summary>
    public bool HasConvergenceDelta => true;

    /// <summary>Attributes the explained output to every element of every input.</summary>
    /// <param name="inputs">One tensor or several, batch first, floating point. They are not modified.</param>
    /// <param name="options">The baseline distribution (required), samples, noise, seed and the rest.</param>
    /// <param name="cancellationToken">Checked before the pass.</param>
    /// <returns>One attribution per input, of its shape (and the delta, [n * Samples], when asked); the caller disposes it.</returns>
    /// <exception cref="ArgumentException">An argument does not fit; the message names it.</exception>
    public AttributionResult Attribute(Inputs inputs, GradientShapOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new GradientShapOptions();
        options = options with { Baselines = options.Baselines.Resolve(inputs) };
        var tensors = inputs.Tensors;
        using var scope = torch.NewDisposeScope();
        var n = ArgumentPreparation.BatchSize(tensors);
        InputChecks.RequireFloatingPoint(tensors, name);
        options.Target.ValidateCount(n);
        NoiseSampling.CheckSamples(options.Samples, null);
        var distribution = SampleExpansion.Distribution(tensors, options.Baselines, allowScalars: true, name);
        var stdevs = options.Stdevs.For(tensors.Count);
        var additional = options.AdditionalForwardArgs ?? [];
        using var random = RandomDraws.Create(options.Seed, options.Generator);

        (IReadOnlyList<Tensor>, Tensor?) Samples(Tensor[] noisy, int samples)
        {
            var references = SampleExpansion.DrawReferences(noisy, distribution, options.Baselines, random);
            return InputBaselineXGradient(
                forward, gradient, noisy, references, SampleExpansion.Interleave(additional, samples), options.Target.RepeatInterleave(samples), MultipliesByInputs, options.ReturnConvergenceDelta, random);
        }

        var (attributions, delta) = NoiseSampling.Run(
            tensors, n, NoiseTunnelType.SmoothGrad, options.Samples, null, stdevs, random, Samples, options.Progress, cancellationToken);
        return new AttributionResult(attributions.Select(a => a.MoveToOuterDisposeScope()).ToArray(), delta?.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// Captum's <c>InputBaselineXGradient</c>: the gradient at a point drawn uniformly between each reference and
    /// input (one coefficient per row, shared by all inputs), times (input - reference) when multiplying by inputs;
    /// the delta per row when asked.
    /// </summary>
    private static (IReadOnlyList<Tensor>, Tensor?) InputBaselineXGradient(
        ForwardFunction forward,
        PointGradient gradient,
        IReadOnlyList<Tensor> inputs,
        IReadOnlyList<Tensor> references,
        IReadOnlyList<object?> additional,
        Target target,
        bool multiplyByInputs,
        bool returnDelta,
        RandomDraws random)
    {
        var points = UniformPathPoints.Draw(inputs, references, random);
        var gradients = gradient(points, additional, target);
        var attributions = multiplyByInputs
            ? gradients.Select((g, i) => (inputs[i] - references[i]) * g).ToArray()
            : gradients;
        var delta = returnDelta ? ConvergenceDelta.Compute(forward, attributions, references, inputs, additional, target) : null;
        return (attributions, delta);
    }
}

/// <summary>
/// The gradients Gradient SHAP takes at its random points (batch first, the samples of every example in a row), with
/// the additional arguments and target expanded for them: of the model's target output, or of a neuron for
/// NeuronGradientShap. The points are the caller's to read; the function differentiates detached copies.
/// </summary>
internal delegate Tensor[] PointGradient(IReadOnlyList<Tensor> points, IReadOnlyList<object?> additional, Target target);

/// <summary>The arguments of <see cref="GradientShap.Attribute"/>, with Captum's defaults.</summary>
/// <remarks>
/// Python: the keyword arguments of <c>GradientShap.attribute</c>. <c>Baselines</c> is required and is a
/// distribution: per input a tensor of reference examples shaped like the input after the first dimension
/// (any number of them), or a scalar.
/// </remarks>
public sealed record GradientShapOptions : BaselineAttributionOptions, IRandomSourceOptions
{
    /// <summary>Random samples per example (5 by default). Python: <c>n_samples</c>.</summary>
    public int Samples { get; init; } = 5;

    /// <summary>
    /// Standard deviation of the Gaussian noise added to the inputs of every sample, one for all inputs or one
    /// per input (0 by default: no noise). Python: <c>stdevs</c>.
    /// </summary>
    public NoiseStdevs Stdevs { get; init; } = 0.0;

    /// <summary>
    /// Also compute the convergence delta of every sample, [n * Samples] ordered by example then sample.
    /// Python: <c>return_convergence_delta</c>.
    /// </summary>
    public bool ReturnConvergenceDelta { get; init; }

    /// <summary>
    /// Seeds a private CPU generator for every random draw of the call (the noise, the references and the
    /// interpolation points): the same seed gives the same result on every call and device. With neither this nor
    /// <see cref="Generator"/>, draws come from TorchSharp's default generator (repeatable after
    /// <c>torch.manual_seed</c>, as Captum's are after PyTorch's and NumPy's seeds). Giving both throws an
    /// <see cref="ArgumentException"/>. Beyond Captum.
    /// </summary>
    public long? Seed { get; init; }

    /// <summary>
    /// The caller's generator, to draw every random number of the call from instead; each call advances it, so
    /// successive calls differ (a CPU generator seeded with s gives on its first call what <see cref="Seed"/> = s
    /// gives). Not together with <see cref="Seed"/>. Beyond Captum.
    /// </summary>
    public Generator? Generator { get; init; }

    /// <inheritdoc />
    AttributionOptions IRandomSourceOptions.WithGenerator(Generator generator) => this with { Seed = null, Generator = generator };
}
