using Captum.Forward;
using Captum.Runtime;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>Permutes one feature across the batch, for <see cref="FeaturePermutation"/>.</summary>
/// <param name="inputs">One input's batch, [n, ...]; not to be modified.</param>
/// <param name="featureMask">The feature's elements: a bool tensor of the input's shape without the batch dimension.</param>
/// <param name="generator">
/// The generator every random draw must use, so that a seeded run repeats exactly: the call's private seeded one, the
/// caller's <c>Generator</c>, or TorchSharp's default one (see <see cref="FeaturePermutationOptions.Seed"/>). Draw on
/// its device (the CPU unless the caller's generator lives elsewhere).
/// </param>
/// <returns>The batch with the feature permuted, of the input's shape and dtype; the forward function receives it as returned.</returns>
/// <remarks>Python: <c>perm_func(x, feature_mask)</c>, which draws from PyTorch's global generator.</remarks>
public delegate Tensor PermutationFunction(Tensor inputs, Tensor featureMask, Generator generator);

/// <summary>
/// Feature Permutation (permutation feature importance): each feature in turn is shuffled across the batch (every
/// example receives the feature's values of another example), and the change of the explained output is credited
/// to the feature's elements: F(inputs) - F(inputs with the feature permuted), example by example.
/// </summary>
/// <remarks>
/// <para>Python: <c>captum.attr.FeaturePermutation(forward_func, perm_func)</c>.</para>
/// <para>
/// It is Feature Ablation whose replacement values come from the other examples of the batch instead of a baseline,
/// so it needs a batch of more than one example, and every feature mask must give one mask for all examples (first
/// dimension 1). The default permutation draws one random order of the batch per feature, never the identity (as
/// Captum's <c>_permute_feature</c> does), from <c>Seed</c>, <c>Generator</c> or TorchSharp's global generator. An
/// error metric, if wanted, belongs in the forward function: with one loss value for the whole batch, attributions
/// have first dimension 1 and PerturbationsPerEval must be 1.
/// </para>
/// <para>
/// Masks: by default each input's mask ids are that input's own features (Captum 0.8.0); with
/// <c>EnableCrossTensorAttribution</c> an id names one feature across the inputs, permuted in all of them with
/// the same order of the batch, so that an example's parts stay together. Captum's default <c>perm_func</c> is
/// called once per input and so draws a separate order for each; this is a deliberate difference (only with
/// <c>EnableCrossTensorAttribution</c>; a custom <c>permFunc</c> is used as given). Inputs may hold integers. Cost: 1 + ceil(features / PerturbationsPerEval) forward
/// passes, without gradients.
/// </para>
/// </remarks>
public sealed class FeaturePermutation : IAttributionMethod<FeaturePermutationOptions>
{
    private readonly ForwardFunction forward;
    private readonly PermutationFunction? permFunc;

    /// <summary>Creates the method for <paramref name="forwardFunc"/>.</summary>
    /// <param name="forwardFunc">The model or function to explain. Python: <c>forward_func</c>.</param>
    /// <param name="permFunc">
    /// Optional custom permutation, called once per feature and input (feature by feature, in ascending id order).
    /// Null (default) shuffles the feature's values along the batch with a random order that is never the identity.
    /// Python: <c>perm_func</c>.
    /// </param>
    public FeaturePermutation(ForwardFunction forwardFunc, PermutationFunction? permFunc = null)
    {
        ArgumentNullException.ThrowIfNull(forwardFunc);
        TorchRuntime.EnsureAvailable();
        forward = forwardFunc;
        this.permFunc = permFunc;
    }

    /// <summary>False: FeaturePermutation has no convergence delta. Python: <c>has_convergence_delta()</c>.</summary>
    public bool HasConvergenceDelta => false;

    /// <summary>Attributes the explained output to every element of every input by permuting features across the batch.</summary>
    /// <param name="inputs">One tensor or several, batch first (more than one example for the default permutation); floating point or integer. They are not modified.</param>
    /// <param name="options">Target, feature mask, seed and the rest; Captum's defaults when null.</param>
    /// <param name="cancellationToken">Checked before every forward evaluation.</param>
    /// <returns>
    /// One attribution per input, of its shape (first dimension k when the forward function returns k values for
    /// the whole batch), in the output's floating type; the caller disposes it.
    /// </returns>
    /// <exception cref="ArgumentException">An argument does not fit; the message names it and what was expected.</exception>
    public AttributionResult Attribute(Inputs inputs, FeaturePermutationOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new FeaturePermutationOptions();
        var tensors = inputs.Tensors;
        using var scope = torch.NewDisposeScope();
        var n = ArgumentPreparation.BatchSize(tensors);
        PerturbationEvaluation.PerturbationsPerEval(options.PerturbationsPerEval);
        options.Target.ValidateCount(n);
        if (permFunc is null && n < 2)
        {
            throw new ArgumentException(
                $"inputs hold a batch of {n} example(s); FeaturePermutation permutes each feature across the batch, so it needs at least 2 examples.",
                "inputs");
        }

        var mask = ResolvedFeatureMask.Resolve(tensors, options.FeatureMask, n);
        if (mask.PerExample)
        {
            throw new ArgumentException(
                "FeatureMask (feature_mask) gives one mask per example; FeaturePermutation permutes the same features in every example, so every mask's first dimension must be 1.",
                "FeatureMask");
        }

        using var draws = RandomDraws.Create(options.Seed, options.Generator);
        using var noGrad = torch.no_grad();
        var features = new PermutedFeatures(
            new MaskedFeatures(mask, tensors.Count, options.EnableCrossTensorAttribution), permFunc, draws, n);
        var outcome = AblationEngine.Run(
            forward,
            tensors,
            tensors,
            options.AdditionalForwardArgs ?? [],
            options.Target,
            features,
            options.PerturbationsPerEval,
            null,
            useWeights: false,
            options.Progress,
            cancellationToken);
        foreach (var a in outcome.Attributions)
        {
            a.MoveToOuterDisposeScope();
        }

        return new AttributionResult(outcome.Attributions, null) { PerturbationsPerEval = outcome.PerturbationsPerEval };
    }

