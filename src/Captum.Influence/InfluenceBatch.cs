using static TorchSharp.torch;

namespace Captum.Influence;

/// <summary>
/// A batch of labelled examples: <c>model(Inputs...)</c> gives the outputs, <see cref="Labels"/> what the loss compares
/// them with. Captum's batches are tuples whose last element is the labels; here the two are named.
/// </summary>
/// <param name="Inputs">The model's arguments, batch first, one batch size.</param>
/// <param name="Labels">The labels, batch first ([n] class indices for the default cross entropy).</param>
/// <remarks>The batch does not own its tensors: whoever made them disposes them.</remarks>
public sealed record InfluenceBatch(IReadOnlyList<Tensor> Inputs, Tensor Labels)
{
    /// <summary>A batch of one input tensor.</summary>
    public InfluenceBatch(Tensor inputs, Tensor labels)
        : this([inputs], labels)
    {
    }

    /// <summary>The number of examples.</summary>
    public long Count => Labels.shape.Length == 0 ? throw new ArgumentException("Labels must have a batch dimension.", nameof(Labels)) : Labels.shape[0];

    /// <summary>Checks the batch: inputs present, one batch size shared with the labels.</summary>
    /// <exception cref="ArgumentException">The batch does not fit; the message names <paramref name="argumentName"/>.</exception>
    internal void Validate(string argumentName)
    {
        if (Inputs is null || Inputs.Count == 0 || Inputs.Any(t => t is null) || Labels is null)
        {
            throw new ArgumentException($"{argumentName}: a batch needs at least one input tensor and its labels.", argumentName);
        }

        if (Labels.dim() == 0)
        {
            throw new ArgumentException($"{argumentName}: the labels must have a batch dimension, not be a scalar.", argumentName);
        }

        var n = Labels.shape[0];
        var sizes = Inputs.Select(t => t.dim() == 0 ? -1 : t.shape[0]).ToList();
        if (sizes.Any(s => s != n))
        {
            throw new ArgumentException(
                $"{argumentName}: the inputs' batch sizes [{string.Join(", ", sizes)}] differ from the labels' ({n}).", argumentName);
        }
    }
}

/// <summary>Ways to make the batches an influence method streams.</summary>
public static class InfluenceData
{
    /// <summary>
    /// The batches of a TorchSharp <c>DataLoader</c> (or any sequence of named tensors): the model's arguments under
    /// <paramref name="inputKeys"/>, in order, and the labels under <paramref name="labelKey"/>. The loader must not
    /// shuffle: influence methods enumerate it once per checkpoint and index training examples by their order.
    /// </summary>
    /// <exception cref="ArgumentException">No input key; a batch missing a key is reported, naming it, when reached.</exception>
    public static IEnumerable<InfluenceBatch> FromNamedBatches(IEnumerable<IReadOnlyDictionary<string, Tensor>> batches, string labelKey, params string[] inputKeys)
    {
        ArgumentNullException.ThrowIfNull(batches);
        ArgumentException.ThrowIfNullOrEmpty(labelKey);
        ArgumentNullException.ThrowIfNull(inputKeys);
        if (inputKeys.Length == 0)
        {
            throw new ArgumentException("inputKeys: name at least one input of the batches.", nameof(inputKeys));
        }

        return Named(batches, labelKey, inputKeys);
    }

    /// <inheritdoc cref="FromNamedBatches(IEnumerable{IReadOnlyDictionary{string, Tensor}}, string, string[])"/>
    public static IEnumerable<InfluenceBatch> FromNamedBatches(IEnumerable<Dictionary<string, Tensor>> batches, string labelKey, params string[] inputKeys) =>
        FromNamedBatches(batches?.Select(b => (IReadOnlyDictionary<string, Tensor>)b)!, labelKey, inputKeys);

    private static IEnumerable<InfluenceBatch> Named(IEnumerable<IReadOnlyDictionary<string, Tensor>> batches, string labelKey, string[] keys)
    {
        var index = 0;
        foreach (var batch in batches)
        {
            Tensor Get(string key) => batch.TryGetValue(key, out var t)
                ? t
                : throw new ArgumentException($"batches: batch {index} has no '{key}' (it has {string.Join(", ", batch.Keys)}).", nameof(batches));
            yield return new InfluenceBatch(keys.Select(Get).ToArray(), Get(labelKey));
            index++;
        }
    }

    /// <summary>
    /// Splits <paramref name="inputs"/> and <paramref name="labels"/> into batches of <paramref name="batchSize"/>
    /// examples (views, no copies), in order: Captum's <c>DataLoader(dataset, batch_size)</c> without shuffling.
    /// </summary>
    /// <exception cref="ArgumentException">The sizes do not fit, or <paramref name="batchSize"/> is not positive.</exception>
    public static IReadOnlyList<InfluenceBatch> Batches(Tensor inputs, Tensor labels, int batchSize) =>
        Batches([inputs], labels, batchSize);

    /// <inheritdoc cref="Batches(Tensor, Tensor, int)"/>
    public static IReadOnlyList<InfluenceBatch> Batches(IReadOnlyList<Tensor> inputs, Tensor labels, int batchSize)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(labels);
        if (batchSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batchSize must be at least 1.");
        }

        new InfluenceBatch(inputs, labels).Validate(nameof(inputs));
        var n = labels.shape[0];
        var batches = new List<InfluenceBatch>();
        for (long start = 0; start < n; start += batchSize)
        {
            var count = Math.Min(batchSize, n - start);
            batches.Add(new InfluenceBatch(inputs.Select(t => t.narrow(0, start, count)).ToArray(), labels.narrow(0, start, count)));
        }

        return batches;
    }
}
