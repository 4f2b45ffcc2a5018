using Captum.Forward;
using Captum.Layers;
using Captum.Runtime;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// Internal Influence (Leino et al., 2018): the gradient of the explained output with respect to each neuron of a
/// layer, integrated along the straight path from the baseline to the input (in input space), not multiplied by
/// anything. It equals Layer Integrated Gradients without the multiplication when the layer is linear in the inputs.
/// </summary>
/// <remarks>
/// Python: <c>captum.attr.InternalInfluence(forward_func, layer)</c>. Inputs must be floating point. The layer
/// must be called exactly once per forward pass, through <c>call</c>, and its tensors must be batch first.
/// Cost: <c>Steps</c> forward and backward passes over the batch, in chunks of <c>InternalBatchSize</c>.
/// </remarks>
public sealed class InternalInfluence : ILayerAttributionMethod<InternalInfluenceOptions>
{
    private readonly LayerEvaluation evaluation;

    /// <summary>Creates the method.</summary>
    /// <param name="forwardFunc">The model or function to explain.</param>
    /// <param name="layer">The layer (instance or dotted path).</param>
    public InternalInfluence(ForwardFunction forwardFunc, LayerReference layer)
    {
        ArgumentNullException.ThrowIfNull(forwardFunc);
        TorchRuntime.EnsureAvailable();
        evaluation = LayerEvaluation.Create(forwardFunc, [layer], false);
    }

    /// <summary>The resolved layer.</summary>
    public nn.Module Layer => evaluation.Layers[0];

    IReadOnlyList<nn.Module> ILayerAttributionMethod<InternalInfluenceOptions>.Layers => [Layer];

    /// <summary>False: the method has no convergence delta. Python: <c>has_convergence_delta()</c>.</summary>
    public bool HasConvergenceDelta => false;

    /// <summary>Attributes the explained output to every neuron of the layer's output (or input).</summary>
    /// <param name="inputs">The model's inputs, batch first, floating point. Not modified.</param>
    /// <param name="options">Baselines, target, steps and the rest; Captum's defaults when null.</param>
    /// <param name="cancellationToken">Checked between internal batches.</param>
    /// <returns>One tensor per layer tensor, of its shape; the caller disposes the result.</returns>
    /// <exception cref="ArgumentException">An argument does not fit, or the layer is not called exactly once.</exception>
    public LayerAttributionResult Attribute(Inputs inputs, InternalInfluenceOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new InternalInfluenceOptions();
        using var scope = torch.NewDisposeScope();
        var path = InputPath.Prepare(
            nameof(InternalInfluence), inputs, options.Baselines, options.AdditionalForwardArgs, options.Steps, options.Method, options.InternalBatchSize, options.Target);
        var n = path.BatchSize;

        IList<Tensor> Gradient(Tensor[] scaled, int steps)
        {
            var (grads, _, _) = LayerGradients.Compute(
                evaluation, path.Args(scaled, steps), options.AttributeToLayerInput, options.Target.Repeat(steps));
            foreach (var g in grads[0])
            {
                if (g.dim() == 0 || g.shape[0] != steps * n)
                {
                    throw new ArgumentException(
                        $"layer {evaluation.Layers[0].GetType().Name} gives a tensor of shape {Shapes.Format(g.shape)}, but {steps} steps of {n} examples need it batch first with {steps * n} rows.",
                        "layer");
                }
            }

            return grads[0];
        }

        var totals = path.Integrate(Gradient, options.Progress, cancellationToken, options.MaxMemoryBytes);
        return new LayerAttributionResult(LayerAttribution.MoveOut([totals]), null) { InternalBatchSize = path.InternalBatchSize, MemoryBudgetOverrun = path.MemoryBudgetOverrun };
    }
}

/// <summary>The arguments of <see cref="InternalInfluence.Attribute"/>, with Captum's defaults.</summary>
/// <remarks>Python: the keyword arguments of <c>InternalInfluence.attribute</c>. <c>Progress</c> counts the steps done.</remarks>
public sealed record InternalInfluenceOptions : BaselineAttributionOptions, ILayerAttributionOptions
{
    /// <summary>The number of integration points; 50 by default. Python: <c>n_steps</c>.</summary>
    public int Steps { get; init; } = 50;

    /// <summary>The integration rule; Gauss-Legendre by default. Python: <c>method</c>.</summary>
    public IntegrationMethod Method { get; init; } = IntegrationMethod.GaussLegendre;

    /// <summary>
    /// At most this many expanded examples (steps times batch) per forward and backward pass; null runs every step
    /// in one pass. At least one step is always taken per pass. It does not change the result. Python: <c>internal_batch_size</c>.
    /// </summary>
    public int? InternalBatchSize { get; init; }

    /// <summary>
    /// When <see cref="InternalBatchSize"/> is null, the memory one pass may use: a probe runs one step's forward and
    /// backward pass and as many steps per pass as fit are taken; the result's <c>InternalBatchSize</c> says how many
    /// rows. Null (the default) means <see cref="MemoryBudget.DefaultBytes"/> on CPU tensors where the memory can be
    /// measured, and the probe runs only when the pass is not evidently small, as for
    /// <see cref="IntegratedGradientsOptions.MaxMemoryBytes"/>; <see cref="MemoryBudget.Unlimited"/> runs every step in
    /// one pass, as Captum does. Beyond Captum.
    /// </summary>
    public long? MaxMemoryBytes { get; init; }

    /// <summary>Attribute to the layer's input instead of its output. Python: <c>attribute_to_layer_input</c>.</summary>
    public bool AttributeToLayerInput { get; init; }
}
