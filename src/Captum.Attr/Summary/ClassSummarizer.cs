using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// A <see cref="Summarizer"/> per class, and one of all examples: each update is a batch whose rows are samples of
/// the classes their labels name.
/// </summary>
/// <typeparam name="TKey">The labels' type (a class index, a name, ...).</typeparam>
/// <remarks>
/// Python: <c>captum.attr.ClassSummarizer(stats)</c> with <c>update(x, labels)</c>, <c>summary</c> and
/// <c>class_summaries</c>. Dispose it to free the running tensors.
/// </remarks>
public sealed class ClassSummarizer<TKey> : IDisposable
    where TKey : notnull
{
    private readonly IReadOnlyList<Stat> stats;
    private readonly Summarizer all;
    private readonly Dictionary<TKey, Summarizer> classes = [];

    /// <summary>Creates the summarizers of <paramref name="stats"/>.</summary>
    /// <exception cref="ArgumentException">No stat.</exception>
    public ClassSummarizer(IEnumerable<Stat> stats)
    {
        ArgumentNullException.ThrowIfNull(stats);
        this.stats = stats.ToList();
        all = new Summarizer(this.stats);
    }

    /// <summary>The summary of every example of every class (input 0 unless given). Python: <c>summary</c>.</summary>
    public IReadOnlyDictionary<string, Tensor?> Summary(int input = 0) => all.Summary(input);

    /// <summary>The classes seen, in order of first appearance.</summary>
    public IReadOnlyCollection<TKey> Classes => classes.Keys;

    /// <summary>The summary of one class (input 0 unless given). Python: <c>class_summaries[label]</c>.</summary>
    /// <exception cref="KeyNotFoundException">The class was never seen.</exception>
    public IReadOnlyDictionary<string, Tensor?> ClassSummary(TKey label, int input = 0) =>
        classes.TryGetValue(label, out var s) ? s.Summary(input) : throw new KeyNotFoundException($"No example of class {label} was given.");

    /// <summary>
    /// Adds every row of a batch ([n, ...]) to the summaries of its label and of all examples; without labels, adds
    /// <paramref name="x"/> as a whole, as one sample, to the summary of all examples only.
    /// </summary>
    /// <param name="x">The batch, or several inputs of one batch size.</param>
    /// <param name="labels">
    /// One label per row, or a single label for every row; null (Python's <c>labels=None</c>) for no class: then, as in
    /// Captum, whose <c>update(x)</c> hands <c>x</c> to <c>Summarizer.update</c>, <paramref name="x"/> is not split
    /// into rows but is one sample of the overall summary, so its shape must be that of the samples before it (a row
    /// of the labelled batches, e.g. one example without its batch dimension).
    /// </param>
    /// <exception cref="ArgumentException">The labels' count is neither 1 nor the batch size, inputs differ in batch size, or (without labels) x's shape differs from earlier samples'.</exception>
    public void Update(IReadOnlyList<Tensor> x, IReadOnlyList<TKey>? labels = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (labels is null)
        {
            all.Update(x);
            return;
        }

        if (x.Count == 0 || x.Any(t => t is null || t.dim() == 0))
        {
            throw new ArgumentException("x: give at least one tensor with a batch dimension.", nameof(x));
        }

        var n = x[0].shape[0];
        if (x.Any(t => t.shape[0] != n))
        {
            throw new ArgumentException($"x: the inputs' batch sizes differ ([{string.Join(", ", x.Select(t => t.shape[0]))}]).", nameof(x));
        }

        if (labels.Count != 1 && labels.Count != n)
        {
            throw new ArgumentException($"labels: give one label, or one per example ({n}), not {labels.Count}.", nameof(labels));
        }

        for (var i = 0; i < n; i++)
        {
            var rows = x.Select(t => t[i]).ToArray();
            var label = labels.Count == 1 ? labels[0] : labels[i];
            if (!classes.TryGetValue(label, out var summarizer))
            {
                classes[label] = summarizer = new Summarizer(stats);
            }

            summarizer.Update(rows);
            all.Update(rows);
            foreach (var row in rows)
            {
                row.Dispose();
            }
        }
    }

    /// <summary>
    /// Adds every row of <paramref name="x"/> to the summaries of its label and of all examples; without labels, adds
    /// <paramref name="x"/> as one sample to the summary of all examples only (see the other overload).
    /// </summary>
    public void Update(Tensor x, IReadOnlyList<TKey>? labels = null) => Update([x], labels);

    /// <summary>Frees every summarizer's tensors.</summary>
    public void Dispose()
    {
        all.Dispose();
        foreach (var s in classes.Values)
        {
            s.Dispose();
        }

        classes.Clear();
    }
}
