using Captum.Attr;
using Captum.Forward;
using Captum.Runtime;
using static TorchSharp.torch;

namespace Captum.Metrics;

/// <summary>
/// Perturbs a batch for <see cref="Infidelity"/>: given the inputs (every example repeated once per sample, in a
/// row) and their baselines, returns the perturbations I and the perturbed inputs. The attributions are scored by how
/// well sum(attribution * I) predicts F(input) - F(perturbed input).
/// </summary>
/// <param name="inputs">The inputs, [n * samples, ...] each, example-major.</param>
/// <param name="baselines">The baselines expanded like the inputs (full tensors), or null when none were given.</param>
/// <param name="generator">
/// The generator every random draw must use, so that a seeded run repeats exactly: the call's private seeded one, the
/// caller's <c>Generator</c>, or TorchSharp's default one (see the options' <c>Seed</c>). Draw on its device (the CPU
/// unless the caller's generator lives elsewhere) and move the draws to the inputs' device.
/// </param>
/// <returns>The perturbations and the perturbed inputs, one tensor per input each, of the inputs' shapes.</returns>
/// <remarks>Python: <c>perturb_func</c> of <c>infidelity</c>, returning <c>(perturbations, perturbed_inputs)</c>.</remarks>
public delegate InfidelityPerturbation InfidelityPerturbFunction(IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor>? baselines, Generator generator);

/// <summary>What an <see cref="InfidelityPerturbFunction"/> returns.</summary>
/// <param name="Perturbations">The perturbations I, one per input.</param>
/// <param name="PerturbedInputs">The perturbed inputs, one per input.</param>
public sealed record InfidelityPerturbation(IReadOnlyList<Tensor> Perturbations, IReadOnlyList<Tensor> PerturbedInputs);

/// <summary>The arguments of <see cref="Infidelity.Compute(ForwardFunction, InfidelityPerturbFunction, Inputs, IReadOnlyList{Tensor}, InfidelityOptions?, CancellationToken)"/>, with Captum's defaults.</summary>
/// <remarks>Python: the keyword arguments of <c>captum.metrics.infidelity</c>.</remarks>
public sealed record InfidelityOptions
{
    /// <summary>
    /// The baselines handed (expanded) to the perturbation function; none by default. A scalar, a tensor that
    /// broadcasts to the input, or one of those per input. Python: <c>baselines</c>.
    /// </summary>
    public Baselines Baselines { get; init; }

    /// <summary>Further forward arguments after the inputs, expanded with the perturbed batch. Python: <c>additional_forward_args</c>.</summary>
    public IReadOnlyList<object?>? AdditionalForwardArgs { get; init; }

    /// <summary>Which output to explain; none when the forward function returns one value per example. Python: <c>target</c>.</summary>
    public Target Target { get; init; }

    /// <summary>How many perturbations of every example are drawn; 10 by default. Python: <c>n_perturb_samples</c>.</summary>
    public int PerturbSamples { get; init; } = 10;

    /// <summary>
    /// At most this many perturbed examples (batch times samples) per forward pass, at least one sample of every
    /// example; null evaluates them all at once. Python: <c>max_examples_per_batch</c>.
    /// </summary>
    public int? MaxExamplesPerBatch { get; init; }

