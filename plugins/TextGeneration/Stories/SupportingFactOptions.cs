using Captum.Attr;

namespace Captum.Plugins.TextGeneration.Stories;

/// <summary>What <see cref="SupportingFactQuality"/> measures.</summary>
public sealed record SupportingFactOptions
{
    /// <summary>Stories to generate and explain.</summary>
    public int Stories { get; init; } = 200;

    /// <summary>The story stream; not the model's training stream (1 for the shipped model) nor its held-out one (2).</summary>
    public long Seed { get; init; } = 1000;

    /// <summary>The methods, from <see cref="SupportingFactQuality.Methods"/>; all of them by default.</summary>
    public IReadOnlyList<string> Methods { get; init; } = SupportingFactQuality.Methods;

    /// <summary>The <c>torch.manual_seed</c> of the network with random weights.</summary>
    public long RandomWeightsSeed { get; init; }

    /// <summary>Integration steps of layer-ig.</summary>
    public int Steps { get; init; } = 50;

    /// <summary>Checks the options.</summary>
    /// <exception cref="ArgumentException">One is out of range or a method is unknown; the message names it.</exception>
    public void Validate()
    {
        if (Stories < 1)
        {
            throw new ArgumentException($"Stories must be at least 1, not {Stories}.", nameof(Stories));
        }

        if (Steps < 1)
        {
            throw new ArgumentException($"Steps must be at least 1, not {Steps}.", nameof(Steps));
        }

        if (Methods is null || Methods.Count == 0 || Methods.Distinct().Count() != Methods.Count)
        {
            throw new ArgumentException($"Methods: give one or more of {string.Join(", ", SupportingFactQuality.Methods)}, each once.", nameof(Methods));
        }

        if (Methods.FirstOrDefault(m => !SupportingFactQuality.Methods.Contains(m)) is { } unknown)
        {
            throw new ArgumentException($"Methods: \"{unknown}\" is not one of {string.Join(", ", SupportingFactQuality.Methods)}.", nameof(Methods));
        }
    }
}
