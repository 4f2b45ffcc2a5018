using Captum.Forward;
using Captum.Runtime;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// Shapley Value Sampling (Castro et al., 2009): for each of a number of random permutations of the features,
/// starts from the baselines and adds the features back one by one in that order, crediting each feature with
/// the rise of the explained output when it was added; attributions are the averages over the permutations.
/// </summary>
/// <remarks>
/// <para>Python: <c>captum.attr.ShapleyValueSampling(forward_func)</c>.</para>
/// <para>
/// For every permutation the credits of an example sum to F(input) - F(baseline) exactly; for a model that is
/// additive over the features every permutation gives each feature its own contribution, so the result is
/// exact for any number of samples. Features are the distinct ids of the feature mask and may span inputs
/// (Captum groups mask ids across inputs for this method); without a mask every scalar is a feature.
/// </para>
/// <para>
/// Outputs: one value per example gives attributions of the inputs' shapes; k values for the whole batch (a
/// scalar, or an LLM's answer and its tokens) give attributions with first dimension k (PerturbationsPerEval must
/// then be 1 and every mask's first dimension 1). Permutations are drawn with <c>torch.randperm</c> from <c>Seed</c> or <c>Generator</c> (TorchSharp's
/// default generator when neither is given), so seeded runs repeat exactly.
/// Cost: 1 + Samples * ceil(features / PerturbationsPerEval) forward passes, without gradients.
/// </para>
/// </remarks>
public sealed class ShapleyValueSampling : IAttributionMethod<ShapleyValueSamplingOptions>
{
    private readonly ForwardFunction forward;

    /// <summary>Creates the method for <paramref name="forwardFunc"/>.</summary>
    /// <param name="forwardFunc">The model or function to explain. Python: <c>forward_func</c>.</param>
    public ShapleyValueSampling(ForwardFunction forwardFunc)
    {
        ArgumentNullException.ThrowIfNull(forwardFunc);
        TorchRuntime.EnsureAvailable();
        forward = forwardFunc;
    }

    /// <summary>False: perturbation methods have no convergence delta. Python: <c>has_convergence_delta()</c>.</summary>
    public bool HasConvergenceDelta => false;

    /// <summary>Estimates the Shapley value of every feature and spreads it over the feature's elements.</summary>
    /// <param name="inputs">One tensor or several, batch first; floating point or integer. They are not modified.</param>
    /// <param name="options">Baselines, target, feature mask, samples, seed and the rest; Captum's defaults when null.</param>
    /// <param name="cancellationToken">Checked before every forward evaluation.</param>
    /// <returns>
    /// One attribution per input, of its shape (first dimension k for a forward function that returns k values
    /// for the whole batch), in the output's floating type; the caller disposes it.
    /// </returns>
    /// <exception cref="ArgumentException">An argument does not fit; the message names it and what was expected.</exception>
    public AttributionResult Attribute(Inputs inputs, ShapleyValueSamplingOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new ShapleyValueSamplingOptions();
        options = options with { Baselines = options.Baselines.Resolve(inputs) };
        using var random = RandomDraws.Create(options.Seed, options.Generator);
        var samples = options.Samples;
        return ShapleyEngine.Run(
            forward,
            inputs,
            options,
            () => PerturbationEvaluation.Samples(samples),
            ids => (RandomOrders(ids, samples, random), samples),
            cancellationToken);
    }

    /// <summary><paramref name="samples"/> random orders of <paramref name="ids"/>, rearranging one array.</summary>
    private static IEnumerable<long[]> RandomOrders(long[] ids, int samples, RandomDraws random)
    {
        var order = new long[ids.Length];
        for (var sample = 0; sample < samples; sample++)
        {
            // Python: torch.randperm(num_features) for every sample.
            var permutation = random.Permutation(ids.Length);
            for (var j = 0; j < order.Length; j++)
            {
                order[j] = ids[permutation[j]];
            }

            yield return order;
        }
    }
}

/// <summary>The arguments of <see cref="ShapleyValueSampling.Attribute"/>.</summary>
/// <remarks>
/// Python: the keyword arguments of <c>ShapleyValueSampling.attribute</c>. <see cref="MaskedPerturbationOptions.FeatureMask"/> here: groups elements into features added together (ids may span inputs); none makes every scalar a feature.
/// </remarks>
public sealed record ShapleyValueSamplingOptions : MaskedPerturbationOptions, IRandomSourceOptions
{
    /// <summary>The number of random feature permutations; 25 by default. Python: <c>n_samples</c>.</summary>
    public int Samples { get; init; } = 25;

    /// <summary>
    /// Seeds a private CPU generator for every random draw of the call (the permutations): the same seed gives the
    /// same result on every call and device. With neither this nor <see cref="Generator"/>, draws come from
    /// TorchSharp's default generator (repeatable after <c>torch.manual_seed</c>, as Captum's are after PyTorch's
    /// seed). Giving both throws an <see cref="ArgumentException"/>. Beyond Captum.
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
