using Captum.Plugins;

namespace Captum.Insights;

/// <summary>A model as the server holds it: the model, its worker queue, and its examples with their predictions.</summary>
internal sealed class ServedModel(InsightsModel model, int queueCapacity, int maxExamples, string? dataset) : IDisposable
{
    private readonly Lock gate = new();
    private Task<IReadOnlyList<ExampleSummary>>? examples;

    public InsightsModel Model { get; } = model;

    /// <summary>
    /// The identity of the model's examples among the served models (<see cref="DatasetIdentities"/>), or null when it
    /// has none: models of one identity have the same examples at the same indexes.
    /// </summary>
    public string? Dataset { get; } = dataset;

    public ModelWorker Worker { get; } = new(model.Name, queueCapacity, ExplainRun.IsRefusedInput);

    /// <summary>The number of examples listed (the dataset's, at most the server's limit).</summary>
    public int ExampleCount => Math.Min(Model.Examples?.Count ?? 0, maxExamples);

    /// <summary>
    /// Every example with the model's prediction, computed once on the worker (one forward pass each) and kept;
    /// null when the queue is full. An example that cannot be read or predicted is listed with its error, not its
    /// prediction. A cancelled computation (the server stopping) is forgotten; a failed one is kept, so a broken
    /// dataset is not read again on every call.
    /// </summary>
    public Task<IReadOnlyList<ExampleSummary>>? Examples(CancellationToken cancellationToken)
    {
        lock (gate)
        {
            if (examples is { IsCanceled: false })
            {
                return examples;
            }

            // The computation is shared by every caller, so no one caller's disconnect cancels it.
            examples = Worker.TryRun(Summaries, CancellationToken.None);
            return examples;
        }
    }

    /// <summary>Example <paramref name="index"/>, or null when there is none.</summary>
    public DatasetExample? Example(int index) =>
        Model.Examples is { } dataset && index >= 0 && index < ExampleCount ? dataset.Get(index) : null;

    public void Dispose() => Worker.Dispose();

    /// <summary>
    /// Each model's dataset identity, null for a model without examples: <c>dataset-1</c>, <c>dataset-2</c>, ... in the
    /// order the datasets first appear, one per <see cref="InsightsModel.ExamplesKey"/> and, for the models given
    /// none, one per dataset instance. Never the examples' count, which two datasets can share: models of one identity
    /// are explained an example by its index; the others are given its inputs, or cannot take it.
    /// </summary>
    /// <exception cref="ArgumentException">One key is given to datasets of different sizes; the message names the models.</exception>
    public static IReadOnlyList<string?> DatasetIdentities(IReadOnlyList<InsightsModel> models)
    {
        var byKey = new Dictionary<string, (string Id, InsightsModel First)>(StringComparer.Ordinal);
        var byInstance = new Dictionary<IExampleDataset, string>(ReferenceEqualityComparer.Instance);
        var identities = new List<string?>(models.Count);
        var made = 0;
        foreach (var model in models)
        {
            if (model.Examples is not { } dataset)
            {
                identities.Add(null);
                continue;
            }

            string identity;
            if (model.ExamplesKey is not { } key)
            {
                identity = byInstance.TryGetValue(dataset, out var known) ? known : byInstance[dataset] = Next();
            }
            else if (byKey.TryGetValue(key, out var first))
            {
                if (first.First.Examples!.Count != dataset.Count)
                {
                    throw new ArgumentException(
                        $"{first.First.Name} and {model.Name} are given examplesKey '{key}' for datasets of {first.First.Examples.Count} and {dataset.Count} examples: one key names one dataset.",
                        nameof(models));
                }

                identity = first.Id;
            }
            else
            {
                identity = byInstance.TryGetValue(dataset, out var known) ? known : Next();
                byKey[key] = (identity, model);
            }

            // One instance is one dataset whether a model names it by a key or not.
            byInstance.TryAdd(dataset, identity);

            identities.Add(identity);
        }

        return identities;

        string Next() => $"dataset-{++made}";
    }

    private IReadOnlyList<ExampleSummary> Summaries(CancellationToken cancellationToken)
    {
        var list = new List<ExampleSummary>(ExampleCount);
        var labels = Model.Model.Labels;
        var shown = Model.Model.RawInputs.Select(r => r.Name).ToHashSet(StringComparer.Ordinal);
        for (var i = 0; i < ExampleCount; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            DatasetExample example;
            try
            {
                example = Model.Examples!.Get(i);
            }
            catch (Exception ex) when (ex is ArgumentException or NotSupportedException or IOException or InvalidOperationException)
            {
                list.Add(new ExampleSummary(i, $"example-{i}", new Dictionary<string, string>(), [], null, null, null, new Dictionary<string, string>(), $"it cannot be read: {ErrorMessages.ForUser(ex)}"));
                continue;
            }

            var texts = example.Inputs.Where(p => !p.Value.IsContent && shown.Contains(p.Key)).ToDictionary(p => p.Key, p => p.Value.Text!, StringComparer.Ordinal);
            var files = example.Inputs.Where(p => p.Value.IsContent).Select(p => p.Key).ToList();
            string? label = null;
            string? error = null;
            try
            {
                var predicted = ExplainRun.Predict(Model.Model, example.Inputs);
                label = predicted >= 0 && predicted < labels.Count ? labels[(int)predicted] : $"#{predicted}";
            }
            catch (Exception ex) when (ex is ArgumentException or NotSupportedException or IOException or InvalidOperationException)
            {
                error = $"the model cannot predict it: {ErrorMessages.ForUser(ex)}";
            }

            var correct = example.ExpectedLabel is null || label is null ? (bool?)null : example.ExpectedLabel == label;
            list.Add(new ExampleSummary(i, example.Id, texts, files, example.ExpectedLabel, label, correct, example.Annotations, error));
        }

        return list;
    }
}

/// <summary>An example as the examples list shows it.</summary>
/// <param name="Index">Its index in the dataset (what <c>POST /api/explain</c>'s <c>example</c> takes).</param>
/// <param name="Id">Its id.</param>
/// <param name="Texts">Its text inputs that are the model's raw inputs, by name.</param>
/// <param name="Files">The names of its file inputs (images), served at <c>/api/models/{model}/examples/{index}/inputs/{name}</c>.</param>
/// <param name="Expected">The true label, when known.</param>
/// <param name="Predicted">The model's predicted label; null when the example could not be read or predicted.</param>
/// <param name="Correct">Whether the prediction is the true label; null when either is unknown.</param>
/// <param name="Annotations">Further facts from the dataset.</param>
/// <param name="Error">Why the example has no prediction; null when it has one.</param>
internal sealed record ExampleSummary(
    int Index,
    string Id,
    IReadOnlyDictionary<string, string> Texts,
    IReadOnlyList<string> Files,
    string? Expected,
    string? Predicted,
    bool? Correct,
    IReadOnlyDictionary<string, string> Annotations,
    string? Error = null);
