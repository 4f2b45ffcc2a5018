using static TorchSharp.torch;

namespace Captum.Influence;

/// <summary>The argument checks shared by the <see cref="INearestNeighbors"/> implementations.</summary>
internal static class NearestNeighborsArguments
{
    /// <summary>
    /// <paramref name="data"/> ([stored vectors, *]) as [stored vectors, length]: a new handle, in the caller's dispose
    /// scope, a view of the same storage where the layout allows.
    /// </summary>
    /// <exception cref="ArgumentException">No rows, no dimensions or not floating point; the message names <paramref name="name"/>.</exception>
    public static Tensor Rows(Tensor data, string name)
    {
        ArgumentNullException.ThrowIfNull(data, name);
        if (data.Dimensions < 1 || data.shape[0] < 1 || !data.is_floating_point())
        {
            throw new ArgumentException($"{name}: expected floating-point [stored vectors, ...] with at least one vector, got {data.dtype} [{string.Join(", ", data.shape)}].", name);
        }

        return data.reshape(data.shape[0], Width(data));
    }

    /// <summary>
    /// Checks a query against the stored vectors and returns it as [queries, length] (a new handle, in the caller's
    /// dispose scope).
    /// </summary>
    /// <exception cref="InvalidOperationException">Nothing is stored yet.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> outside 1 to the number of stored vectors.</exception>
    /// <exception cref="ArgumentException">The query's vectors have another length, or it is not floating point.</exception>
    public static Tensor Query(Tensor query, int k, Tensor? stored, string implementation)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (stored is null)
        {
            throw new InvalidOperationException($"{implementation}: call Setup with the stored vectors before GetNearestNeighbors.");
        }

        if (k < 1 || k > stored.shape[0])
        {
            throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be from 1 to the number of stored vectors ({stored.shape[0]}).");
        }

        if (query.Dimensions < 1 || !query.is_floating_point() || Width(query) != stored.shape[1])
        {
            throw new ArgumentException(
                $"query: expected floating-point [queries, ...] whose every query has {stored.shape[1]} elements, as the stored vectors, got {query.dtype} [{string.Join(", ", query.shape)}].",
                nameof(query));
        }

        return query.reshape(query.shape[0], stored.shape[1]);
    }

    // The elements per row of [rows, *]; 1 for one dimension.
    private static long Width(Tensor t) => t.shape.Skip(1).Aggregate(1L, (a, b) => a * b);
}
