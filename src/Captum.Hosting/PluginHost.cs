using System.Reflection;
using Captum.Explain;
using Captum.Plugins;
using McMaster.NETCore.Plugins;
using Microsoft.Extensions.DependencyInjection;

namespace Captum.Hosting;

/// <summary>A plugin that loaded: its entry point and where it came from.</summary>
/// <param name="Plugin">The plugin's entry point.</param>
/// <param name="AssemblyPath">The plugin's main assembly.</param>
public sealed record LoadedPlugin(ICaptumPlugin Plugin, string AssemblyPath);

/// <summary>A plugin that did not load, with the path and the reason.</summary>
/// <param name="Path">The plugin folder or assembly.</param>
/// <param name="Reason">Why it failed, in one line.</param>
public sealed record PluginLoadFailure(string Path, string Reason);

/// <summary>
/// Finds plugin folders, loads each plugin in its own load context with McMaster.NETCore.Plugins (sharing
/// the contract, the explanation strategies, TorchSharp and the dependency injection abstractions with the
/// host, so types match), and
/// builds one service provider from every plugin's registrations. A plugin that fails to load is reported
/// with its path and reason; the others still load.
/// </summary>
/// <remarks>
/// A plugin folder holds the plugin's build output; its main assembly is <c>&lt;folder name&gt;.dll</c>, or
/// the assembly named by the folder's only <c>*.deps.json</c>. The host owns the loaded plugins: dispose it
/// to dispose the service provider.
/// </remarks>
public sealed class PluginHost : IDisposable
{
    private static readonly Type[] SharedTypes =
    [
        typeof(ICaptumPlugin),
        typeof(IExplanationStrategy),
        typeof(IServiceCollection),
        typeof(TorchSharp.torch),
    ];

    private readonly ServiceProvider services;
    private readonly List<PluginLoader> loaders;

    private PluginHost(ServiceProvider services, List<PluginLoader> loaders, IReadOnlyList<LoadedPlugin> plugins, IReadOnlyList<PluginLoadFailure> failures)
    {
        this.services = services;
        this.loaders = loaders;
        Plugins = plugins;
        Failures = failures;
    }

    /// <summary>The plugins that loaded.</summary>
    public IReadOnlyList<LoadedPlugin> Plugins { get; }

    /// <summary>The plugins that did not load, with reasons.</summary>
    public IReadOnlyList<PluginLoadFailure> Failures { get; }

    /// <summary>The services every plugin registered, plus the host's own.</summary>
    public IServiceProvider Services => services;

    /// <summary>Every model provider the plugins registered.</summary>
    public IReadOnlyList<IInterpretableModelProvider> ModelProviders => services.GetServices<IInterpretableModelProvider>().ToList();

    /// <summary>Every dataset the plugins registered (<see cref="IExampleDatasetProvider"/>), in registration order.</summary>
    public IReadOnlyList<IExampleDatasetProvider> ExampleDatasets => services.GetServices<IExampleDatasetProvider>().ToList();

    /// <summary>Every command the plugins registered (<see cref="IPluginCommand"/>), in registration order.</summary>
    public IReadOnlyList<IPluginCommand> Commands => services.GetServices<IPluginCommand>().ToList();

    /// <summary>
    /// The explanation strategies: the built-in ones (<see cref="Captum.Explain.ExplanationStrategies"/>, registered first), those
    /// the host's own registrations add, then those of the plugins (<see cref="IExplanationStrategy"/> services). The
    /// first strategy of a name wins.
    /// </summary>
    public ExplanationStrategyRegistry ExplanationStrategies => new(services.GetServices<IExplanationStrategy>());

