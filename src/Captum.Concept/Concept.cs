namespace Captum.Concept;

/// <summary>
/// A human-friendly idea ("striped", "red", "circle") given by examples: batches of model inputs that show it.
/// </summary>
/// <remarks>
/// Python: <c>captum.concept.Concept(id, name, data_iter)</c>. The examples are read lazily, batch by batch, only
/// when a <see cref="TCAV"/> needs the concept's activations for a layer that is in neither of its caches; they are
/// enumerated once for a quick check of the first batch and once for the activations, so the sequence must be
/// re-enumerable (a list, or an iterator method: each enumeration makes a new enumerator). Batches an enumeration
/// creates while a TCAV reads it are freed once their activations are taken, and so is anything else it creates
/// while making a batch: a tensor an iterator keeps for later batches must be made before the enumeration starts.
/// Tensors that existed before (a list you built) stay yours. Within one TCAV, a concept is known by its <see cref="Id"/>: two concepts with the same id
/// must be the same instance, and activations and CAVs are cached under the id.
/// </remarks>
public sealed class Concept
{
    private readonly IEnumerable<Inputs>? examples;

    /// <summary>Creates a concept whose examples are batches of a single-input model's input, batch first.</summary>
    /// <param name="id">The concept's unique id; also the class label of its examples when a CAV is trained.</param>
    /// <param name="name">A readable name (used in cache file names and reports).</param>
    /// <param name="examples">Batches of example inputs [b, ...]; null for a concept known only from saved CAVs.</param>
    /// <exception cref="ArgumentException"><paramref name="name"/> is null or empty.</exception>
    public Concept(int id, string name, IEnumerable<Tensor>? examples)
        : this(id, name, examples?.Select(t => new Inputs(t)))
    {
    }

    /// <summary>Creates a concept whose examples are batches of a model's inputs (one or several tensors, batch first).</summary>
    /// <param name="id">The concept's unique id; also the class label of its examples when a CAV is trained.</param>
    /// <param name="name">A readable name (used in cache file names and reports).</param>
    /// <param name="examples">
    /// Batches of example inputs, each as many tensors as the model takes (integer token ids allowed), all tensors of a
    /// batch with the same first dimension; null for a concept known only from saved CAVs. Python: <c>data_iter</c>.
    /// </param>
    /// <exception cref="ArgumentException"><paramref name="name"/> is null or empty.</exception>
    public Concept(int id, string name, IEnumerable<Inputs>? examples)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        Id = id;
        Name = name;
        this.examples = examples;
    }

    /// <summary>The unique id. Python: <c>id</c>.</summary>
    public int Id { get; }

    /// <summary>The name. Python: <c>name</c>.</summary>
    public string Name { get; }

    /// <summary>Whether the concept has an example source (a concept loaded with a saved <see cref="CAV"/> has none).</summary>
    public bool HasExamples => examples is not null;

    /// <summary>"name-id", the key of its activations on disk. Python: <c>identifier</c>.</summary>
    public string Identifier => $"{Name}-{Id}";

    /// <summary>The example batches (null when the concept has none).</summary>
    internal IEnumerable<Inputs>? Examples => examples;

    /// <inheritdoc />
    public override string ToString() => $"Concept({Id}, {Name})";

    /// <summary>The key of an experimental set: the concepts' ids joined by hyphens, as Captum's <c>concepts_to_str</c>.</summary>
    /// <param name="concepts">The concepts, in order.</param>
    /// <returns>For ids 0, 1 and 2: "0-1-2".</returns>
    public static string KeyOf(IEnumerable<Concept> concepts)
    {
        ArgumentNullException.ThrowIfNull(concepts);
        return string.Join("-", concepts.Select(c => c.Id));
    }
}
