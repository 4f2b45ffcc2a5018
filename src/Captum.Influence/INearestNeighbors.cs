using static TorchSharp.torch;

namespace Captum.Influence;

/// <summary>
/// A nearest-neighbour index over stored vectors where "nearest" means the largest dot product with the query: how
/// <see cref="TracInCPFastRandProj.MostInfluential"/> finds each test example's proponents (and, with the negated test
/// vector, its opponents) among the training examples' vectors without scoring every one of them.
/// </summary>
/// <remarks>
/// <para>Python: <c>captum.influence._utils.nearest_neighbors.NearestNeighbors</c>, with <c>setup(data)</c> and
/// <c>get_nearest_neighbors(query, k)</c>. Captum's default implementation is <c>AnnoyNearestNeighbors</c> (Annoy
/// with its "dot" metric); here the default is <see cref="ExactNearestNeighbors"/>, and
/// <see cref="USearchNearestNeighbors"/> is the approximate one.</para>
/// <para>Calls: <see cref="Setup"/> once with the stored vectors, then any number of
/// <see cref="GetNearestNeighbors"/>. <see cref="TracInCPFastRandProj"/> calls <see cref="Setup"/> from its
/// constructor with its training vectors, [training examples, vector length], and <see cref="GetNearestNeighbors"/>
/// from <see cref="TracInCPFastRandProj.MostInfluential"/>, with the test examples' vectors for proponents and their
/// negation for opponents; it never calls the two at the same time.</para>
/// <para>Ownership: <see cref="Setup"/>'s data stays the caller's, who may dispose it afterwards (an implementation
/// keeps what it needs: an index, a copy, or its own view of the same storage). The tensors that
/// <see cref="GetNearestNeighbors"/> returns are the caller's to dispose. The index itself is disposed by whoever
/// owns it: a <see cref="TracInCPFastRandProj"/> that was given it in its options (see
/// <see cref="TracInCPFastRandProjOptions.NearestNeighbors"/>), otherwise the code that made it.</para>
/// </remarks>
public interface INearestNeighbors : IDisposable
{
    /// <summary>Indexes the stored vectors, replacing any indexed before. Python: <c>setup(data)</c>.</summary>
    /// <param name="data">
    /// [stored vectors, *], floating point: row i (flattened when it has more than one dimension) is stored vector i,
    /// the index that <see cref="GetNearestNeighbors"/> returns for it. At least one row. Stays the caller's.
    /// </param>
    /// <exception cref="ArgumentException"><paramref name="data"/> has no rows or is not floating point; the message names it.</exception>
    void Setup(Tensor data);

    /// <summary>
    /// The <paramref name="k"/> stored vectors with the largest dot products with each query, best first (exactly or
    /// approximately, as the implementation says). Python: <c>get_nearest_neighbors(query, k)</c>.
    /// </summary>
    /// <param name="query">[queries, *], floating point, each query (flattened) as long as a stored vector. Not changed.</param>
    /// <param name="k">How many neighbours per query: from 1 to the number of stored vectors.</param>
    /// <returns>
    /// Indices, [queries, k] int64: Indices[i, j] is the stored vector that is the j-th nearest to query i. Scores,
    /// [queries, k] floating point: that neighbour's dot product with the query as the implementation computed it
    /// (Python calls them distances; Annoy's "dot" metric returns the dot products too). Both are the caller's to
    /// dispose.
    /// </returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> is below 1 or above the number of stored vectors.</exception>
    /// <exception cref="ArgumentException"><paramref name="query"/> has vectors of another length than the stored ones, or is not floating point.</exception>
    /// <exception cref="InvalidOperationException"><see cref="Setup"/> was not called.</exception>
    (Tensor Indices, Tensor Scores) GetNearestNeighbors(Tensor query, int k);
}
