using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Influence;

/// <summary>
/// The exact <see cref="INearestNeighbors"/>: every query's dot products with every stored vector (one matrix
/// product), then the top k. The default of <see cref="TracInCPFastRandProj"/>.
/// </summary>
/// <remarks>
/// <para>Captum has no exact implementation (its default is <c>AnnoyNearestNeighbors</c>); the answers are those of
/// <c>torch.topk(query @ data.T, k)</c>. A query costs [queries, stored vectors] scores in memory and time; for
/// large training sets, <see cref="USearchNearestNeighbors"/> answers approximately without scoring every vector.</para>
/// <para>Memory: <see cref="Setup"/> keeps its own view of the data's storage (no copy when each row is contiguous),
/// so the caller may dispose the tensor it passed; the storage lives until this is disposed too.</para>
/// <para>Threads: <see cref="GetNearestNeighbors"/> only reads, so calls may overlap; <see cref="Setup"/> and
/// <see cref="Dispose"/> must not overlap with anything.</para>
/// </remarks>
public sealed class ExactNearestNeighbors : INearestNeighbors
{
    private Tensor? stored;

    /// <inheritdoc/>
    public void Setup(Tensor data)
    {
        // Kept out of the caller's dispose scope: this owns it.
        var rows = NearestNeighborsArguments.Rows(data, nameof(data)).DetachFromDisposeScope();
        stored?.Dispose();
        stored = rows;
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Exact: the scores are the dot products, computed on the stored vectors' device and in their type (the query is
    /// converted to both); a tie between stored vectors goes as <c>topk</c> breaks it.
    /// </remarks>
    public (Tensor Indices, Tensor Scores) GetNearestNeighbors(Tensor query, int k)
    {
        using var scope = torch.NewDisposeScope();
        var rows = NearestNeighborsArguments.Query(query, k, stored, nameof(ExactNearestNeighbors));
        var data = stored!;
        var (scores, indices) = torch.topk(torch.mm(rows.to(data.dtype, data.device), data.t()), k, dim: 1, largest: true, sorted: true);
        return (indices.MoveToOuterDisposeScope(), scores.MoveToOuterDisposeScope());
    }

    /// <summary>Frees the view of the stored vectors; a later <see cref="GetNearestNeighbors"/> needs <see cref="Setup"/> again.</summary>
    public void Dispose()
    {
        stored?.Dispose();
        stored = null;
    }
}
