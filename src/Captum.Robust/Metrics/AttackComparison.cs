using System.Diagnostics.CodeAnalysis;
using static TorchSharp.torch;

namespace Captum.Robust;

/// <summary>
/// One key's results: the metric's mean over the attempts, and with several attempts the element-wise min and max
/// (worst and best case for a metric such as accuracy). The tensors belong to the <see cref="AttackComparison"/>
/// that holds this summary.
/// </summary>
/// <param name="Mean">The mean over the attempts (the metric itself for one attempt and for <c>Original</c>). Python: <c>"mean"</c>.</param>
/// <param name="Min">The element-wise minimum over the attempts; null with one attempt. Python: <c>"min"</c>.</param>
/// <param name="Max">The element-wise maximum over the attempts; null with one attempt. Python: <c>"max"</c>.</param>
public sealed record AttackSummary(MetricValues Mean, MetricValues? Min, MetricValues? Max)
{
    /// <summary>Every tensor of the summary.</summary>
    internal IEnumerable<Tensor> Tensors => new[] { Mean, Min, Max }.Where(v => v is not null).SelectMany(v => v!);
}

/// <summary>
/// The results of an <see cref="AttackComparator{TArguments}"/> by key: <see cref="OriginalKey"/> first, then each
/// attack's name in the order added. The caller owns the tensors: dispose it (or let an enclosing
/// <c>torch.NewDisposeScope()</c> free them).
/// </summary>
/// <remarks>
/// Python: the dictionary <c>evaluate</c> returns, where <c>"Original"</c> maps to the metric itself (here its
/// <see cref="AttackSummary.Mean"/>) and each attack's name to a dictionary with <c>"mean"</c>, and <c>"min"</c> and
/// <c>"max"</c> for several attempts; and the dictionary <c>summary</c> returns, whose keys <c>"X Mean Attempt"</c>,
/// <c>"X Min Attempt"</c> and <c>"X Max Attempt"</c> (each mapping to <c>{"mean": ...}</c>) are here the
/// <see cref="AttackSummary.Mean"/>, <see cref="AttackSummary.Min"/> and <see cref="AttackSummary.Max"/> of key X.
/// </remarks>
public sealed class AttackComparison : IReadOnlyDictionary<string, AttackSummary>, IDisposable
{
    /// <summary>The key of the unperturbed inputs' results. Python: <c>ORIGINAL_KEY</c>.</summary>
    public const string OriginalKey = "Original";

    private readonly List<KeyValuePair<string, AttackSummary>> entries;
    private readonly Dictionary<string, AttackSummary> byKey;

    internal AttackComparison(IReadOnlyList<KeyValuePair<string, AttackSummary>> entries)
    {
        this.entries = [.. entries];
        byKey = entries.ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal);
    }

    /// <summary>The unperturbed inputs' metric.</summary>
    /// <exception cref="KeyNotFoundException">An empty summary (no batch evaluated since construction or reset).</exception>
    public AttackSummary Original => this[OriginalKey];

    /// <inheritdoc />
    public int Count => entries.Count;

    /// <inheritdoc />
    public IEnumerable<string> Keys => entries.Select(e => e.Key);

    /// <inheritdoc />
    public IEnumerable<AttackSummary> Values => entries.Select(e => e.Value);

    /// <inheritdoc />
    public AttackSummary this[string key] => byKey.TryGetValue(key, out var value)
        ? value
        : throw new KeyNotFoundException($"No results for '{key}'; the keys are {(entries.Count == 0 ? "none yet" : string.Join(", ", Keys))}.");

    /// <inheritdoc />
    public bool ContainsKey(string key) => byKey.ContainsKey(key);

    /// <inheritdoc />
    public bool TryGetValue(string key, [MaybeNullWhen(false)] out AttackSummary value) => byKey.TryGetValue(key, out value);

    /// <inheritdoc />
    public IEnumerator<KeyValuePair<string, AttackSummary>> GetEnumerator() => entries.GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Frees every tensor.</summary>
    public void Dispose()
    {
        foreach (var t in entries.SelectMany(e => e.Value.Tensors))
        {
            t.Dispose();
        }
    }
}
