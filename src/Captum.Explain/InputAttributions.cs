namespace Captum.Explain;

/// <summary>What an <see cref="ExplanationStrategy"/> computes: one attribution per input, and the convergence delta.</summary>
/// <param name="Attributions">One tensor per input of the prepared example, batch of one (the batch dimension first).</param>
/// <param name="Delta">The convergence delta of a path method; <see cref="double.NaN"/> for methods without one.</param>
public sealed record InputAttributions(IReadOnlyList<Tensor> Attributions, double Delta)
{
    /// <inheritdoc cref="Explanation.InternalBatchSize"/>
    public int? InternalBatchSize { get; init; }

    /// <inheritdoc cref="Explanation.PerturbationsPerEval"/>
    public int? PerturbationsPerEval { get; init; }

    /// <inheritdoc cref="Explanation.MemoryBudgetOverrun"/>
    public MemoryBudgetOverrun? MemoryBudgetOverrun { get; init; }
}
