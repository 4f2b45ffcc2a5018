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
    private readonly IReadOnlyList<object?> additional;
    private readonly Dictionary<int, object?[]> expandedArgs = [];
    private readonly int steps;
    private readonly IntegrationMethod method;

    private InputPath(IReadOnlyList<Tensor> inputs, Tensor[] baselines, long batchSize, IReadOnlyList<object?> additional, int steps, IntegrationMethod method, int? internalBatchSize)
    {
        Inputs = inputs;
        Baselines = baselines;
        BatchSize = batchSize;
        this.additional = additional;
        this.steps = steps;
        this.method = method;
        InternalBatchSize = internalBatchSize;
    }

    /// <summary>The inputs, as given.</summary>
    public IReadOnlyList<Tensor> Inputs { get; }

    /// <summary>One baseline per input, broadcast to the input's shape.</summary>
    public Tensor[] Baselines { get; }

    /// <summary>The examples in the batch.</summary>
    public long BatchSize { get; }

    /// <summary>The rows per pass: as given, or as the memory budget chose in <see cref="Integrate"/>; null for one pass.</summary>
    public int? InternalBatchSize { get; private set; }

    /// <summary>Set by <see cref="Integrate"/> when one step alone needed more than the default memory budget.</summary>
    public MemoryBudgetOverrun? MemoryBudgetOverrun { get; private set; }

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
        return new InputPath(tensors, prepared, n, additional ?? [], steps, method, internalBatchSize);
    }

    /// <summary>The forward arguments of a chunk: its path points, then the additional arguments expanded for it.</summary>
    public object?[] Args(Tensor[] scaled, int chunkSteps) => ArgumentPreparation.Concat(scaled, expandedArgs[chunkSteps]);

    /// <summary>
    /// Integrates <paramref name="gradient"/> along the path, one internal batch at a time. Without an internal batch
    /// size, the memory budget (<see cref="MemoryProbe.Budget"/> of <paramref name="maxMemoryBytes"/>) may choose one
    /// first, probing with one point's gradient; <see cref="InternalBatchSize"/> then says which.
    /// </summary>
    public Tensor[] Integrate(PathGradient gradient, IProgress<AttributionProgress>? progress, CancellationToken cancellationToken, long? maxMemoryBytes = null)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var device = Inputs[0].device;
        if (InternalBatchSize is null && MemoryProbe.Budget(maxMemoryBytes, steps, BatchSize, device, Inputs) is { } budget)
        {
            if (!expandedArgs.ContainsKey(1))
            {
                expandedArgs[1] = ArgumentPreparation.Expand(additional, 1);
            }

            (InternalBatchSize, MemoryBudgetOverrun) = MemoryProbe.InternalBatchSize(budget, BatchSize, steps, device, Inputs, () =>
            {
                var midpoint = PathIntegral.Points(Baselines, Inputs.Select((t, i) => PathIntegral.Difference(t, Baselines[i])).ToArray(), [0.5]);
                using (torch.enable_grad())
                {
                    gradient(midpoint, 1);
                }
            });
        }

        ExpandArgs();
        return PathIntegral.Integrate(Inputs, Baselines, BatchSize, gradient, steps, method, InternalBatchSize, progress, cancellationToken);
    }

    /// <summary>Multiplies each integral by (input - baseline).</summary>
    public Tensor[] TimesDifference(Tensor[] integrals) =>
        integrals.Select((t, i) => t * PathIntegral.Difference(Inputs[i], Baselines[i])).ToArray();

    // The additional arguments are expanded once per chunk size, outside the chunks' dispose scopes, and reused.
    private void ExpandArgs()
    {
        foreach (var size in PathIntegral.ChunkSizes(steps, InternalBatchSize, BatchSize).Where(k => !expandedArgs.ContainsKey(k)))
        {
            expandedArgs[size] = ArgumentPreparation.Expand(additional, size);
        }
    }
}
