using System.Globalization;
using Captum.Attr;
using Captum.Explain;
using Captum.Forward;
using Captum.Layers;
using Captum.Plugins;
using Captum.Runtime;
using Captum.Visualization;

namespace Captum.Insights;

/// <summary>
/// Serves your own models in Captum Insights: the models, their classes, their input features and a dataset of
/// batches, as Captum's <c>AttributionVisualizer</c> takes them. Every feature is attributed through an identity
/// layer in front of the model (<see cref="ModelInputWrapper"/>), so every explanation method the server offers
/// works on it. Captum: <c>captum.insights.AttributionVisualizer(models, classes, features, dataset, score_func)</c>.
/// </summary>
/// <remarks>
/// The examples are read from the dataset once, when <see cref="ServeAsync"/> or <see cref="ToInsightsModels"/> is
/// called, at most <see cref="MaxExamples"/> of them, and kept as copies (the batches stay the caller's); the copies
/// are freed when the last of the models made from them is disposed (when the server stops). The page
/// shows <see cref="ScoreFunction"/> of the model's outputs, by default their softmax probabilities.
/// The models stay the caller's; they are not disposed.
/// </remarks>
public sealed class AttributionVisualizer
{
    private readonly IReadOnlyList<nn.Module> models;
    private readonly IReadOnlyList<string> names;

    /// <summary>Creates the visualizer.</summary>
    /// <param name="models">The models (Captum's <c>models</c>), each taking one tensor per feature (then the batches' additional arguments) and returning [batch, classes] logits.</param>
    /// <param name="classes">The class names, indexed by class, one per output of the models (Captum's <c>classes</c>); an example of a model whose outputs are not as many is listed with an error, and explaining it is refused.</param>
    /// <param name="features">The features, in the order of the models' forward arguments (Captum's <c>features</c>).</param>
    /// <param name="dataset">The batches of examples (Captum's <c>dataset</c>).</param>
    /// <param name="modelNames">The models' names on the page; default "model", or "model-1", "model-2", ... for several.</param>
    /// <exception cref="ArgumentException">No model, class or feature; names that repeat; a model with fewer forward arguments than features.</exception>
    public AttributionVisualizer(IReadOnlyList<nn.Module> models, IReadOnlyList<string> classes, IReadOnlyList<Feature> features, IEnumerable<Batch> dataset, IReadOnlyList<string>? modelNames = null)
    {
        ArgumentNullException.ThrowIfNull(models);
        ArgumentNullException.ThrowIfNull(classes);
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(dataset);
        TorchRuntime.EnsureAvailable();
        Require(models.Count > 0, nameof(models), "at least one model is needed.");
        Require(classes.Count > 0, nameof(classes), "at least one class is needed.");
        Require(features.Count > 0, nameof(features), "at least one feature is needed.");
        Require(features.Select(f => f.Name).Distinct(StringComparer.Ordinal).Count() == features.Count, nameof(features), "two features have one name.");
        names = modelNames ?? (models.Count == 1 ? ["model"] : models.Select((_, i) => $"model-{i + 1}").ToList());
        Require(names.Count == models.Count, nameof(modelNames), $"{names.Count} names for {models.Count} models.");
        Require(names.Distinct(StringComparer.Ordinal).Count() == names.Count, nameof(modelNames), "two models have one name.");
        this.models = models;
        Classes = classes;
        Features = features;
        Dataset = dataset;
    }

    /// <summary>The class names.</summary>
    public IReadOnlyList<string> Classes { get; }

    /// <summary>The features.</summary>
    public IReadOnlyList<Feature> Features { get; }

    /// <summary>The dataset of batches.</summary>
    public IEnumerable<Batch> Dataset { get; }

    /// <summary>
    /// The scores the page shows for a model's outputs ([batch, classes] from [batch, classes]; the predicted class is
    /// the highest); null (the default) for the softmax of the outputs, read as logits. Attributions are of the
    /// model's outputs themselves, as in Captum. Captum: <c>score_func</c>, whose default shows the outputs as they are.
    /// </summary>
    public Func<Tensor, Tensor>? ScoreFunction { get; init; }

    /// <summary>The most examples read from the dataset. Default 500.</summary>
    public int MaxExamples { get; init; } = 500;

