using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// What the path methods that integrate along the straight path in input space share before and after their own
/// gradient (Neuron Integrated Gradients, Neuron Conductance, Internal Influence): the checked inputs, their
/// baselines, and the additional forward arguments expanded once per chunk size. Built inside the caller's
/// dispose scope, whose tensors it holds.
/// </summary>
internal sealed class InputPath
{
    private readonly IReadOnlyDictionary<int, object?[]> expandedArgs;
    private readonly int steps;
    private readonly IntegrationMethod method;
    private readonly int? internalBatchSize;

    private InputPath(IReadOnlyList<Tensor> inputs, Tensor[] baselines, long batchSize, IReadOnlyDictionary<int, object?[]> expandedArgs, int steps, IntegrationMethod method, int? internalBatchSize)
    {
        Inputs = inputs;
        Baselines = baselines;
        BatchSize = batchSize;
        this.expandedArgs = expandedArgs;
        this.steps = steps;
        this.method = method;
        this.internalBatchSize = internalBatchSize;
    }

    /// <summary>The inputs, as given.</summary>
    public IReadOnlyList<Tensor> Inputs { get; }

    /// <summary>One baseline per input, broadcast to the input's shape.</summary>
    public Tensor[] Baselines { get; }

    /// <summary>The examples in the batch.</summary>
    public long BatchSize { get; }

    /// <summary>Checks the arguments (floating inputs, steps, the target's count) and prepares the path.</summary>
    /// <exception cref="ArgumentException">An argument does not fit; the message names it.</exception>
    public static InputPath Prepare(
        string methodName, Inputs inputs, Baselines baselines, IReadOnlyList<object?>? additional, int steps, IntegrationMethod method, int? internalBatchSize, Target? target = null)
    {
        var tensors = inputs.Tensors;
        var n = ArgumentPreparation.BatchSize(tensors);
        InputChecks.RequireFloatingPoint(tensors, methodName, InputUse.Interpolated);
        ArgumentPreparation.Steps(steps, internalBatchSize);
        target?.ValidateCount(n);
        var prepared = ArgumentPreparation.Baselines(tensors, baselines);

        // Expanded once per chunk size, outside the chunks' dispose scopes, and reused by every chunk.
        var extra = additional ?? [];
        var expanded = PathIntegral.ChunkSizes(steps, internalBatchSize, n).ToDictionary(k => k, k => ArgumentPreparation.Expand(extra, k));
        return new InputPath(tensors, prepared, n, expanded, steps, method, internalBatchSize);
    }

    /// <summary>The forward arguments of a chunk: its path points, then the additional arguments expanded for it.</summary>
    public object?[] Args(Tensor[] scaled, int chunkSteps) => ArgumentPreparation.Concat(scaled, expandedArgs[chunkSteps]);

    /// <summary>Integrates <paramref name="gradient"/> along the path, one internal batch at a time.</summary>
    public Tensor[] Integrate(PathGradient gradient, IProgress<AttributionProgress>? progress, CancellationToken cancellationToken) =>
        PathIntegral.Integrate(Inputs, Baselines, BatchSize, gradient, steps, method, internalBatchSize, progress, cancellationToken);

    /// <summary>Multiplies each integral by (input - baseline).</summary>
    public Tensor[] TimesDifference(Tensor[] integrals) =>
        integrals.Select((t, i) => t * PathIntegral.Difference(Inputs[i], Baselines[i])).ToArray();
}
