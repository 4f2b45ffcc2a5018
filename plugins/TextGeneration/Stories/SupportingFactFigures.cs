using Captum.Attr;

namespace Captum.Plugins.TextGeneration.Stories;

/// <summary>One method's figures.</summary>
/// <param name="SupportingFact">The share of stories whose highest-attributed sentence is the supporting fact (ties shared), for the trained network.</param>
/// <param name="RandomSupportingFact">The same for the network with random weights.</param>
/// <param name="Chance">The same for a sentence drawn at random: the mean of 1 / sentences.</param>
public sealed record SupportingFactFigures(double SupportingFact, double RandomSupportingFact, double Chance);