    /// <summary>
    /// Starts Captum Insights on the models (on 127.0.0.1 and a free port unless <paramref name="options"/> say
    /// otherwise; see <see cref="InsightsServer.Url"/>). Dispose the server to stop it. Captum: <c>serve()</c>.
    /// </summary>
    /// <exception cref="ArgumentException">A batch does not fit the features or the classes, or the dataset holds no examples; the message names it.</exception>
    public async Task<InsightsServer> ServeAsync(InsightsServerOptions? options = null, ExplanationStrategyRegistry? strategies = null, CancellationToken cancellationToken = default)
    {
        var served = ToInsightsModels();
        try
        {
            return await InsightsServer.StartAsync(served, strategies, options, ownsModels: true, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            foreach (var m in served)
            {
                m.Dispose();
            }

            throw;
        }
    }

    /// <summary>
    /// The models as <see cref="InsightsModel"/>s sharing the dataset's examples, under one
    /// <see cref="InsightsModel.ExamplesKey"/> of this call's own (to serve with other models). The caller
    /// disposes them (a server given them with <c>ownsModels</c> does); disposing one leaves the user's model alive, and
    /// the examples' copies are freed with the last of them.
    /// </summary>
    /// <exception cref="ArgumentException">A batch does not fit the features or the classes, or the dataset holds no examples; the message names it.</exception>
    public IReadOnlyList<InsightsModel> ToInsightsModels()
    {
        var examples = new StoredExamples(ReadExamples());

        // Each model has a dataset of its own over the one copy of the examples: one key says they are the same, and
        // only these (a second call reads the dataset again, which may give other batches).
        var examplesKey = $"AttributionVisualizer examples {Guid.NewGuid():N}";
        var built = new List<InsightsModel>();
        try
        {
            for (var i = 0; i < models.Count; i++)
            {
                var modelShare = examples.Share();
                var datasetShare = examples.Share();
                try
                {
                    built.Add(new InsightsModel(new VisualizerModel(names[i], models[i], this, modelShare), new VisualizerExamples(this, datasetShare), names[i], acceptsUploads: false, examplesKey: examplesKey));
                }
                catch
                {
                    modelShare.Release();
                    datasetShare.Release();
                    throw;
                }
            }
        }
        catch
        {
            foreach (var model in built)
            {
                model.Dispose();
            }

            throw;
        }
        finally
        {
            // The models hold the examples now; they are freed when the last one is disposed.
            examples.Release();
        }

        return built;
    }

    private List<StoredExample> ReadExamples()
    {
        var examples = new List<StoredExample>();
        try
        {
            ReadExamples(examples);
        }
        catch
        {
            StoredExamples.Free(examples);
            throw;
        }

        return examples;
    }

    private void ReadExamples(List<StoredExample> examples)
    {
        var batchIndex = 0;
        foreach (var batch in Dataset)
        {
            // The batch's temporaries (labels, slices) are freed here; the kept copies leave the scope.
            using var scope = torch.NewDisposeScope();
            ArgumentNullException.ThrowIfNull(batch, nameof(Dataset));
            var where = $"batch {batchIndex}";
            Require(batch.Inputs.Count == Features.Count, nameof(Dataset), $"{where} has {batch.Inputs.Count} inputs for {Features.Count} features.");
            var size = batch.Labels.shape.Length == 1 ? batch.Labels.shape[0] : throw new ArgumentException($"{where}: labels must be [batch], not [{string.Join(", ", batch.Labels.shape)}].", nameof(Dataset));
            Require(batch.Inputs.All(t => t.dim() >= 1 && t.shape[0] == size), nameof(Dataset), $"{where}: every input must have {size} examples, as the labels.");
            var labels = batch.Labels.to_type(ScalarType.Int64).cpu().data<long>().ToArray();
            for (var i = 0; i < size && examples.Count < MaxExamples; i++)
            {
                Require(labels[i] >= 0 && labels[i] < Classes.Count, nameof(Dataset), $"{where}: label {labels[i]} of example {i} is not a class (there are {Classes.Count}).");
                var inputs = batch.Inputs.Select(t => t[i].unsqueeze(0).detach().clone().DetachFromDisposeScope()).ToArray();
                var additional = (batch.AdditionalArgs ?? []).Select(a => a is Tensor t && t.dim() >= 1 && t.shape[0] == size ? t[i].unsqueeze(0).detach().clone().DetachFromDisposeScope() : a).ToArray();
                examples.Add(new StoredExample(inputs, additional, Classes[(int)labels[i]]));
            }

            batchIndex++;
            if (examples.Count >= MaxExamples)
            {
                break;
            }
        }

        // Its models explain its examples only (they take no uploads): without one they would explain nothing.
        Require(examples.Count > 0, nameof(Dataset), $"the dataset holds no examples ({batchIndex} batches): the models would have nothing to explain, as they explain the dataset's examples only.");
    }

    private static void Require(bool ok, string name, string message)
    {
        if (!ok)
        {
            throw new ArgumentException(message, name);
        }
    }

    internal const string ExampleInput = "example";

    internal sealed record StoredExample(Tensor[] Inputs, object?[] AdditionalArgs, string Label);

    /// <summary>
    /// The kept copies of the examples, shared by the models made from them: each holder takes a share and releases
    /// it once; the tensors are freed when the last share is released.
    /// </summary>
    private sealed class StoredExamples(List<StoredExample> examples)
    {
        private int holders = 1;

        public IReadOnlyList<StoredExample> Items => examples;

        public Holder Share()
        {
            Interlocked.Increment(ref holders);
            return new Holder(this);
        }

        public void Release()
        {
            if (Interlocked.Decrement(ref holders) == 0)
            {
                Free(examples);
            }
        }

        public static void Free(List<StoredExample> list)
        {
            foreach (var example in list)
            {
                foreach (var t in example.Inputs)
                {
                    t.Dispose();
                }

                foreach (var a in example.AdditionalArgs)
                {
                    (a as Tensor)?.Dispose();
                }
            }

            list.Clear();
        }

        /// <summary>One share of the examples; releasing it twice releases it once.</summary>
        public sealed class Holder(StoredExamples owner)
        {
            private int released;

            public IReadOnlyList<StoredExample> Items => owner.Items;

            public void Release()
            {
                if (Interlocked.Exchange(ref released, 1) == 0)
                {
                    owner.Release();
                }
            }
        }
    }

    /// <summary>The served model: the user's model behind identity layers, its examples prepared from the kept tensors.</summary>
    private sealed class VisualizerModel : IInterpretableModel
    {
        private readonly ModelInputWrapper wrapper;
        private readonly AttributionVisualizer owner;
        private readonly IReadOnlyList<StoredExample> examples;
        private readonly StoredExamples.Holder share;

        public VisualizerModel(string name, nn.Module model, AttributionVisualizer owner, StoredExamples.Holder share)
        {
            wrapper = new ModelInputWrapper(model);
            Require(wrapper.ArgumentNames.Count >= owner.Features.Count, nameof(models), $"{name} takes {wrapper.ArgumentNames.Count} arguments, fewer than the {owner.Features.Count} features.");
            Name = name;
            this.owner = owner;
            this.share = share;
            examples = share.Items;
            Forward = wrapper.AsForwardFunction();

            // What the page shows of an example; nothing is uploaded (the model explains its examples only).
            RawInputs = owner.Features
                .Where(f => f is ImageFeature or TextFeature)
                .Select(f => new RawInputSpec(f.Name, f is ImageFeature ? RawInputKind.ImageFile : RawInputKind.Text, f.Name))
                .ToList();
            AttributionLayers = owner.Features.Select((_, i) => (LayerReference)$"input_maps.{wrapper.ArgumentNames[i]}").ToList();
        }

        public string Name { get; }

        public IReadOnlyList<RawInputSpec> RawInputs { get; }

        public ForwardFunction Forward { get; }

        public IReadOnlyList<LayerReference> AttributionLayers { get; }

        public IReadOnlyList<string> Labels => owner.Classes;

        public Tensor Scores(Tensor outputs)
        {
            // The classes name the model's outputs, one each: with another count the page would show a prediction
            // past the names as "#3", or never predict the named classes the model has no output for.
            if (outputs.dim() == 2 && outputs.shape[1] != owner.Classes.Count)
            {
                throw new ArgumentException(
                    $"{Name} returns {outputs.shape[1]} scores per example but classes names {owner.Classes.Count} ({string.Join(", ", owner.Classes)}): give one class name per output of the model.",
                    "classes");
            }

            return owner.ScoreFunction is { } score ? score(outputs) : torch.softmax(outputs, 1);
        }

        // Only the example's index is read; the other inputs of an example are there for the page to show.
        public PreparedInput Prepare(IReadOnlyDictionary<string, RawInputValue> rawInputs)
        {
            ArgumentNullException.ThrowIfNull(rawInputs);
            return rawInputs.TryGetValue(ExampleInput, out var value) && value?.Text is { } text
                ? Prepare(new Dictionary<string, string> { [ExampleInput] = text })
                : throw new ArgumentException($"rawInputs lacks '{ExampleInput}': {Name} explains its examples only.", nameof(rawInputs));
        }

        public PreparedInput Prepare(IReadOnlyDictionary<string, string> rawInputs)
        {
            ArgumentNullException.ThrowIfNull(rawInputs);
            var text = rawInputs.TryGetValue(ExampleInput, out var t) ? t : throw new ArgumentException($"rawInputs lacks '{ExampleInput}': {Name} explains its examples only.", nameof(rawInputs));
            var index = int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i < examples.Count ? i : throw new ArgumentException($"'{ExampleInput}' must be an example's index in [0, {examples.Count}), not '{text}'.", nameof(rawInputs));
            var example = examples[index];
            var inputs = new List<Tensor>();
            var baselines = new List<BaselineValue>();
            var displays = new List<InputDisplay>();
            for (var f = 0; f < owner.Features.Count; f++)
            {
                var feature = owner.Features[f];
                var input = feature.InputTransforms.Aggregate(example.Inputs[f].alias(), (x, transform) => transform(x));
                inputs.Add(input);
                baselines.Add(feature.BaselineTransforms.Count > 0 ? feature.BaselineTransforms[0](input) : torch.zeros_like(input));
                displays.Add(feature switch
                {
                    ImageFeature image => new ImageDisplay(feature.Name, (image.VisualizationTransform?.Invoke(example.Inputs[f].squeeze(0)) ?? example.Inputs[f].squeeze(0)).clamp(0, 1)),
                    TextFeature textFeature => Words(textFeature, example.Inputs[f]),
                    GeneralFeature general => new GeneralFeatureDisplay(feature.Name, general.Categories),
                    _ => throw new ArgumentException($"{feature.GetType().Name} is not a feature kind Insights shows.", nameof(rawInputs)),
                });
            }

            return new PreparedInput(inputs, baselines, example.AdditionalArgs, displays);
        }

        // The wrapper disposes its identity layers only; the user's model stays the caller's.
        public void Dispose()
        {
            wrapper.Dispose();
            share.Release();
        }

        private static TextDisplay Words(TextFeature feature, Tensor input)
        {
            var tokens = feature.VisualizationTransform(input.squeeze(0));
            return new TextDisplay(feature.Name, string.Join(' ', tokens), tokens);
        }
    }

    /// <summary>The examples as a dataset: each example's text features as words, its image features as PNGs, its index.</summary>
    private sealed class VisualizerExamples(AttributionVisualizer owner, StoredExamples.Holder share) : IExampleDataset
    {
        private readonly IReadOnlyList<StoredExample> examples = share.Items;

        public int Count => examples.Count;

        public DatasetExample Get(int index)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(index);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, examples.Count);
            var example = examples[index];
            var inputs = new Dictionary<string, RawInputValue>(StringComparer.Ordinal) { [ExampleInput] = index.ToString(CultureInfo.InvariantCulture) };
            for (var f = 0; f < owner.Features.Count; f++)
            {
                using var scope = torch.NewDisposeScope();
                switch (owner.Features[f])
                {
                    case ImageFeature image:
                        var shown = (image.VisualizationTransform?.Invoke(example.Inputs[f].squeeze(0)) ?? example.Inputs[f].squeeze(0)).clamp(0, 1);
                        var pixels = TensorImages.ToHwcArray(shown.detach().cpu(), TensorImageLayout.Chw);
                        inputs[image.Name] = RawInputValue.FromContent(ImageVisualizer.RenderImageAttr(pixels, pixels, ImageVisualizationMethod.OriginalImage).ToPng(), $"{image.Name} {index}");
                        break;
                    case TextFeature text:
                        inputs[text.Name] = string.Join(' ', text.VisualizationTransform(example.Inputs[f].squeeze(0)));
                        break;
                }
            }

            return new DatasetExample($"example-{index}", inputs, example.Label, new Dictionary<string, string>());
        }

        public void Dispose() => share.Release();
    }
}