    /// <summary>
    /// Scale the attributions' predictions by the least-squares factor beta before taking the error, which makes the
    /// score invariant to the attributions' scale; false by default. Python: <c>normalize</c>.
    /// </summary>
    public bool Normalize { get; init; }

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
/// Infidelity (Yeh et al., 2019): the expected squared error between the attributions' prediction of how the output
/// changes under a meaningful perturbation I, sum(attribution * I), and the actual change F(x) - F(x - I); lower is
/// better, and exact attributions of a linear model score 0.
/// </summary>
/// <remarks>
/// Python: <c>captum.metrics.infidelity(forward_func, perturb_func, inputs, attributions, baselines=None,
/// additional_forward_args=None, target=None, n_perturb_samples=10, max_examples_per_batch=None, normalize=False)</c>.
/// Runs without gradients. Cost: one forward pass on the inputs and <c>PerturbSamples</c> on the batch.
/// </remarks>
public static class Infidelity
{
    /// <summary>Computes the infidelity of <paramref name="attributions"/> per example.</summary>
    /// <param name="forwardFunc">The model or function the attributions explain.</param>
    /// <param name="perturbFunc">The perturbation; see <see cref="FromPerturbedInputs"/> for one that only perturbs.</param>
    /// <param name="inputs">The inputs the attributions were computed for. Not modified.</param>
    /// <param name="attributions">One attribution per input, of its shape.</param>
    /// <param name="options">Baselines, target, samples and the rest; Captum's defaults when null.</param>
    /// <param name="cancellationToken">Checked between batches.</param>
    /// <returns>The infidelity of every example, shape [n]; the caller disposes it.</returns>
    /// <exception cref="ArgumentException">An argument does not fit, or the perturbation function returns misshapen tensors.</exception>
    public static Tensor Compute(
        ForwardFunction forwardFunc,
        InfidelityPerturbFunction perturbFunc,
        Inputs inputs,
        IReadOnlyList<Tensor> attributions,
        InfidelityOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(forwardFunc);
        ArgumentNullException.ThrowIfNull(perturbFunc);
        ArgumentNullException.ThrowIfNull(attributions);
        TorchRuntime.EnsureAvailable();
        options ??= new InfidelityOptions();
        var tensors = inputs.Tensors;
        using var scope = torch.NewDisposeScope();
        var n = ArgumentPreparation.BatchSize(tensors);
        CheckAttributions(tensors, attributions);
        MetricBatches.Check(options.PerturbSamples, options.MaxExamplesPerBatch);
        options.Target.ValidateCount(n);
        var baselines = options.Baselines.IsNone ? null : ArgumentPreparation.Baselines(tensors, options.Baselines);
        var additional = options.AdditionalForwardArgs ?? [];
        var attrs = attributions.Select(a => a.detach()).ToArray();
        using var random = RandomDraws.Create(options.Seed, options.Generator);
        var generator = random.Generator;
        using var noGrad = torch.no_grad();
        var output = Selected(forwardFunc, tensors, additional, options.Target, n);

        // Sums over the samples: (a - b)^2, or a^2, ab and b^2 for the normalized score.
        var sums = new Tensor[options.Normalize ? 3 : 1];
        var done = 0;
        foreach (var k in MetricBatches.Sizes(n, options.PerturbSamples, options.MaxExamplesPerBatch))
        {
            cancellationToken.ThrowIfCancellationRequested();
            using (var batch = torch.NewDisposeScope())
            {
                var expanded = SampleExpansion.RepeatInterleave(tensors, k);
                var expandedBaselines = baselines is null ? null : SampleExpansion.RepeatInterleave(baselines, k);
                var perturbation = perturbFunc(expanded, expandedBaselines, generator)
                    ?? throw new ArgumentException("perturbFunc returned null.", nameof(perturbFunc));
                MetricBatches.CheckPerturbed(perturbation.Perturbations, expanded, "perturbations", nameof(perturbFunc));
                MetricBatches.CheckPerturbed(perturbation.PerturbedInputs, expanded, "perturbed inputs", nameof(perturbFunc));

                var perturbedOutput = Selected(
                    forwardFunc, perturbation.PerturbedInputs, SampleExpansion.Interleave(additional, k), options.Target.RepeatInterleave(k), n * k);
                var actual = (output.repeat_interleave(k, dim: 0) - perturbedOutput).reshape(n, k);
                Tensor? predicted = null;
                for (var i = 0; i < attrs.Length; i++)
                {
                    var rows = (attrs[i].repeat_interleave(k, dim: 0) * perturbation.Perturbations[i]).reshape(n * k, -1).sum(1);
                    predicted = predicted is null ? rows : predicted + rows;
                }

                var a = predicted!.reshape(n, k);
                Tensor[] terms = options.Normalize
                    ? [a.pow(2).sum(1), (a * actual).sum(1), actual.pow(2).sum(1)]
                    : [(a - actual).pow(2).sum(1)];
                for (var t = 0; t < terms.Length; t++)
                {
                    if (sums[t] is null)
                    {
                        sums[t] = terms[t].MoveToOuterDisposeScope();
                    }
                    else
                    {
                        sums[t].add_(terms[t]);
                    }
                }
            }

            done += k;
            options.Progress?.Report(new AttributionProgress(done, options.PerturbSamples));
        }

        Tensor infidelity;
        if (options.Normalize)
        {
            // beta minimises sum (beta a - b)^2: beta = sum ab / sum a^2 (0 / 0 read as 0 / 1).
            var beta = SafeDivide(sums[1], sums[0]);
            infidelity = (beta * beta * sums[0]) - (2 * beta * sums[1]) + sums[2];
        }
        else
        {
            infidelity = sums[0];
        }

        return (infidelity / options.PerturbSamples).MoveToOuterDisposeScope();
    }