    /// <summary>The model provider named <paramref name="name"/> (case-insensitive).</summary>
    /// <exception cref="ArgumentException">No plugin offers it; the message lists those that exist.</exception>
    public IInterpretableModelProvider GetModelProvider(string name)
    {
        var providers = ModelProviders;
        return providers.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase))
            ?? throw new ArgumentException(
                $"No plugin offers a model named '{name}'. Available: {(providers.Count == 0 ? "none" : string.Join(", ", providers.Select(p => p.Name)))}.",
                nameof(name));
    }

    /// <summary>
    /// Loads every plugin folder found under <paramref name="pluginRoots"/> (each root's subfolders are
    /// plugin folders; a root that is itself a plugin folder is loaded directly). Missing roots are skipped.
    /// </summary>
    /// <param name="pluginRoots">Folders to search.</param>
    /// <param name="configure">Optional host registrations, added after the built-in explanation strategies and before the plugins'.</param>
    public static PluginHost Load(IEnumerable<string> pluginRoots, Action<IServiceCollection>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(pluginRoots);
        var collection = new ServiceCollection();
        collection.AddBuiltInExplanationStrategies();
        configure?.Invoke(collection);
        var loaded = new List<LoadedPlugin>();
        var failures = new List<PluginLoadFailure>();
        var loaders = new List<PluginLoader>();
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var folder in pluginRoots.Where(Directory.Exists).SelectMany(PluginFolders).Distinct())
        {
            string? assembly = null;
            try
            {
                assembly = MainAssembly(folder);
                var loader = PluginLoader.CreateFromAssemblyFile(assembly, SharedTypes, config => config.PreferSharedTypes = true);
                loaders.Add(loader);
                var entryTypes = loader.LoadDefaultAssembly().GetExportedTypes()
                    .Where(t => typeof(ICaptumPlugin).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
                    .ToList();
                if (entryTypes.Count == 0)
                {
                    throw new InvalidOperationException($"no public class implements {nameof(ICaptumPlugin)}");
                }

                // Everything an assembly registers is staged, and kept only if the whole assembly loads.
                var staged = new ServiceCollection();
                var stagedPlugins = new List<LoadedPlugin>();
                var stagedNames = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
                foreach (var type in entryTypes)
                {
                    var plugin = (ICaptumPlugin)(Activator.CreateInstance(type)
                        ?? throw new InvalidOperationException($"{type.FullName} could not be created"));
                    if (names.Contains(plugin.Name) || !stagedNames.Add(plugin.Name))
                    {
                        throw new InvalidOperationException($"a plugin named '{plugin.Name}' is already loaded");
                    }

                    plugin.ConfigureServices(staged);
                    stagedPlugins.Add(new LoadedPlugin(plugin, assembly));
                }

                foreach (var descriptor in staged)
                {
                    ((IList<ServiceDescriptor>)collection).Add(descriptor);
                }

                names.UnionWith(stagedNames);
                loaded.AddRange(stagedPlugins);
            }
            catch (Exception ex)
            {
                failures.Add(new PluginLoadFailure(assembly ?? folder, Describe(ex)));
            }
        }

        return new PluginHost(collection.BuildServiceProvider(), loaders, loaded, failures);
    }

    /// <summary>Disposes the service provider and the plugin loaders.</summary>
    public void Dispose()
    {
        services.Dispose();
        foreach (var loader in loaders)
        {
            loader.Dispose();
        }
    }

    private static IEnumerable<string> PluginFolders(string root)
    {
        var full = Path.GetFullPath(root);
        return LooksLikePlugin(full) ? [full] : Directory.GetDirectories(full).OrderBy(d => d, StringComparer.Ordinal);
    }

    private static bool LooksLikePlugin(string folder) =>
        File.Exists(Path.Combine(folder, Path.GetFileName(folder) + ".dll"));

    private static string MainAssembly(string folder)
    {
        var byName = Path.Combine(folder, Path.GetFileName(folder) + ".dll");
        if (File.Exists(byName))
        {
            return byName;
        }

        var deps = Directory.GetFiles(folder, "*.deps.json");
        if (deps.Length == 1)
        {
            var candidate = Path.Combine(folder, Path.GetFileName(deps[0])[..^".deps.json".Length] + ".dll");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException($"no main assembly: expected {Path.GetFileName(folder)}.dll or a single *.deps.json naming one");
    }

    private static string Describe(Exception ex)
    {
        var inner = ex is TargetInvocationException or TypeInitializationException && ex.InnerException is not null ? ex.InnerException! : ex;
        if (inner is ReflectionTypeLoadException rtl && rtl.LoaderExceptions.FirstOrDefault(e => e is not null) is { } first)
        {
            inner = first;
        }

        return $"{inner.GetType().Name}: {inner.Message.Split('\n')[0]}";
    }
}
