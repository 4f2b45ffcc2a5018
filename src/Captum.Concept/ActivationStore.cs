using Captum.Checkpoints;

namespace Captum.Concept;

/// <summary>
/// Where a TCAV keeps the activations of concept examples and the CAVs it trained: in memory (optional for
/// activations) and, with a cache folder, on disk under <c>folder/modelId/av</c> and <c>folder/modelId/cav</c>
/// as Captum's <c>save_path</c> does.
/// </summary>
internal sealed class ActivationStore : IDisposable
{
    private readonly Dictionary<(int Concept, string Layer), Tensor> activations = [];
    private readonly Dictionary<(string Set, string Layer), CAV> cavs = [];
    private readonly string? activationFolder;
    private readonly string? cavFolder;

    public ActivationStore(string? folder, string modelId, bool keepActivations)
    {
        KeepActivations = keepActivations;
        if (folder is not null)
        {
            activationFolder = Path.Combine(folder, modelId, "av");
            cavFolder = Path.Combine(folder, modelId, "cav");
        }
    }

    public bool KeepActivations { get; }

    public int ActivationCount => activations.Count;

    public int CavCount => cavs.Count;

    /// <summary>Replaces every character a file name cannot hold (and the path separators) with '_'.</summary>
    public static string SafeFileName(string name)
    {
        var invalid = Path.GetInvalidFileNameChars().Concat(['/', '\\', ':']).ToHashSet();
        return new string(name.Select(c => invalid.Contains(c) ? '_' : c).ToArray());
    }

    /// <summary>The cached activations [n, features] of a concept in a layer, from memory or disk; null when neither has them.
    /// A tensor from memory stays the store's; one read from disk is the caller's (in its dispose scope) unless kept.</summary>
    public Tensor? Activations(Concept concept, string layer)
    {
        if (activations.TryGetValue((concept.Id, layer), out var cached))
        {
            return cached;
        }

        var path = ActivationPath(concept, layer);
        if (path is null || !File.Exists(path))
        {
            return null;
        }

        using var file = SafeTensors.Load(path);
        var loaded = file.Tensors.TryGetValue("activations", out var t) && t.dim() == 2
            ? t.clone()
            : throw new InvalidDataException($"{path} holds no [n, features] tensor 'activations'; delete it to have the activations computed again.");
        if (KeepActivations)
        {
            activations[(concept.Id, layer)] = loaded.DetachFromDisposeScope();
        }

        return loaded;
    }

    /// <summary>Whether the activations are cached (without reading them).</summary>
    public bool HasActivations(Concept concept, string layer) =>
        activations.ContainsKey((concept.Id, layer)) || (ActivationPath(concept, layer) is { } path && File.Exists(path));

    /// <summary>Stores freshly computed activations: on disk when there is a folder, in memory when kept (then the store owns them).</summary>
    public void StoreActivations(Concept concept, string layer, Tensor value)
    {
        if (ActivationPath(concept, layer) is { } path)
        {
            Directory.CreateDirectory(activationFolder!);
            SafeTensors.Save(new Dictionary<string, Tensor> { ["activations"] = value }, path);
        }

        if (KeepActivations)
        {
            if (activations.Remove((concept.Id, layer), out var old))
            {
                old.Dispose();
            }

            activations[(concept.Id, layer)] = value.DetachFromDisposeScope();
        }
    }

    /// <summary>The CAV of a set in a layer from memory, or from disk (then kept in memory); null when neither has it.</summary>
    public CAV? Cav(IReadOnlyList<Concept> set, string layer)
    {
        var key = (Concept.KeyOf(set), layer);
        if (cavs.TryGetValue(key, out var cav))
        {
            return cav;
        }

        var path = cavFolder is null ? null : Path.Combine(cavFolder, CAV.FileName(set, layer));
        if (path is null || !File.Exists(path))
        {
            return null;
        }

        var loaded = CAV.Load(path);
        loaded.Weights.DetachFromDisposeScope();
        cavs[key] = loaded;
        return loaded;
    }

    /// <summary>Keeps a trained CAV (the store owns it from now on) and writes it to disk when there is a folder.</summary>
    public void StoreCav(CAV cav)
    {
        if (cavFolder is not null)
        {
            Directory.CreateDirectory(cavFolder);
            cav.Save(Path.Combine(cavFolder, CAV.FileName(cav.Concepts, cav.Layer)));
        }

        cav.Weights.DetachFromDisposeScope();
        var key = (Concept.KeyOf(cav.Concepts), cav.Layer);
        if (cavs.Remove(key, out var old))
        {
            old.Dispose();
        }

        cavs[key] = cav;
    }

    /// <summary>Frees everything held in memory; the files stay.</summary>
    public void Clear()
    {
        foreach (var t in activations.Values)
        {
            t.Dispose();
        }

        foreach (var c in cavs.Values)
        {
            c.Dispose();
        }

        activations.Clear();
        cavs.Clear();
    }

    public void Dispose() => Clear();

    private string? ActivationPath(Concept concept, string layer) =>
        activationFolder is null ? null : Path.Combine(activationFolder, SafeFileName($"{concept.Identifier}-{layer}") + ".safetensors");
}
