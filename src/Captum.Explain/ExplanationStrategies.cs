using Captum.Explain.Strategies;
using Microsoft.Extensions.DependencyInjection;

namespace Captum.Explain;

/// <summary>The built-in explanation strategies, and how a host registers them.</summary>
public static class ExplanationStrategies
{
    /// <summary><c>layer-ig</c>: Layer Integrated Gradients over the attribution layers (the default; the tutorial's).</summary>
    public static IExplanationStrategy LayerIntegratedGradients { get; } = new LayerIntegratedGradientsStrategy();

    /// <summary><c>interpretable-embedding</c>: Integrated Gradients on interpretable embeddings; the same numbers as <see cref="LayerIntegratedGradients"/>.</summary>
    public static IExplanationStrategy InterpretableEmbedding { get; } = new InterpretableEmbeddingStrategy();

    /// <summary><c>gradient-x-activation</c>: layer gradient times activation, one pass.</summary>
    public static IExplanationStrategy LayerGradientXActivation { get; } = new LayerGradientXActivationStrategy();

    /// <summary><c>occlusion</c>: occlusion of image patches and single tokens.</summary>
    public static IExplanationStrategy Occlusion { get; } = new OcclusionStrategy();

    /// <summary>The four built-in strategies, <see cref="LayerIntegratedGradients"/> first.</summary>
    public static ExplanationStrategyRegistry BuiltIn { get; } =
        new([LayerIntegratedGradients, InterpretableEmbedding, LayerGradientXActivation, Occlusion]);

    /// <summary>Registers the built-in strategies as <see cref="IExplanationStrategy"/> services, <see cref="LayerIntegratedGradients"/> first.</summary>
    public static IServiceCollection AddBuiltInExplanationStrategies(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        foreach (var strategy in BuiltIn.Strategies)
        {
            services.AddSingleton(strategy);
        }

        return services;
    }
}
