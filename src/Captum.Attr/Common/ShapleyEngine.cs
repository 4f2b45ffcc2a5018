using Captum.Forward;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// The engine of ShapleyValueSampling and ShapleyValues (Captum's <c>ShapleyValueSampling.attribute</c>, which
/// ShapleyValues inherits): runs orders of the features, adding them one by one to the baseline, and credits each
/// feature with the rise of the output, averaged over the orders.
/// </summary>
internal static class ShapleyEngine
{
    /// <summary>
    /// Captum's Shapley loop, shared with ShapleyValues: for every order of the features that <paramref name="orders"/>
    /// gives (with their count, from the sorted feature ids), adds the features one by one to the baselines and
    /// credits each with the rise of the output; attributions are the averages over the orders.
    /// </summary>
    /// <param name="forward">The model.</param>
    /// <param name="inputs">The inputs.</param>
    /// <param name="options">The common arguments (baselines, target, additional arguments, batching, progress) and the feature mask, whose ids are grouped across inputs.</param>
    /// <param name="validate">Checks of the method's own arguments, run after the batch size and PerturbationsPerEval are checked.</param>
    /// <param name="orders">
    /// From the sorted distinct feature ids, the orders to run (each array is read before the next is asked for, so it
    /// may be reused) and how many there are; called before the first forward evaluation.
    /// </param>
    /// <param name="cancellationToken">Checked before every forward evaluation.</param>
    public static AttributionResult Run(
        ForwardFunction forward,
        Inputs inputs,
        MaskedPerturbationOptions options,
        Action validate,
        Func<long[], (IEnumerable<long[]> Orders, long Count)> orders,
        CancellationToken cancellationToken)
    {
        var tensors = inputs.Tensors;
        using var scope = torch.NewDisposeScope();
        var n = ArgumentPreparation.BatchSize(tensors);
        var perEval = options.PerturbationsPerEval ?? 1;
        PerturbationEvaluation.PerturbationsPerEval(perEval);
        validate();
        options.Target.ValidateCount(n);
        var baselines = PerturbationEvaluation.Baselines(tensors, options.Baselines);
        var mask = ResolvedFeatureMask.Resolve(tensors, options.FeatureMask, n);
        var (permutations, orderCount) = orders(mask.Ids);
        var additional = options.AdditionalForwardArgs ?? [];
        var target = options.Target;

        using var noGrad = torch.no_grad();
        cancellationToken.ThrowIfCancellationRequested();
        var initial = PerturbationEvaluation.Evaluate(forward, baselines, additional, target);
        var outputs = initial.numel();

        // One output per example, or a fixed number for the whole batch (Captum's aggregate mode; k values for one
        // example, as an LLM's answer and its tokens, are attributed each: the attributions' first dimension is k).
        var aggregate = outputs != n;
        if (aggregate && perEval != 1)
        {
            throw new ArgumentException(
                $"PerturbationsPerEval (perturbations_per_eval) is {perEval}, but the forward function returns {outputs} value(s) for the whole batch of {n} rather than one per example: use 1.",
                "PerturbationsPerEval");
        }

        if (aggregate && mask.PerExample)
        {
            throw new ArgumentException(
                $"FeatureMask (feature_mask) gives one mask per example, but the forward function returns {outputs} value(s) for the whole batch of {n}: every mask's first dimension must be 1.",
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
}