    /// <summary>
    /// The features of a feature mask, each perturbed by permuting its elements across the batch: with the caller's
    /// function, or with one random non-identity order of the batch per feature, shared by the inputs it spans.
    /// </summary>
    private sealed class PermutedFeatures : AblationFeatures
    {
        private readonly AblationFeatures features;
        private readonly PermutationFunction? permFunc;
        private readonly RandomDraws draws;
        private readonly long batchSize;
        private int orderFeature = -1;
        private long[]? order;

        public PermutedFeatures(AblationFeatures features, PermutationFunction? permFunc, RandomDraws draws, long batchSize)
        {
            this.features = features;
            this.permFunc = permFunc;
            this.draws = draws;
            this.batchSize = batchSize;
        }

        public override int Count => features.Count;

        public override bool PerExample => features.PerExample;

        public override bool PerturbsItself => true;

        public override bool Touches(int feature, int input) => features.Touches(feature, input);

        public override Tensor Mask(int feature, int input) => features.Mask(feature, input);

        public override Tensor Perturb(int feature, int input, Tensor values, Tensor mask)
        {
            var elements = mask[0];
            if (permFunc is null)
            {
                return torch.where(elements, values.index_select(0, Order(feature, values.device)), values);
            }

            var permuted = permFunc(values, elements, draws.Generator);
            if (permuted is null || permuted.IsInvalid || !permuted.shape.SequenceEqual(values.shape) || permuted.dtype != values.dtype)
            {
                throw new ArgumentException(
                    $"permFunc (perm_func) returned {(permuted is null || permuted.IsInvalid ? "no tensor" : $"{Shapes.Format(permuted.shape)} {permuted.dtype}")} for input {input} of shape {Shapes.Format(values.shape)} {values.dtype}; it must return the batch with the feature permuted, of the input's shape and dtype.",
                    "permFunc");
            }

            return permuted;
        }

        /// <summary>The order of the batch for <paramref name="feature"/>: drawn once per feature, never the identity.</summary>
        private Tensor Order(int feature, Device device)
        {
            if (feature != orderFeature || order is null)
            {
                // Python: torch.randperm(n), drawn again while it is the identity.
                var drawn = draws.Permutation(batchSize);
                while (drawn.Select((value, i) => value == i).All(same => same))
                {
                    drawn = draws.Permutation(batchSize);
                }

                order = drawn;
                orderFeature = feature;
            }

            return torch.tensor(order, ScalarType.Int64, device);
        }
    }
}

/// <summary>The arguments of <see cref="FeaturePermutation.Attribute"/>, with Captum's defaults.</summary>
/// <remarks>Python: the keyword arguments of <c>FeaturePermutation.attribute</c> (it takes no baselines).</remarks>
public sealed record FeaturePermutationOptions : TargetedAttributionOptions, IFeatureMaskOptions, IRandomSourceOptions
{
    /// <summary>
    /// Groups elements into features permuted together; none makes every scalar a feature. Every mask's first
    /// dimension must be 1: the same features are permuted in every example. Python: <c>feature_mask</c>.
    /// </summary>
    public FeatureMask FeatureMask { get; init; }

    /// <summary>
    /// How many permuted features go into one forward pass (each pass holds at most this many times the batch);
    /// 1 by default. Must be 1 when the forward function returns one value for the whole batch. Python:
    /// <c>perturbations_per_eval</c>.
    /// </summary>
    public int PerturbationsPerEval { get; init; } = 1;

    /// <summary>
    /// False (default): each input's mask ids are that input's own features. True: an id names one feature across
    /// the inputs whose masks use it, permuted in all of them with the same order of the batch. Python:
    /// <c>enable_cross_tensor_attribution</c>, passed through to Feature Ablation.
    /// </summary>
    public bool EnableCrossTensorAttribution { get; init; }

    /// <summary>
    /// Seeds a private generator for the default permutations, so that runs repeat exactly; null draws from
    /// TorchSharp's global generator (as Captum draws from PyTorch's). Not together with <see cref="Generator"/>. Beyond Captum.
    /// </summary>
    public long? Seed { get; init; }

    /// <summary>A generator to draw the permutations from instead (it advances); not together with <see cref="Seed"/>. Beyond Captum.</summary>
    public Generator? Generator { get; init; }

    /// <inheritdoc />
    AttributionOptions IRandomSourceOptions.WithGenerator(Generator generator) => this with { Seed = null, Generator = generator };

    AttributionOptions IFeatureMaskOptions.WithFeatureMask(FeatureMask featureMask) => this with { FeatureMask = featureMask };
}
