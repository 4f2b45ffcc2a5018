using Captum.Attr;
using Captum.Forward;
using static TorchSharp.torch;

namespace Captum.Robust;

/// <summary>One attacked input: what the attack returned, and what the model is given (the same, or it preprocessed).</summary>
/// <param name="Attacked">The attack's result (on the raw inputs, or on the preprocessed ones).</param>
/// <param name="ModelInputs">The tensors the model receives.</param>
internal sealed record AttackedInput(PerturbedInputs Attacked, IReadOnlyList<Tensor> ModelInputs);

/// <summary>
/// What AttackComparator and MinParamPerturbation share: the model, the preprocessing, an attack applied before or
/// after it (Captum's <c>apply_before_preproc</c>), and the forward pass over several attacked inputs at once
/// (Captum's <c>_evaluate_batch</c> with <c>_reduce_list</c>, grouped by <c>perturbations_per_eval</c>).
/// </summary>
/// <remarks>
/// Callers run each group of evaluations inside a dispose scope of its own: the attacks' results, the preprocessed
/// tensors and the outputs of one group are freed together once the group is evaluated, as Captum lets them go.
/// </remarks>
internal sealed class AttackEvaluation(ForwardFunction forward, Func<Inputs, Inputs>? preprocessing)
{
    /// <summary>The model's inputs for <paramref name="inputs"/>: the preprocessing's result, or the inputs themselves.</summary>
    public Inputs Preprocess(Inputs inputs)
    {
        if (preprocessing is null)
        {
            return inputs;
        }

        var result = preprocessing(inputs);
        _ = result.Tensors; // an empty result (default(Inputs)) says so here, not deep in the forward pass
        return result;
    }

    /// <summary>
    /// Runs <paramref name="attack"/> on the raw inputs and preprocesses its result (<paramref name="beforePreprocessing"/>),
    /// or runs it on the preprocessed inputs <paramref name="preprocessed"/>. Tensors are made in the current scope.
    /// </summary>
    public AttackedInput Attack<TOptions>(
        IPerturbation<TOptions> attack,
        TOptions options,
        bool beforePreprocessing,
        Inputs inputs,
        Inputs preprocessed,
        CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (beforePreprocessing)
        {
            var attacked = attack.Perturb(inputs, options, cancellationToken);
            return new AttackedInput(attacked, Preprocess(attacked.AsInputs()).Tensors);
        }

        var onPreprocessed = attack.Perturb(preprocessed, options, cancellationToken);
        return new AttackedInput(onPreprocessed, onPreprocessed);
    }

    /// <summary>
    /// The model's output on each of <paramref name="items"/> (each a list of input tensors), from one forward pass
    /// over all of them concatenated along the batch, with the additional arguments' batch tensors repeated once per
    /// item; each item's rows of the output, in order (views of the one output).
    /// </summary>
    /// <exception cref="ArgumentException">
    /// The items cannot share a pass: they hold different numbers of tensors, or the output has not one row per
    /// example (ParamName <c>PerturbationsPerEval</c>).
    /// </exception>
    public Tensor[] Outputs(IReadOnlyList<IReadOnlyList<Tensor>> items, IReadOnlyList<object?> additional, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (items.Count == 1)
        {
            return [forward.Invoke(ArgumentPreparation.Concat(items[0], additional))];
        }

        var count = items[0].Count;
        if (items.Any(item => item.Count != count))
        {
            throw new ArgumentException(
                $"the (preprocessed) perturbed inputs do not all hold {count} tensors, so they cannot share a forward pass; keep PerturbationsPerEval at 1.",
                "PerturbationsPerEval");
        }

        var batched = Enumerable.Range(0, count).Select(i => torch.cat(items.Select(item => item[i]).ToArray(), 0)).ToArray();
        var output = forward.Invoke(ArgumentPreparation.Concat(batched, ArgumentPreparation.Expand(additional, items.Count)));
        var rows = items.Select(item => item[0].shape[0]).ToArray();
        if (output.dim() == 0 || output.shape[0] != rows.Sum())
        {
            throw new ArgumentException(
                $"the forward function returned shape {Shapes.Format(output.shape)} for {rows.Sum()} examples in one pass: it needs one row per example to share a pass; keep PerturbationsPerEval at 1.",
                "PerturbationsPerEval");
        }

        var slices = new Tensor[items.Count];
        var start = 0L;
        for (var k = 0; k < items.Count; k++)
        {
            slices[k] = output.narrow(0, start, rows[k]);
            start += rows[k];
        }

        return slices;
    }

    /// <summary>Consecutive groups of <paramref name="size"/> items (the last one shorter), as they are drawn.</summary>
    public static IEnumerable<List<T>> Chunks<T>(IEnumerable<T> items, int size)
    {
        var chunk = new List<T>(size);
        foreach (var item in items)
        {
            chunk.Add(item);
            if (chunk.Count == size)
            {
                yield return chunk;
                chunk = new List<T>(size);
            }
        }

        if (chunk.Count > 0)
        {
            yield return chunk;
        }
    }

    /// <summary>Checks a number of attempts.</summary>
    /// <exception cref="ArgumentOutOfRangeException">It is below 1 (ParamName <paramref name="name"/>).</exception>
    public static void Attempts(int numAttempts, string name)
    {
        if (numAttempts < 1)
        {
            throw new ArgumentOutOfRangeException(name, numAttempts, $"{name} (num_attempts) must be at least 1.");
        }
    }
}
