using Captum.Attr;

namespace Captum.Plugins.TextGeneration.Stories;

/// <summary>The result of <see cref="SupportingFactQuality.Evaluate"/>.</summary>
/// <param name="Options">What was measured.</param>
/// <param name="Accuracy">The share of the stories the trained model answers right.</param>
/// <param name="ByMethod">The figures of each method, in the order of <see cref="SupportingFactOptions.Methods"/>.</param>
public sealed record SupportingFactReport(SupportingFactOptions Options, double Accuracy, IReadOnlyDictionary<string, SupportingFactFigures> ByMethod);
