namespace Captum.Robust;

/// <summary>
/// How <see cref="AttackComparator{TArguments}.Evaluate"/> and <see cref="MinParamPerturbation{TOptions}.Evaluate"/>
/// run the model, with Captum's defaults.
/// </summary>
/// <remarks>Python: the keyword arguments <c>additional_forward_args</c> and <c>perturbations_per_eval</c> of both <c>evaluate</c> methods.</remarks>
public sealed record AttackEvaluationOptions
{
    /// <summary>
    /// Further forward arguments after the (preprocessed) inputs. Tensors of one or more dimensions have the batch
    /// first and are repeated along it when several perturbed batches share a forward pass; anything else is passed
    /// unchanged. Python: <c>additional_forward_args</c>.
    /// </summary>
    public IReadOnlyList<object?>? AdditionalForwardArgs { get; init; }

    /// <summary>
    /// How many evaluations (perturbed batches, in order) share one forward pass: at least 1, the default. Each pass
    /// then holds up to PerturbationsPerEval × batch size examples. It changes speed and memory, never the results;
    /// the (preprocessed) perturbed inputs must be tensors of one layout and the model's output one row per example.
    /// Python: <c>perturbations_per_eval</c>.
    /// </summary>
    public int PerturbationsPerEval { get; init; } = 1;

    /// <summary>
    /// Receives (forward passes done, forward passes at most) after every pass (beyond Captum). A search may stop
    /// before the most.
    /// </summary>
    public IProgress<AttributionProgress>? Progress { get; init; }
}
