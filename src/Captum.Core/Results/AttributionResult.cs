using static TorchSharp.torch;

namespace Captum;

/// <summary>
/// The attributions of one call: one tensor per input, each of its input's shape, and the convergence
/// delta per example when it was asked for. The caller owns the result: dispose it (or let an
/// enclosing <c>torch.NewDisposeScope()</c> do it) to free the tensors.
/// </summary>
public sealed class AttributionResult : IDisposable
{
    /// <summary>Creates a result that owns <paramref name="attributions"/> and <paramref name="delta"/>.</summary>
    public AttributionResult(IReadOnlyList<Tensor> attributions, Tensor? delta)
    {
        Attributions = attributions ?? throw new ArgumentNullException(nameof(attributions));
        Delta = delta;
    }

    /// <summary>One attribution tensor per input, in input order, each of the input's shape.</summary>
    public IReadOnlyList<Tensor> Attributions { get; }

    /// <summary>The attribution of the only input.</summary>
    /// <exception cref="InvalidOperationException">There are several inputs; use <see cref="Attributions"/>.</exception>
    public Tensor Attribution => Attributions.Count == 1
        ? Attributions[0]
        : throw new InvalidOperationException($"There are {Attributions.Count} attribution tensors (one per input); index Attributions instead.");

    /// <summary>The attribution of input <paramref name="index"/>.</summary>
    public Tensor this[int index] => Attributions[index];

    /// <summary>
    /// The convergence delta per example, shape [n], when <c>ReturnConvergenceDelta</c> was set:
    /// the sum of the attributions minus (F(input) - F(baseline)).
    /// </summary>
    public Tensor? Delta { get; }

    /// <summary>With adaptive integration, the integration points each example used; otherwise null.</summary>
    public IReadOnlyList<int>? StepsPerExample { get; init; }

    /// <summary>The internal batch size used: the one given, or the one a memory budget chose; null for one pass.</summary>
    public int? InternalBatchSize { get; init; }

    /// <summary>
    /// The perturbations per forward pass used by an ablation method (FeatureAblation, Occlusion, FeaturePermutation,
    /// NeuronFeatureAblation): the number given, or the one the memory budget chose (1 once the model was found to mix
    /// the rows of a batch); null for other methods.
    /// </summary>
    public int? PerturbationsPerEval { get; init; }

    /// <summary>
    /// Set when one step or perturbation alone needed more than the default memory budget, so the call ran beyond it;
    /// null otherwise (and whenever the memory could not be measured).
    /// </summary>
    public MemoryBudgetOverrun? MemoryBudgetOverrun { get; init; }

    /// <summary>Frees the tensors.</summary>
    public void Dispose()
    {
        foreach (var t in Attributions)
        {
            t.Dispose();
        }

        Delta?.Dispose();
    }
}

/// <summary>
/// The attributions of a layer method: for each layer, one tensor per tensor the layer produced (its
/// output, or its inputs with <c>AttributeToLayerInput</c>), each of that tensor's shape; and the
/// convergence delta when asked. The caller owns and disposes it.
/// </summary>
public sealed class LayerAttributionResult : IDisposable
{
    /// <summary>Creates a result that owns the tensors.</summary>
    public LayerAttributionResult(IReadOnlyList<IReadOnlyList<Tensor>> layers, Tensor? delta)
    {
        Layers = layers ?? throw new ArgumentNullException(nameof(layers));
        Delta = delta;
    }

    /// <summary>Per layer, in the order given, the attribution tensors of that layer.</summary>
    public IReadOnlyList<IReadOnlyList<Tensor>> Layers { get; }

    /// <summary>The attribution of layer <paramref name="layer"/>, when that layer produced one tensor.</summary>
    public Tensor this[int layer] => Layers[layer].Count == 1
        ? Layers[layer][0]
        : throw new InvalidOperationException($"Layer {layer} produced {Layers[layer].Count} tensors; index Layers[{layer}] instead.");

    /// <summary>The attribution of the only layer, when it produced one tensor.</summary>
    public Tensor Attribution => Layers.Count == 1 ? this[0] : throw new InvalidOperationException($"There are {Layers.Count} layers; index the result.");

    /// <summary>The convergence delta per example, shape [n], when it was asked for.</summary>
    public Tensor? Delta { get; }

    /// <summary>With adaptive integration, the integration points each example used; otherwise null.</summary>
    public IReadOnlyList<int>? StepsPerExample { get; init; }

    /// <summary>The internal batch size used: the one given, or the one a memory budget chose; null for one pass.</summary>
    public int? InternalBatchSize { get; init; }

    /// <summary>
    /// The perturbations per forward pass used by LayerFeatureAblation: the number given (at most the number of
    /// features); null for other methods.
    /// </summary>
    public int? PerturbationsPerEval { get; init; }

    /// <inheritdoc cref="AttributionResult.MemoryBudgetOverrun"/>
    public MemoryBudgetOverrun? MemoryBudgetOverrun { get; init; }

    /// <summary>Frees the tensors.</summary>
    public void Dispose()
    {
        foreach (var layer in Layers)
        {
            foreach (var t in layer)
            {
                t.Dispose();
            }
        }

        Delta?.Dispose();
    }
}

/// <summary>
/// Progress of an attribution or metric: units of work done out of the total. The unit is the method's own:
/// integration steps for the path methods, forward evaluations for the perturbation methods, samples per example for
/// the sampling methods and the metrics, and one pass of one for methods that take a single pass (each method's
/// <c>Progress</c> option says which). Within one call, <see cref="CompletedSteps"/> never decreases and the last
/// report of a call that completes has <see cref="CompletedSteps"/> equal to <see cref="TotalSteps"/>.
/// </summary>
/// <param name="CompletedSteps">Units of work done.</param>
/// <param name="TotalSteps">Units of work in all.</param>
public readonly record struct AttributionProgress(int CompletedSteps, int TotalSteps);
