using TorchSharp;
using static TorchSharp.torch;

namespace Captum.Layers;

/// <summary>
/// A layer to attribute to: a module instance, or a dotted path from the model's root such as
/// <c>"text.embedding"</c> or <c>"input_maps.v"</c>. Converts implicitly from either.
/// </summary>
public readonly struct LayerReference
{
    private LayerReference(nn.Module? module, string? path)
    {
        Module = module;
        Path = path;
    }

    /// <summary>The layer instance, when given as one.</summary>
    public nn.Module? Module { get; }

    /// <summary>The dotted path, when given as one.</summary>
    public string? Path { get; }

    /// <summary>A layer given by instance.</summary>
    public static implicit operator LayerReference(nn.Module module) => new(module ?? throw new ArgumentNullException(nameof(module)), null);

    /// <summary>A layer given by dotted path.</summary>
    public static implicit operator LayerReference(string path) => new(null, path ?? throw new ArgumentNullException(nameof(path)));

    /// <summary>Resolves the layer against <paramref name="root"/> (needed for paths only).</summary>
    /// <exception cref="ArgumentException">The path does not exist under the root, or no root is known for a path.</exception>
    public nn.Module Resolve(nn.Module? root, string argumentName = "layer")
    {
        if (Module is not null)
        {
            return Module;
        }

        if (root is null)
        {
            throw new ArgumentException(
                $"{argumentName} '{Path}' is a path, but the forward function has no module to resolve it against; pass the layer instance, or build the forward function from a module.",
                argumentName);
        }

        return LayerPath.Resolve(root, Path!, argumentName);
    }

    /// <inheritdoc />
    public override string ToString() => Path ?? Module?.GetName() ?? "(none)";
}

/// <summary>Resolves dotted module paths.</summary>
public static class LayerPath
{
    /// <summary>
    /// Finds the submodule at <paramref name="path"/> (dot-separated names as in <c>named_modules()</c>;
    /// the empty string is the root itself).
    /// </summary>
    /// <exception cref="ArgumentException">No module exists at that path; the message lists the available paths.</exception>
    public static nn.Module Resolve(nn.Module root, string path, string argumentName = "layer")
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(path);
        if (path.Length == 0)
        {
            return root;
        }

        foreach (var (name, module) in root.named_modules())
        {
            if (name == path)
            {
                return module;
            }
        }

        var available = root.named_modules().Select(m => m.name).Where(n => n.Length > 0).Take(40).ToList();
        throw new ArgumentException(
            $"{argumentName}: the model has no module at path '{path}'. Available paths: {string.Join(", ", available)}{(available.Count == 40 ? ", ..." : string.Empty)}.",
            argumentName);
    }

    /// <summary>The dotted path of <paramref name="module"/> under <paramref name="root"/>, or null.</summary>
    public static string? PathOf(nn.Module root, nn.Module module)
    {
        ArgumentNullException.ThrowIfNull(root);
        if (ReferenceEquals(root, module))
        {
            return string.Empty;
        }

        foreach (var (name, m) in root.named_modules())
        {
            if (ReferenceEquals(m, module))
            {
                return name;
            }
        }

        return null;
    }
}
