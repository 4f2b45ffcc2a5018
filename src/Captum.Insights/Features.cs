namespace Captum.Insights;

/// <summary>
/// One input of the model an <see cref="AttributionVisualizer"/> serves, in the order of the model's forward
/// arguments, and how it is transformed and shown. Captum: <c>captum.insights.features.BaseFeature</c>.
/// </summary>
/// <param name="Name">The input's name, shown on the page (Captum's <c>name</c>).</param>
public abstract record Feature(string Name)
{
    /// <summary>
    /// Turn an input (one example, batch of one, after <see cref="InputTransforms"/>) into its baseline; the first is
    /// used (Captum's <c>baseline_transforms</c>). Empty: a zero baseline.
    /// </summary>
    public IReadOnlyList<Func<Tensor, Tensor>> BaselineTransforms { get; init; } = [];

    /// <summary>Applied in order to an input before the model sees it, e.g. a normalisation (Captum's <c>input_transforms</c>).</summary>
    public IReadOnlyList<Func<Tensor, Tensor>> InputTransforms { get; init; } = [];
}

/// <summary>
/// An image input: [C, H, W] per example (C 1 or 3), shown beside its heat maps. Captum: <c>ImageFeature</c>.
/// </summary>
/// <param name="Name">The input's name.</param>
public sealed record ImageFeature(string Name) : Feature(Name)
{
    /// <summary>
    /// Turns the example's (untransformed) input into the image shown, [C, H, W] in [0, 1] (Captum's
    /// <c>visualization_transform</c>); null shows the input itself, clamped to [0, 1]. Called when an example is
    /// read, possibly from several request threads at once, so it must not change shared state.
    /// </summary>
    public Func<Tensor, Tensor>? VisualizationTransform { get; init; }
}

/// <summary>
/// A text input, given to the model as one vector per token (an embedding, [tokens, dims] per example), shown as
/// words coloured by their attribution (summed over the vector). Captum: <c>TextFeature</c>.
/// </summary>
/// <param name="Name">The input's name.</param>
/// <param name="VisualizationTransform">Turns the example's input into its words, one per token (Captum's <c>visualization_transform</c>); called when an example is read, possibly from several request threads at once.</param>
public sealed record TextFeature(string Name, Func<Tensor, IReadOnlyList<string>> VisualizationTransform) : Feature(Name);

/// <summary>
/// A general (tabular) input: one value per category, [categories] per example, shown as one bar per category.
/// Captum: <c>GeneralFeature</c>.
/// </summary>
/// <param name="Name">The input's name.</param>
/// <param name="Categories">The features' names, one per element (Captum's <c>categories</c>).</param>
public sealed record GeneralFeature(string Name, IReadOnlyList<string> Categories) : Feature(Name);

/// <summary>
/// A batch of examples for an <see cref="AttributionVisualizer"/>: one tensor per feature, batch first, the true
/// classes, and further forward arguments. Captum: <c>captum.insights.Batch</c>.
/// </summary>
/// <param name="Inputs">One tensor per feature, [batch, ...] (Captum's <c>inputs</c>).</param>
/// <param name="Labels">The true class of each example, [batch] integers (Captum's <c>labels</c>).</param>
/// <param name="AdditionalArgs">Further forward arguments passed after the inputs, batch first when tensors (Captum's <c>additional_args</c>); null for none.</param>
public sealed record Batch(IReadOnlyList<Tensor> Inputs, Tensor Labels, IReadOnlyList<object?>? AdditionalArgs = null);
