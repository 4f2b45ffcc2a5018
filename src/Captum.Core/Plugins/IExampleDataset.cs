namespace Captum.Plugins;

/// <summary>
/// A dataset of examples a plugin offers for one of its models: what Captum Insights browses and what
/// <c>captum attribute-dataset</c> attributes. Register it with the host like a model provider:
/// <c>services.AddSingleton&lt;IExampleDatasetProvider, MyDataset&gt;()</c>.
/// </summary>
/// <remarks>Counterpart of the <c>dataset</c> iterable of batches Captum's <c>AttributionVisualizer</c> takes.</remarks>
public interface IExampleDatasetProvider
{
    /// <summary>A short unique name, e.g. "scenes".</summary>
    string Name { get; }

    /// <summary>One sentence on the dataset.</summary>
    string Description { get; }

    /// <summary>The <see cref="IInterpretableModelProvider.Name"/> of the model whose raw inputs the examples are, e.g. "vqa".</summary>
    string ModelName { get; }

    /// <summary>The number of examples <see cref="Open"/> gives when <see cref="ExampleDatasetOptions.Count"/> is not set.</summary>
    int DefaultCount { get; }

    /// <summary>
    /// Whether the examples suit <paramref name="model"/>, one that the <see cref="ModelName"/> provider loaded (its
    /// default or a model from given files): whether their inputs and expected labels mean to it what they mean to the
    /// model they were made for, so that its predictions can be called correct or incorrect. Captum Insights lists the
    /// examples only for a model they fit. Default true.
    /// </summary>
    /// <param name="model">A loaded model of the provider named <see cref="ModelName"/>.</param>
    bool Fits(IInterpretableModel model) => true;

    /// <summary>
    /// Opens the dataset. The same options always give the same examples in the same order, so an example is
    /// named by its index and any process can produce any part of the dataset. The caller disposes the result.
    /// </summary>
    /// <exception cref="ArgumentException">An option is invalid; the message names it.</exception>
    IExampleDataset Open(ExampleDatasetOptions options);
}

/// <summary>How to open an <see cref="IExampleDatasetProvider"/>'s dataset.</summary>
public sealed record ExampleDatasetOptions
{
    /// <summary>The number of examples; null for the provider's <see cref="IExampleDatasetProvider.DefaultCount"/>.</summary>
    public int? Count { get; init; }

    /// <summary>The seed of a generated dataset (ignored by a fixed one). Default 0.</summary>
    public long Seed { get; init; }

    /// <summary>Provider-specific settings (name to value).</summary>
    public IReadOnlyDictionary<string, string> Settings { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// For the <see cref="IExampleDatasetProvider.Open"/> of a dataset that takes no settings: the number of examples to
    /// give (<see cref="Count"/>, else <paramref name="defaultCount"/>), refusing fewer than 1 and any setting.
    /// </summary>
    /// <param name="dataset">The dataset's name, for the messages.</param>
    /// <param name="defaultCount">The provider's <see cref="IExampleDatasetProvider.DefaultCount"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">The count is below 1.</exception>
    /// <exception cref="ArgumentException">A setting is given; the message names it.</exception>
    public int CheckedCount(string dataset, int defaultCount)
    {
        var count = Count ?? defaultCount;
        if (count < 1)
        {
            throw new ArgumentOutOfRangeException("options", count, $"The {dataset} dataset: Count must be at least 1.");
        }

        if (Settings.Keys.FirstOrDefault() is { } setting)
        {
            throw new ArgumentException($"The {dataset} dataset takes no settings; '{setting}' is not one.", "options");
        }

        return count;
    }
}

/// <summary>An opened dataset: a fixed number of examples, each produced on demand by its index.</summary>
/// <remarks>Thread safety: <see cref="Get"/> may be called from several threads at once.</remarks>
public interface IExampleDataset : IDisposable
{
    /// <summary>The number of examples.</summary>
    int Count { get; }

    /// <summary>Example <paramref name="index"/>, the same every time.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is not in [0, <see cref="Count"/>).</exception>
    DatasetExample Get(int index);
}

/// <summary>One example of a dataset.</summary>
/// <param name="Id">A stable identifier, unique within the dataset (e.g. "scene-0-17").</param>
/// <param name="Inputs">The raw inputs, named as the model's <see cref="IInterpretableModel.RawInputs"/>.</param>
/// <param name="ExpectedLabel">The true label, one of the model's <see cref="IInterpretableModel.Labels"/>, when known.</param>
/// <param name="Annotations">Further facts to show or group by (e.g. "kind" = "color"); empty when none.</param>
public sealed record DatasetExample(
    string Id,
    IReadOnlyDictionary<string, RawInputValue> Inputs,
    string? ExpectedLabel,
    IReadOnlyDictionary<string, string> Annotations);
