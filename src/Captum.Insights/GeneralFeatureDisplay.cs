using Captum.Plugins;

namespace Captum.Insights;

/// <summary>
/// A general (tabular) input: a vector of named features, shown as one attribution bar per feature.
/// </summary>
/// <param name="Name">The input's name.</param>
/// <param name="FeatureNames">The features' names, one per element of the input (Captum's <c>GeneralFeature.categories</c>).</param>
public sealed record GeneralFeatureDisplay(string Name, IReadOnlyList<string> FeatureNames) : InputDisplay(Name);