    /// <summary>Computes the infidelity of the only attribution tensor of a single-input call.</summary>
    /// <param name="forwardFunc">The model or function the attribution explains.</param>
    /// <param name="perturbFunc">The perturbation.</param>
    /// <param name="inputs">The input. Not modified.</param>
    /// <param name="attribution">The attribution, of the input's shape.</param>
    /// <param name="options">Baselines, target, samples and the rest.</param>
    /// <param name="cancellationToken">Checked between batches.</param>
    /// <returns>The infidelity of every example, shape [n]; the caller disposes it.</returns>
    public static Tensor Compute(
        ForwardFunction forwardFunc,
        InfidelityPerturbFunction perturbFunc,
        Inputs inputs,
        Tensor attribution,
        InfidelityOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(attribution);
        return Compute(forwardFunc, perturbFunc, inputs, [attribution], options, cancellationToken);
    }

    /// <summary>
    /// Builds a perturbation function from one that only returns perturbed inputs: the perturbations are
    /// (input - perturbed) / (input - baseline) for global attributions (those multiplied by the inputs, such as
    /// Integrated Gradients; divided by the input when there is no baseline; a zero denominator counts as 1), or
    /// input - perturbed for local ones (gradients, Saliency, <c>multiplyByInputs: false</c>).
    /// </summary>
    /// <param name="perturbedInputs">Returns the perturbed inputs for the inputs, baselines (or null) and generator it is given.</param>
    /// <param name="multiplyByInputs">Whether the attributions are global (multiplied by the inputs). Python: <c>multiply_by_inputs</c>.</param>
    /// <remarks>Python: <c>captum.metrics.infidelity_perturb_func_decorator(multiply_by_inputs=True)</c>.</remarks>
    public static InfidelityPerturbFunction FromPerturbedInputs(
        Func<IReadOnlyList<Tensor>, IReadOnlyList<Tensor>?, Generator, IReadOnlyList<Tensor>> perturbedInputs, bool multiplyByInputs = true)
    {
        ArgumentNullException.ThrowIfNull(perturbedInputs);
        return (inputs, baselines, generator) =>
        {
            var perturbed = perturbedInputs(inputs, baselines, generator);
            MetricBatches.CheckPerturbed(perturbed, inputs, "perturbed inputs", "perturbFunc");
            var perturbations = new Tensor[inputs.Count];
            for (var i = 0; i < inputs.Count; i++)
            {
                var change = inputs[i] - perturbed[i];
                perturbations[i] = !multiplyByInputs ? change
                    : SafeDivide(change, baselines is null ? inputs[i] : inputs[i] - baselines[i]);
            }

            return new InfidelityPerturbation(perturbations, perturbed);
        };
    }

    private static Tensor SafeDivide(Tensor numerator, Tensor denominator) =>
        numerator / torch.where(denominator != 0, denominator, torch.ones_like(denominator));

    private static Tensor Selected(ForwardFunction forward, IReadOnlyList<Tensor> inputs, IReadOnlyList<object?> additional, Target target, long rows)
    {
        var selected = target.Select(forward.Invoke(ArgumentPreparation.Concat(inputs, additional)));
        if (selected.numel() != rows)
        {
            throw new ArgumentException(
                $"target: the selected output has shape {Shapes.Format(selected.shape)}, not one value per example; give a target that picks one output.",
                "target");
        }

        return selected.reshape(rows);
    }

    private static void CheckAttributions(IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor> attributions)
    {
        if (attributions.Count != inputs.Count)
        {
            throw new ArgumentException(
                $"attributions has {attributions.Count} tensor(s) but there are {inputs.Count} input(s): give one attribution per input.",
                nameof(attributions));
        }

        for (var i = 0; i < inputs.Count; i++)
        {
            if (attributions[i] is null || attributions[i].IsInvalid)
            {
                throw new ArgumentException($"attributions[{i}] is null or disposed.", nameof(attributions));
            }

            if (!attributions[i].shape.SequenceEqual(inputs[i].shape))
            {
                throw new ArgumentException(
                    $"attributions[{i}] has shape {Shapes.Format(attributions[i].shape)} but input {i} has shape {Shapes.Format(inputs[i].shape)}: attributions must have their inputs' shapes.",
                    nameof(attributions));
            }
        }
    }
}
