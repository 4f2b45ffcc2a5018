using System.Globalization;
using Captum.Attr;
using Captum.Runtime;
using static TorchSharp.torch;

namespace Captum.Metrics;

/// <summary>
/// Perturbs a batch for <see cref="SensitivityMax"/>: given the inputs (every example repeated once per sample, in
/// a row), returns perturbed inputs of the same shapes.
/// </summary>
/// <param name="inputs">The inputs, [n * samples, ...] each, example-major.</param>
/// <param name="perturbRadius">The radius of the neighbourhood to sample from. Python: <c>perturb_radius</c>.</param>
/// <param name="generator">
/// The generator every random draw must use, so that a seeded run repeats exactly: the call's private seeded one, the
/// caller's <c>Generator</c>, or TorchSharp's default one (see the options' <c>Seed</c>). Draw on its device (the CPU
/// unless the caller's generator lives elsewhere) and move the draws to the inputs' device.
/// </param>
/// <returns>The perturbed inputs, one per input.</returns>
/// <remarks>Python: <c>perturb_func</c> of <c>sensitivity_max</c>.</remarks>
public delegate IReadOnlyList<Tensor> SensitivityPerturbFunction(IReadOnlyList<Tensor> inputs, double perturbRadius, Generator generator);

/// <summary>
/// The norm <see cref="SensitivityMax"/> measures explanation changes with: Frobenius (the default, the 2-norm of the
/// flattened explanation) or any vector p-norm (1, 2, <see cref="double.PositiveInfinity"/>, ...). Converts implicitly
/// from a <c>double</c> p.
/// </summary>
/// <remarks>Python: <c>norm_ord</c> ('fro', or a number, inf or -inf).</remarks>
public readonly record struct NormOrder
{
    private NormOrder(double p, bool isFrobenius)
    {
        P = p;
        IsFrobenius = isFrobenius;
    }

    /// <summary>The Frobenius norm (Captum's default 'fro'): the 2-norm of the flattened explanation.</summary>
    public static NormOrder Frobenius => new(2, true);

    /// <summary>The p of the norm (2 for Frobenius).</summary>
    public double P { get; }

    /// <summary>True for the Frobenius norm.</summary>
    public bool IsFrobenius { get; }

    /// <summary>The vector p-norm.</summary>
    public static implicit operator NormOrder(double p) => FromP(p);

    /// <summary>The vector p-norm.</summary>
    public static NormOrder FromP(double p) =>
        double.IsNaN(p) ? throw new ArgumentException("the norm order must be a number, not NaN.", nameof(p)) : new NormOrder(p, false);

    /// <inheritdoc />
    public override string ToString() => IsFrobenius ? "fro" : P.ToString(CultureInfo.InvariantCulture);
}

/// <summary>The arguments of <see cref="SensitivityMax.Compute"/>, with Captum's defaults.</summary>
/// <remarks>
/// Python: the keyword arguments of <c>captum.metrics.sensitivity_max</c>; <c>**kwargs</c> for the explanation function
/// are <see cref="Baselines"/>, <see cref="Target"/> and <see cref="AdditionalForwardArgs"/>, which are expanded for
/// every perturbed batch; anything else belongs in the explanation function itself.
/// </remarks>
public sealed record SensitivityMaxOptions
{
    /// <summary>The perturbation; uniform noise in the L-infinity ball by default (<see cref="SensitivityMax.UniformNoise"/>). Python: <c>perturb_func</c>.</summary>
    public SensitivityPerturbFunction? PerturbFunc { get; init; }

    /// <summary>The radius handed to the perturbation; 0.02 by default. Python: <c>perturb_radius</c>.</summary>
    public double PerturbRadius { get; init; } = 0.02;

    /// <summary>How many perturbations of every example are drawn; 10 by default. Python: <c>n_perturb_samples</c>.</summary>
    public int PerturbSamples { get; init; } = 10;

    /// <summary>The norm of explanation changes; Frobenius by default. Python: <c>norm_ord</c>.</summary>
    public NormOrder NormOrder { get; init; } = NormOrder.Frobenius;

    /// <summary>
    /// At most this many perturbed examples (batch times samples) per call of the explanation function, at least one
    /// sample of every example; null explains them all at once. Python: <c>max_examples_per_batch</c>.
    /// </summary>
    public int? MaxExamplesPerBatch { get; init; }

    /// <summary>Baselines for the explanation function, expanded for the perturbed batches. Python: <c>baselines</c> in <c>**kwargs</c>.</summary>
    public Baselines Baselines { get; init; }

    /// <summary>The target for the explanation function, expanded for the perturbed batches. Python: <c>target</c> in <c>**kwargs</c>.</summary>
    public Target Target { get; init; }

