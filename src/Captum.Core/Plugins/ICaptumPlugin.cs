using Microsoft.Extensions.DependencyInjection;

namespace Captum.Plugins;

/// <summary>
/// The entry point of a CaptumSharp plugin: a public class with a parameterless constructor, found by the
/// host in the plugin's assembly. It names itself and registers its services, at least one
/// <see cref="IInterpretableModelProvider"/>, with the host's dependency injection container.
/// </summary>
/// <remarks>
/// This contract is stable: it is only ever extended by adding members with default implementations or
/// new types. The host shares this assembly, TorchSharp and Microsoft.Extensions.DependencyInjection.Abstractions
/// with every plugin, so types match across the boundary.
/// </remarks>
public interface ICaptumPlugin
{
    /// <summary>A short unique name, e.g. "vqa".</summary>
    string Name { get; }

    /// <summary>One sentence on what the plugin offers.</summary>
    string Description { get; }

    /// <summary>
    /// Registers the plugin's services, e.g. <c>services.AddSingleton&lt;IInterpretableModelProvider, MyProvider&gt;()</c>,
    /// commands (<see cref="IPluginCommand"/>) and explanation methods (<c>Captum.Explain.IExplanationStrategy</c>).
    /// </summary>
    void ConfigureServices(IServiceCollection services);
}
