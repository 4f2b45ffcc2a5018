using Captum.Plugins;

namespace Captum.Insights;

/// <summary>
/// A model Captum Insights serves: an <see cref="IInterpretableModel"/> (a plugin's, or one
/// <see cref="AttributionVisualizer"/> builds), the examples it browses (an <see cref="IExampleDataset"/>), and
/// whether users may upload their own inputs.
/// </summary>
/// <remarks>
/// The server uses <see cref="Model"/> on one thread only, the model's worker (a queue per model: one attribution or
/// prediction at a time), so the model need not be thread-safe. The dataset must be, as
/// <see cref="IExampleDataset"/> says: the worker reads the examples it predicts and explains while request threads
/// call <see cref="IExampleDataset.Get"/> at the same time (an example's image for the page, an explain request's
/// inputs). Disposing the <see cref="InsightsModel"/> disposes the model
/// and the dataset when it owns them.
/// </remarks>
public sealed class InsightsModel : IDisposable
{
    private readonly bool ownsModel;

    /// <summary>Creates a served model.</summary>
    /// <param name="model">The model.</param>
    /// <param name="examples">The examples to browse, or null for none (then only uploads are explained, so the model must take them).</param>
    /// <param name="description">One sentence on the model, shown on the page; default the model's name.</param>
    /// <param name="acceptsUploads">
    /// Whether <c>POST /api/explain</c> takes uploaded raw inputs (<see cref="IInterpretableModel.RawInputs"/>: image
    /// files and texts); default true when the model has raw inputs.
    /// </param>
    /// <param name="ownsModel">Whether disposing this disposes <paramref name="model"/> and <paramref name="examples"/>; default true.</param>
    /// <param name="examplesKey">
    /// Names the dataset <paramref name="examples"/> is, for models served together: models given one key have the
    /// same examples at the same indexes (e.g. one provider's dataset opened twice with the same options, which
    /// <see cref="IExampleDatasetProvider.Open"/> promises gives the same examples), so the page explains an example
    /// on each by its index. Default null: the examples are shared only with the models given the same
    /// <see cref="IExampleDataset"/> instance. See <see cref="ExamplesKey"/>.
    /// </param>
    /// <exception cref="ArgumentException">
    /// The model has no labels or no attribution layers; uploads are asked for a model without raw inputs; it would
    /// explain nothing (no examples, or none in the dataset, and no uploads); or a key is given without examples, or
    /// blank.
    /// </exception>
    public InsightsModel(IInterpretableModel model, IExampleDataset? examples = null, string? description = null, bool? acceptsUploads = null, bool ownsModel = true, string? examplesKey = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.Labels.Count == 0)
        {
            throw new ArgumentException($"{model.Name} has no labels.", nameof(model));
        }

        if (model.AttributionLayers.Count == 0)
        {
            throw new ArgumentException($"{model.Name} has no attribution layers.", nameof(model));
        }

        var canUpload = model.RawInputs.Count > 0;
        if (acceptsUploads == true && !canUpload)
        {
            throw new ArgumentException($"{model.Name} takes no raw inputs, so it cannot accept uploads.", nameof(acceptsUploads));
        }

        if ((examples is null || examples.Count == 0) && !(acceptsUploads ?? canUpload))
        {
            var none = examples is null ? "examples is null" : "examples holds none";
            var noUploads = acceptsUploads == false ? "acceptsUploads is false" : "acceptsUploads is false, as it takes no raw inputs";
            throw new ArgumentException(
                $"{model.Name} has nothing to explain: {none} and {noUploads}; give it examples{(canUpload ? ", or let it take uploads (acceptsUploads)" : string.Empty)}.",
                nameof(examples));
        }

        if (examplesKey is not null && (examples is null || string.IsNullOrWhiteSpace(examplesKey)))
        {
            throw new ArgumentException(examples is null
                ? $"examplesKey names a dataset, and {model.Name} is given no examples."
                : "examplesKey must not be blank: give the dataset's name, or null.", nameof(examplesKey));
        }

        Model = model;
        Examples = examples;
        ExamplesKey = examplesKey;
        Description = string.IsNullOrWhiteSpace(description) ? model.Name : description;
        AcceptsUploads = acceptsUploads ?? canUpload;
        this.ownsModel = ownsModel;
    }

    /// <summary>The model's name (<see cref="IInterpretableModel.Name"/>): how the API names it.</summary>
    public string Name => Model.Name;

    /// <summary>One sentence on the model.</summary>
    public string Description { get; }

    /// <summary>The model.</summary>
    public IInterpretableModel Model { get; }

    /// <summary>The examples to browse, or null.</summary>
    public IExampleDataset? Examples { get; }

    /// <summary>
    /// The name of the dataset <see cref="Examples"/> is, or null: the server gives models of one key (else of one
    /// dataset instance) one dataset identity in <c>GET /api/models</c>, and the page explains an example by its index
    /// only on those.
    /// </summary>
    public string? ExamplesKey { get; }

    /// <summary>Whether uploaded raw inputs are explained.</summary>
    public bool AcceptsUploads { get; }

    /// <summary>Disposes the model and the examples, when owned.</summary>
    public void Dispose()
    {
        if (ownsModel)
        {
            Examples?.Dispose();
            Model.Dispose();
        }
    }
}