    /// <summary>Additional forward arguments for the explanation function, expanded for the perturbed batches. Python: <c>additional_forward_args</c> in <c>**kwargs</c>.</summary>
    public IReadOnlyList<object?>? AdditionalForwardArgs { get; init; }

    /// <summary>
    /// Seeds a private CPU generator for every random draw of the call (the perturbation function is handed it): the
    /// same seed gives the same result on every call and device. With neither this nor <see cref="Generator"/>, draws
    /// come from TorchSharp's default generator (repeatable after <c>torch.manual_seed</c>, as Captum's are after
    /// PyTorch's seed). Giving both throws an <see cref="ArgumentException"/>. Beyond Captum.
    /// </summary>
    public long? Seed { get; init; }

    /// <summary>
    /// The caller's generator, handed to the perturbation function instead; each call advances it, so successive calls
    /// differ (a CPU generator seeded with s gives on its first call what <see cref="Seed"/> = s gives). Not together
    /// with <see cref="Seed"/>. Beyond Captum.
    /// </summary>
    public Generator? Generator { get; init; }

    /// <summary>Receives the number of samples per example done after every batch. Beyond Captum.</summary>
    public IProgress<AttributionProgress>? Progress { get; init; }
}

/// <summary>
/// Max-sensitivity (Yeh et al., 2019): how much an explanation changes when the input moves slightly. Per example,
/// the largest norm of (explanation(x) - explanation(x + noise)) over the sampled perturbations, divided by the norm of
/// explanation(x) (taken as 1 when it is 0). Works with any explanation method through <see cref="ExplanationFunction"/>.
/// </summary>
/// <remarks>
/// Python: <c>captum.metrics.sensitivity_max(explanation_func, inputs, perturb_func=default_perturb_func,
/// perturb_radius=0.02, n_perturb_samples=10, norm_ord='fro', max_examples_per_batch=None, **kwargs)</c>. The
/// explanation function runs with gradients allowed (gradient methods need them); the metric's own arithmetic runs
/// without. Cost: one explanation of the inputs, and <c>PerturbSamples</c> explanations of the batch.
/// </remarks>
public static class SensitivityMax
{
    /// <summary>Computes the max-sensitivity of <paramref name="explanationFunc"/> per example.</summary>
    /// <param name="explanationFunc">The explanation method; see <see cref="Explanations"/> for adapters.</param>
    /// <param name="inputs">The inputs to explain. Not modified.</param>
    /// <param name="options">Perturbation, samples, norm and the explanation's arguments; Captum's defaults when null.</param>
    /// <param name="cancellationToken">Checked between batches and handed to the explanation function.</param>
    /// <returns>The sensitivity of every example, shape [n]; the caller disposes it.</returns>
    /// <exception cref="ArgumentException">An argument does not fit, or a function returns misshapen tensors.</exception>
    public static Tensor Compute(ExplanationFunction explanationFunc, Inputs inputs, SensitivityMaxOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(explanationFunc);
        TorchRuntime.EnsureAvailable();
        options ??= new SensitivityMaxOptions();
        var tensors = inputs.Tensors;
        using var scope = torch.NewDisposeScope();
        var n = ArgumentPreparation.BatchSize(tensors);
        MetricBatches.Check(options.PerturbSamples, options.MaxExamplesPerBatch);
        options.Target.ValidateCount(n);
        var perturb = options.PerturbFunc ?? UniformNoise;
        var additional = options.AdditionalForwardArgs;
        using var random = RandomDraws.Create(options.Seed, options.Generator);
        var generator = random.Generator;
        var explanation = Explain(explanationFunc, inputs, new ExplanationArguments(options.Baselines, options.Target, additional), null, n, cancellationToken);
        Tensor reference;
        using (torch.no_grad())
        {
            var norm = Norm(Flatten(explanation, n), options.NormOrder);
            reference = torch.where(norm == 0, torch.ones_like(norm), norm);
        }

        Tensor? max = null;
        var done = 0;
        foreach (var k in MetricBatches.Sizes(n, options.PerturbSamples, options.MaxExamplesPerBatch))
        {
            cancellationToken.ThrowIfCancellationRequested();
            using (var batch = torch.NewDisposeScope())
            {
                var expanded = SampleExpansion.RepeatInterleave(tensors, k);
                IReadOnlyList<Tensor> perturbed;
                using (torch.no_grad())
                {
                    perturbed = perturb(expanded, options.PerturbRadius, generator);
                }

                MetricBatches.CheckPerturbed(perturbed, expanded, "perturbed inputs", "PerturbFunc");
                var arguments = new ExplanationArguments(
                    ExpandBaselines(options.Baselines, tensors, k),
                    options.Target.RepeatInterleave(k),
                    additional is null ? null : SampleExpansion.Interleave(additional, k));
                var perturbedInputs = new Inputs([.. perturbed]) { IsTuple = inputs.IsTuple };
                var changed = Explain(explanationFunc, perturbedInputs, arguments, explanation, n * k, cancellationToken);

                using var noGrad = torch.no_grad();
                var difference = Flatten(explanation.Select(e => e.repeat_interleave(k, dim: 0)).ToArray(), n * k) - Flatten(changed, n * k);
                var sensitivity = (Norm(difference, options.NormOrder) / reference.repeat_interleave(k, dim: 0)).reshape(n, k).max(1).values;
                if (max is null)
                {
                    max = sensitivity.MoveToOuterDisposeScope();
                }
                else
                {
                    max.copy_(torch.maximum(max, sensitivity));
                }
            }

            done += k;
            options.Progress?.Report(new AttributionProgress(done, options.PerturbSamples));
        }

        return max!.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Captum's default perturbation: adds noise drawn uniformly from [-radius, radius] to every element (a sample of
    /// the L-infinity ball). The noise is drawn in float32 with <paramref name="generator"/> on its device (the CPU for a
    /// seed or the default generator) and moved to each input's device, so a seed gives the same noise on every device.
    /// </summary>
    /// <param name="inputs">The inputs to perturb. Not modified.</param>
    /// <param name="perturbRadius">The radius of the ball.</param>
    /// <param name="generator">The generator to draw with.</param>
    /// <returns>The perturbed inputs.</returns>
    /// <remarks>Python: <c>captum.metrics._core.sensitivity.default_perturb_func(inputs, perturb_radius=0.02)</c>.</remarks>
    public static IReadOnlyList<Tensor> UniformNoise(IReadOnlyList<Tensor> inputs, double perturbRadius, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(generator);
        using var scope = torch.NewDisposeScope();
        return inputs.Select(input =>
        {
            var noise = torch.empty(input.shape, ScalarType.Float32, generator.device).uniform_(-perturbRadius, perturbRadius, generator);
            return (input + noise.to(input.device)).MoveToOuterDisposeScope();
        }).ToArray();
    }

    private static Tensor[] Explain(ExplanationFunction explanationFunc, Inputs inputs, ExplanationArguments arguments, Tensor[]? like, long rows, CancellationToken cancellationToken)
    {
        var result = explanationFunc(inputs, arguments, cancellationToken)
            ?? throw new ArgumentException("explanationFunc returned null.", nameof(explanationFunc));
        if (result.Count == 0 || (like is not null && result.Count != like.Length))
        {
            throw new ArgumentException(
                $"explanationFunc returned {result.Count} tensor(s){(like is null ? string.Empty : $" for the perturbed inputs but {like.Length} for the inputs")}.",
                nameof(explanationFunc));
        }

        var detached = new Tensor[result.Count];
        for (var i = 0; i < result.Count; i++)
        {
            var t = result[i];
            if (t is null || t.dim() == 0 || t.shape[0] != rows || (like is not null && !t.shape.Skip(1).SequenceEqual(like[i].shape.Skip(1))))
            {
                throw new ArgumentException(
                    $"explanationFunc returned tensor {i} of shape {(t is null ? "null" : Shapes.Format(t.shape))}; it must be batch first with {rows} rows{(like is null ? string.Empty : " and the shape of the inputs' explanation after the batch")}.",
                    nameof(explanationFunc));
            }

            detached[i] = t.detach();
        }

        return detached;
    }

    private static Tensor Flatten(IReadOnlyList<Tensor> tensors, long rows) =>
        torch.cat(tensors.Select(t => t.reshape(rows, -1)).ToArray(), 1);

    private static Tensor Norm(Tensor rows, NormOrder order) =>
        torch.linalg.vector_norm(rows, order.P, dims: [1]);

    private static Baselines ExpandBaselines(Baselines baselines, IReadOnlyList<Tensor> inputs, int repeats)
    {
        if (baselines.IsNone || repeats == 1)
        {
            return baselines;
        }

        var n = inputs[0].shape[0];
        var values = new BaselineValue[inputs.Count];
        for (var i = 0; i < inputs.Count; i++)
        {
            var value = baselines.For(i, inputs.Count);
            values[i] = value.Tensor is { } t && t.dim() > 0 && t.shape[0] == n && n > 1
                ? t.detach().repeat_interleave(repeats, dim: 0)
                : value;
        }

        return values;
    }
}
