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
/// Outputs: one value per example gives attributions of the inputs' shapes; a single scalar for the whole
/// batch gives attributions with first dimension 1 (PerturbationsPerEval must then be 1 and every mask's
/// first dimension 1). Permutations are drawn with <c>torch.randperm</c> from <c>Seed</c> or <c>Generator</c> (TorchSharp's
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
    /// One attribution per input, of its shape (first dimension 1 for a forward function that returns one scalar
    /// for the batch), in the output's floating type; the caller disposes it.
    /// </returns>
    /// <exception cref="ArgumentException">An argument does not fit; the message names it and what was expected.</exception>
    public AttributionResult Attribute(Inputs inputs, ShapleyValueSamplingOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new ShapleyValueSamplingOptions();
        using var random = RandomDraws.Create(options.Seed, options.Generator);
        var samples = options.Samples;
        return Run(
            forward,
            inputs,
            options,
            options.FeatureMask,
            () => PerturbationEvaluation.Samples(samples),
            ids => (RandomOrders(ids, samples, random), samples),
            cancellationToken);
    }

    /// <summary>
    /// Captum's Shapley loop, shared with ShapleyValues: for every order of the features that <paramref name="orders"/>
    /// gives (with their count, from the sorted feature ids), adds the features one by one to the baselines and
    /// credits each with the rise of the output; attributions are the averages over the orders.
    /// </summary>
    /// <param name="forward">The model.</param>
    /// <param name="inputs">The inputs.</param>
    /// <param name="options">The common arguments (baselines, target, additional arguments, batching, progress).</param>
    /// <param name="featureMask">The feature mask; ids are grouped across inputs.</param>
    /// <param name="validate">Checks of the method's own arguments, run after the batch size and PerturbationsPerEval are checked.</param>
    /// <param name="orders">
    /// From the sorted distinct feature ids, the orders to run (each array is read before the next is asked for, so it
    /// may be reused) and how many there are; called before the first forward evaluation.
    /// </param>
    /// <param name="cancellationToken">Checked before every forward evaluation.</param>
    internal static AttributionResult Run(
        ForwardFunction forward,
        Inputs inputs,
        PerturbationOptions options,
        FeatureMask featureMask,
        Action validate,
        Func<long[], (IEnumerable<long[]> Orders, long Count)> orders,
        CancellationToken cancellationToken)
    {
        var tensors = inputs.Tensors;
        using var scope = torch.NewDisposeScope();
        var n = ArgumentPreparation.BatchSize(tensors);
        var perEval = options.PerturbationsPerEval;
        PerturbationEvaluation.PerturbationsPerEval(perEval);
        validate();
        options.Target.ValidateCount(n);
        var baselines = PerturbationEvaluation.Baselines(tensors, options.Baselines);
        var mask = ResolvedFeatureMask.Resolve(tensors, featureMask, n);
        var (permutations, orderCount) = orders(mask.Ids);
        var additional = options.AdditionalForwardArgs ?? [];
        var target = options.Target;

        using var noGrad = torch.no_grad();
        cancellationToken.ThrowIfCancellationRequested();
        var initial = PerturbationEvaluation.Evaluate(forward, baselines, additional, target);
        var outputs = initial.numel();
        if (outputs != n && outputs != 1)
        {
            throw new ArgumentException(
                $"The forward function returns {outputs} values for a batch of {n}: ShapleyValueSampling needs one value per example (choose one with target) or one scalar for the whole batch.",
                "target");
        }

        var aggregate = outputs != n;
        if (aggregate && perEval != 1)
        {
            throw new ArgumentException(
                $"PerturbationsPerEval (perturbations_per_eval) is {perEval}, but the forward function returns one scalar for the whole batch: use 1.",
                "PerturbationsPerEval");
        }

        if (aggregate && mask.PerExample)
        {
            throw new ArgumentException(
                "FeatureMask (feature_mask) gives one mask per example, but the forward function returns one scalar for the whole batch: every mask's first dimension must be 1.",
                "FeatureMask");
        }

        var dtype = PerturbationEvaluation.AttributionType(initial);
        initial = initial.to_type(dtype);
        var totals = new Tensor[tensors.Count];
        for (var i = 0; i < tensors.Count; i++)
        {
            var shape = (long[])tensors[i].shape.Clone();
            shape[0] = outputs;
            totals[i] = torch.zeros(shape, dtype, tensors[i].device);
        }

        var ids = mask.Ids;
        var perPass = Math.Max(1, Math.Min(perEval, ids.Length));
        var passes = (ids.Length + perPass - 1) / perPass;
        var totalEvaluations = checked((int)(1 + (orderCount * passes)));
        var expanded = PerturbationEvaluation.Expanded(additional, target, PerturbationEvaluation.ChunkSizes(ids.Length, perPass));
        var done = 1;
        options.Progress?.Report(new AttributionProgress(done, totalEvaluations));
        foreach (var order in permutations)
        {
            using var permutationScope = torch.NewDisposeScope();
            var previous = initial;
            var current = baselines.ToArray();

            // Whether previous / current[i] were made by this permutation (and are freed when replaced).
            var previousOwned = false;
            var currentOwned = new bool[tensors.Count];
            for (var start = 0; start < order.Length; start += perPass)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var count = Math.Min(perPass, order.Length - start);
                using (torch.NewDisposeScope())
                {
                    // Add the features one by one; every intermediate state is one perturbation of the batch.
                    var before = current.ToArray();
                    var changed = new bool[tensors.Count];
                    var states = new Tensor[tensors.Count][];
                    var added = new Tensor[tensors.Count][];
                    for (var i = 0; i < tensors.Count; i++)
                    {
                        states[i] = new Tensor[count];
                        added[i] = new Tensor[count];
                    }

                    for (var j = 0; j < count; j++)
                    {
                        var id = order[start + j];
                        for (var i = 0; i < tensors.Count; i++)
                        {
                            if (mask.Contains(i, id))
                            {
                                var m = mask.Masks[i].eq(id);
                                current[i] = torch.where(m, tensors[i], current[i]);
                                added[i][j] = m;
                                changed[i] = true;
                            }
                            else
                            {
                                added[i][j] = torch.zeros_like(mask.Masks[i], dtype: ScalarType.Bool);
                            }

                            states[i][j] = current[i];
                        }
                    }

                    var batch = states.Select(s => torch.cat(s, 0)).ToArray();
                    var (args, chunkTarget) = expanded[count];
                    var modified = PerturbationEvaluation.Evaluate(forward, batch, args, chunkTarget).to_type(dtype);
                    if (modified.numel() != count * outputs)
                    {
                        throw new ArgumentException(
                            $"The forward function returned {modified.numel()} value(s) for {count} perturbation(s) of the batch of {n}, but {count * outputs} were expected: with PerturbationsPerEval (perturbations_per_eval) above 1 its output must grow with the batch (one value per example).",
                            "PerturbationsPerEval");
                    }

                    var all = torch.cat([previous, modified]);
                    var difference = (all[TensorIndex.Slice(outputs)] - all[TensorIndex.Slice(null, -outputs)]).reshape(count, outputs);
                    for (var i = 0; i < tensors.Count; i++)
                    {
                        var weight = torch.stack(added[i]).to_type(dtype);
                        var diff = difference.reshape(PerturbationEvaluation.RowShape(count, outputs, tensors[i].dim() - 1));
                        totals[i].add_((diff * weight).sum(dim: 0));
                    }

                    // Keep the last state and output for the next pass of this permutation; free the ones replaced.
                    var last = modified[TensorIndex.Slice(-outputs)].clone().MoveToOuterDisposeScope();
                    if (previousOwned)
                    {
                        previous.Dispose();
                    }

                    previous = last;
                    previousOwned = true;
                    for (var i = 0; i < tensors.Count; i++)
                    {
                        if (!changed[i])
                        {
                            continue;
                        }

                        current[i] = current[i].MoveToOuterDisposeScope();
                        if (currentOwned[i])
                        {
                            before[i].Dispose();
                        }

                        currentOwned[i] = true;
                    }
                }

                done++;
                options.Progress?.Report(new AttributionProgress(done, totalEvaluations));
            }
        }

        var attributions = totals.Select(t => (t / orderCount).MoveToOuterDisposeScope()).ToArray();
        return new AttributionResult(attributions, null);
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
public sealed record ShapleyValueSamplingOptions : MaskedPerturbationOptions
{
    /// <summary>The number of random feature permutations; 25 by default. Python: <c>n_samples</c>.</summary>
    public int Samples { get; init; } = 25;

    /// <summary>
    /// Seeds a private CPU generator for every random draw of the call (the permutations): the same seed gives the
    /// same result on every call and device. With neither this nor <see cref="Generator"/>, draws come from
    /// TorchSharp's default generator (repeatable after <c>torch.manual_seed</c>, as Captum's are after PyTorch's
    /// seed). Giving both throws an <see cref="ArgumentException"/>.
    /// </summary>
    public long? Seed { get; init; }

    /// <summary>
    /// The caller's generator, to draw every random number of the call from instead; each call advances it, so
    /// successive calls differ (a CPU generator seeded with s gives on its first call what <see cref="Seed"/> = s
    /// gives). Not together with <see cref="Seed"/>.
    /// </summary>
    public Generator? Generator { get; init; }
}
