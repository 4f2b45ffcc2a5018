using System.Text.Json;
using System.Text.Json.Serialization;
using Captum.Checkpoints;

namespace Captum.Concept;

/// <summary>
/// Concept activation vectors of one experimental set in one layer: the weights of the classifier that separates the
/// concepts' activations there, one row per concept, with the classifier's accuracy.
/// </summary>
/// <remarks>
/// Python: <c>captum.concept.CAV(concepts, layer, stats)</c>, whose <c>stats</c> dictionary ("weights", "classes",
/// "accs") is here <see cref="Weights"/>, <see cref="Classes"/> and <see cref="Accuracy"/>. Saved as a safetensors
/// file: the weights as the tensor "weights" and a small JSON header (concept ids and names, layer, classes, accuracy)
/// in its metadata, instead of Captum's pickle. A loaded CAV's concepts carry ids and names, not examples.
/// </remarks>
public sealed class CAV : IDisposable
{
    private const string Format = "captum-sharp-cav/1";
    private const string HeaderKey = "cav";

    /// <summary>Creates a CAV that owns <paramref name="weights"/>.</summary>
    /// <param name="concepts">The experimental set, in its order.</param>
    /// <param name="layer">The layer's name (its dotted path).</param>
    /// <param name="weights">[classes, features], one row per entry of <paramref name="classes"/>.</param>
    /// <param name="classes">The concept id of each weight row; every concept's id appears exactly once.</param>
    /// <param name="accuracy">The classifier's accuracy, or null.</param>
    /// <exception cref="ArgumentException">The shapes, classes and concepts do not agree.</exception>
    public CAV(IReadOnlyList<Concept> concepts, string layer, Tensor weights, IReadOnlyList<long> classes, double? accuracy)
    {
        ArgumentNullException.ThrowIfNull(concepts);
        ArgumentException.ThrowIfNullOrEmpty(layer);
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(classes);
        if (weights.dim() != 2 || weights.shape[0] != classes.Count)
        {
            throw new ArgumentException($"weights must be [classes, features] with {classes.Count} rows; got [{string.Join(", ", weights.shape)}].", nameof(weights));
        }

        var missing = concepts.Where(c => !classes.Contains(c.Id)).ToList();
        if (missing.Count > 0)
        {
            throw new ArgumentException(
                $"classes [{string.Join(", ", classes)}] have no row for {string.Join(", ", missing)}.",
                nameof(classes));
        }

        Concepts = concepts;
        Layer = layer;
        Weights = weights;
        Classes = classes;
        Accuracy = accuracy;
    }

    /// <summary>The experimental set. Python: <c>concepts</c>.</summary>
    public IReadOnlyList<Concept> Concepts { get; }

    /// <summary>The layer. Python: <c>layer</c>.</summary>
    public string Layer { get; }

    /// <summary>[classes, features], the concept activation vectors (not normalised). Python: <c>stats["weights"]</c>.</summary>
    public Tensor Weights { get; }

    /// <summary>The concept id of each row of <see cref="Weights"/>. Python: <c>stats["classes"]</c>.</summary>
    public IReadOnlyList<long> Classes { get; }

    /// <summary>The classifier's accuracy (on held-out examples for the default classifier), or null. Python: <c>stats["accs"]</c>.</summary>
    public double? Accuracy { get; }

    /// <summary>The vector of <paramref name="concept"/>: its row of <see cref="Weights"/> (a view; the CAV owns it).</summary>
    /// <exception cref="ArgumentException">The concept is not in this CAV's set.</exception>
    public Tensor VectorOf(Concept concept)
    {
        ArgumentNullException.ThrowIfNull(concept);
        var row = Classes.ToList().IndexOf(concept.Id);
        return row >= 0 ? Weights[row] : throw new ArgumentException($"{concept} is not in this CAV's set {Concept.KeyOf(Concepts)}.", nameof(concept));
    }

    /// <summary>The file name Captum gives this set and layer: "ids-layer" (here with the extension .safetensors).</summary>
    /// <param name="concepts">The experimental set.</param>
    /// <param name="layer">The layer's name.</param>
    /// <remarks>Python: <c>CAV.assemble_save_path</c> without its folder. Characters a file name cannot hold become '_'.</remarks>
    public static string FileName(IReadOnlyList<Concept> concepts, string layer) =>
        ActivationStore.SafeFileName($"{Concept.KeyOf(concepts)}-{layer}") + ".safetensors";

    /// <summary>Writes the CAV to <paramref name="path"/> (replaced whole, never left half-written).</summary>
    /// <param name="path">The file to write.</param>
    /// <remarks>Python: <c>CAV.save()</c>.</remarks>
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var header = new Header(Format, Concepts.Select(c => c.Id).ToArray(), Concepts.Select(c => c.Name).ToArray(), Layer, Classes.ToArray(), Accuracy);
        SafeTensors.Save(
            new Dictionary<string, Tensor> { ["weights"] = Weights },
            path,
            new Dictionary<string, string> { [HeaderKey] = JsonSerializer.Serialize(header) });
    }

    /// <summary>Reads a CAV written by <see cref="Save"/>; its concepts have ids and names but no examples.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The CAV; the caller disposes it.</returns>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">The file is no CAV (no header, another format, shapes that disagree).</exception>
    /// <remarks>Python: <c>CAV.load</c>.</remarks>
    public static CAV Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var file = SafeTensors.Load(path);
        if (!file.Metadata.TryGetValue(HeaderKey, out var json) || !file.Tensors.TryGetValue("weights", out var weights))
        {
            throw new InvalidDataException($"{path} is a safetensors file without a CAV (no '{HeaderKey}' metadata or 'weights' tensor).");
        }

        Header? header;
        try
        {
            header = JsonSerializer.Deserialize<Header>(json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: the CAV header is not valid JSON: {e.Message}", e);
        }

        if (header is null || header.Format != Format || header.ConceptIds is null || header.ConceptNames is null
            || header.ConceptIds.Length != header.ConceptNames.Length || string.IsNullOrEmpty(header.Layer) || header.Classes is null)
        {
            throw new InvalidDataException($"{path}: the CAV header is not a {Format} header.");
        }

        var concepts = header.ConceptIds.Zip(header.ConceptNames, (id, name) => new Concept(id, name, (IEnumerable<Inputs>?)null)).ToList();
        try
        {
            return new CAV(concepts, header.Layer, weights.clone(), header.Classes, header.Accuracy);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }

    /// <summary>Frees the weights.</summary>
    public void Dispose() => Weights.Dispose();

    private sealed record Header(
        [property: JsonPropertyName("format")] string Format,
        [property: JsonPropertyName("conceptIds")] int[] ConceptIds,
        [property: JsonPropertyName("conceptNames")] string[] ConceptNames,
        [property: JsonPropertyName("layer")] string Layer,
        [property: JsonPropertyName("classes")] long[] Classes,
        [property: JsonPropertyName("accuracy")] double? Accuracy);
}
