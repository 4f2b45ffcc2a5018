using Captum.Forward;
using Captum.Layers;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// Runs a model while observing or replacing the values of chosen layers (their outputs, or their inputs),
/// shared by every layer and neuron method. Every hook is removed before returning, also on exceptions, and
/// every layer must be called exactly once per forward pass.
/// </summary>
internal sealed class LayerEvaluation
{
    private readonly ForwardFunction forward;
    private readonly IReadOnlyList<nn.Module> layers;
    private readonly IReadOnlyList<string> names;
    private readonly string argumentName;

    /// <summary>Creates the evaluator.</summary>
    /// <param name="forward">The model.</param>
    /// <param name="layers">The resolved layers.</param>
    /// <param name="names">How each layer is named in errors (its path or type).</param>
    /// <param name="argumentName">The argument errors name ("layer" or "layers").</param>
    public LayerEvaluation(ForwardFunction forward, IReadOnlyList<nn.Module> layers, IReadOnlyList<string> names, string argumentName)
    {
        this.forward = forward;
        this.layers = layers;
        this.names = names;
        this.argumentName = argumentName;
    }

    /// <summary>Resolves layer references against the forward function's module.</summary>
    public static LayerEvaluation Create(ForwardFunction forward, IReadOnlyList<LayerReference> references, bool isList)
    {
        var argument = isList ? "layers" : "layer";
        var resolved = references.Select(r => r.Resolve(forward.Module, argument)).ToArray();
        if (resolved.Distinct().Count() != resolved.Length)
        {
            throw new ArgumentException($"{argument}: the same layer is given more than once.", argument);
        }

        return new LayerEvaluation(forward, resolved, references.Select(r => r.ToString()).ToArray(), argument);
    }

    /// <summary>The resolved layers.</summary>
    public IReadOnlyList<nn.Module> Layers => layers;

    /// <summary>The argument errors about the layers name ("layer" or "layers").</summary>
    public string ArgumentName => argumentName;

    /// <summary>Runs the model without gradients and returns each layer's tensors, detached.</summary>
    public Tensor[][] Capture(object?[] args, bool onInput)
    {
        using var noGrad = torch.no_grad();
        var (_, values) = Run(args, onInput, replacements: null, keepOutput: false);
        return Detached(values);
    }

    /// <summary>
    /// Like <see cref="Capture"/>, but the forward pass is abandoned as soon as every layer has produced its
    /// tensors: the rest of the model is not run. A layer called more than once is not detected here, so a caller
    /// must also run full passes (which check it) before it returns a result.
    /// </summary>
    public Tensor[][] CaptureUntilComplete(object?[] args, bool onInput)
    {
        using var noGrad = torch.no_grad();
        var (_, values) = Run(args, onInput, replacements: null, keepOutput: false, stopWhenComplete: true);
        return Detached(values);
    }

    /// <summary>Like <see cref="Capture"/>, and also returns the model's output (without gradients).</summary>
    public (Tensor Output, Tensor[][] Values) CaptureWithOutput(object?[] args, bool onInput)
    {
        using var noGrad = torch.no_grad();
        var (output, values) = Run(args, onInput, replacements: null, keepOutput: true);
        return (output!, Detached(values));
    }

    private static Tensor[][] Detached(Tensor[][] values) => values.Select(v => v.Select(t => t.detach()).ToArray()).ToArray();

    /// <summary>
    /// Runs the model with gradients enabled and returns its output and each layer's tensors as computed, still
    /// attached to the graph, so that gradients with respect to them can be taken. A floating-point layer tensor
    /// that does not require grad (the layer depends on no parameter or input that does) is replaced, for the
    /// rest of the pass, by a detached alias that requires grad, as Captum's gradient requirements on layers do;
    /// the caller's tensors and flags are never touched.
    /// </summary>
    public (Tensor Output, Tensor[][] Values) ForwardWithValues(object?[] args, bool onInput)
    {
        using var grad = torch.enable_grad();
        var (output, values) = Run(args, onInput, replacements: null, keepOutput: true, requireGrad: true);
        return (output!, values);
    }

    /// <summary>Runs the model with each layer's tensors replaced by <paramref name="replacements"/> (per layer).</summary>
    public Tensor ForwardReplacing(object?[] args, bool onInput, IReadOnlyList<Tensor[]> replacements)
    {
        var (output, _) = Run(args, onInput, replacements, keepOutput: true);
        return output!;
    }

    /// <summary>
    /// Runs the model on <paramref name="args"/> (batch n, not expanded to the steps) with the layers' outputs (or
    /// inputs) replaced by <paramref name="replacements"/>, whose rows are those of several steps
    /// (<paramref name="expectedRows"/> = steps x n): the part of the model before the layers runs once, without
    /// gradients, and only the rest runs on the steps.
    /// Returns null, having changed nothing, when the model does not allow it: the forward pass throws (a tensor of
    /// batch n from before the layers meets the steps' rows after them, so the shapes do not fit), or its output does
    /// not have <paramref name="expectedRows"/> rows or does not depend on the replacements. The caller then runs the
    /// usual pass on expanded inputs. Cancellation and a failure of intermediate release still propagate. A model
    /// whose rows read other rows of a tensor from before the layers passes these checks with a different answer:
    /// <see cref="ReplacingOnceMatchesExpanded"/> is what detects it.
    /// </summary>
    public Tensor? TryForwardReplacingOnce(object?[] args, bool onInput, IReadOnlyList<Tensor[]> replacements, long expectedRows)
    {
        // The attempt's own tensors (the layer's discarded value, the part before it) are freed when it ends: at once
        // when it fails, before the expanded pass; the autograd graph keeps what the gradient needs.
        using var attempt = torch.NewDisposeScope();
        var output = TryRunOnce(args, onInput, replacements, expectedRows, differentiable: true);
        return output is { requires_grad: true } ? output.MoveToOuterDisposeScope() : null;
    }

    /// <summary>
    /// <see cref="TryForwardReplacingOnce"/> without gradients, for the perturbation methods: the part of the model
    /// before the layers runs once on <paramref name="args"/> (n rows), the rest on the replacements'
    /// <paramref name="expectedRows"/> rows. Null, having changed nothing, when the model does not allow it. Whether
    /// the answer is the usual pass's is for <see cref="ReplacingOnceMatchesExpanded"/> to say, once.
    /// </summary>
    public Tensor? TryForwardReplacingOnceWithoutGradients(object?[] args, bool onInput, IReadOnlyList<Tensor[]> replacements, long expectedRows)
    {
        using var attempt = torch.NewDisposeScope();
        return TryRunOnce(args, onInput, replacements, expectedRows, differentiable: false)?.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Whether the pass of <see cref="TryForwardReplacingOnce"/> on <paramref name="args"/> gives, without gradients,
    /// the output of the usual pass on <paramref name="expandedArgs"/> (the same inputs repeated once per step of
    /// <paramref name="replacements"/>) with the same replacements. Shapes alone do not show every difference: a
    /// tensor from before the layers that the rest of the model reduces or scores over the batch (a sum over rows,
    /// a softmax over the batch's keys) has n rows on one pass and steps x n on the other, and a batch-1 tensor
    /// broadcast over the steps is its copies only for operations that treat rows separately. A model whose outputs
    /// differ between two passes (dropout in training mode) fails the check too. Cancellation and a failure of
    /// intermediate release propagate; any other exception gives false, and the usual pass then reports it.
    /// </summary>
    public bool ReplacingOnceMatchesExpanded(object?[] args, object?[] expandedArgs, bool onInput, IReadOnlyList<Tensor[]> replacements, long expectedRows)
    {
        var (matches, expanded) = CompareReplacingOnce(args, expandedArgs, onInput, replacements, expectedRows);
        expanded?.Dispose();
        return matches;
    }

    /// <summary>
    /// <see cref="ReplacingOnceMatchesExpanded"/>, also giving the usual pass's output (without gradients, in the
    /// caller's dispose scope) when it ran, so that a perturbation method need not run that pass again.
    /// </summary>
    public (bool Matches, Tensor? Expanded) CompareReplacingOnce(object?[] args, object?[] expandedArgs, bool onInput, IReadOnlyList<Tensor[]> replacements, long expectedRows)
    {
        using var probe = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        if (TryRunOnce(args, onInput, replacements, expectedRows, differentiable: false) is not { } once)
        {
            return (false, null);
        }

        Tensor expanded;
        try
        {
            expanded = ForwardReplacing(expandedArgs, onInput, replacements);
        }
        catch (Exception ex) when (IsRefusal(ex))
        {
            return (false, null);
        }

        expanded.MoveToOuterDisposeScope();
        if (!once.shape.SequenceEqual(expanded.shape) || once.dtype != expanded.dtype || !once.is_floating_point())
        {
            return (false, expanded);
        }

        // Both passes run the rest of the model on the same rows; where the model allows the shortcut they differ by
        // rounding at most (a reduction over copies rather than one row), far below any dependence on the batch.
        var scale = expanded.numel() == 0 ? 0.0 : expanded.abs().max().ToDouble();
        var atol = double.IsFinite(scale) ? 1e-6 * scale : 0.0;
        return (once.allclose(expanded, rtol: 1e-5, atol: atol, equal_nan: true), expanded);
    }

    private Tensor? TryRunOnce(object?[] args, bool onInput, IReadOnlyList<Tensor[]> replacements, long expectedRows, bool differentiable)
    {
        Tensor? output;
        try
        {
            using var noGrad = torch.no_grad();
            (output, _) = Run(args, onInput, replacements, keepOutput: true, gradAfterLayers: differentiable);
        }
        catch (Exception ex) when (IsRefusal(ex))
        {
            return null;
        }

        return output is { } o && o.dim() > 0 && o.shape[0] == expectedRows ? o : null;
    }

    /// <summary>
    /// Whether a failed attempt may be answered by the usual pass: not for cancellation, nor for a call that freed
    /// intermediates the model kept (that error must reach the caller, not be followed by a silent second call).
    /// </summary>
    private static bool IsRefusal(Exception exception) => exception is not (OperationCanceledException or IntermediateReleaseException);

    private (Tensor? Output, Tensor[][] Values) Run(
        object?[] args,
        bool onInput,
        IReadOnlyList<Tensor[]>? replacements,
        bool keepOutput,
        bool requireGrad = false,
        bool stopWhenComplete = false,
        bool gradAfterLayers = false)
    {
        var values = new Tensor[layers.Count][];
        var calls = new int[layers.Count];
        var hooks = new List<IDisposable>();
        var complete = false;
        Tensor? output = null;

        // With gradAfterLayers the pass starts without gradients and they are switched on at the first replaced layer,
        // before its replacement is copied into the model, for the rest of the pass, on the calling thread only (grad
        // mode is per thread); restored below.
        IDisposable? gradMode = null;
        var callingThread = Environment.CurrentManagedThreadId;
        try
        {
            for (var l = 0; l < layers.Count; l++)
            {
                var index = l;
                hooks.Add(LayerHooks.Register(layers[l], onInput, current =>
                {
                    // Reported at once: a second call would be fed the first call's replacement, which may not fit.
                    if (++calls[index] > 1)
                    {
                        throw CalledMoreThanOnce(index, calls[index]);
                    }

                    Tensor[] kept;
                    if (replacements is not null)
                    {
                        kept = replacements[index];
                        if (kept.Length != current.Length)
                        {
                            throw new ArgumentException($"layer {names[index]} produces {current.Length} tensors, but {kept.Length} replacements were given.", argumentName);
                        }
                    }
                    else
                    {
                        // A floating-point value that does not require grad gets a detached alias that does.
                        // Contiguous, as the caller reads them (a model given channels-last batches makes its
                        // convolutions' values in that order).
                        kept = current.Select(t => requireGrad && !t.requires_grad && t.is_floating_point()
                            ? t.detach().contiguous().requires_grad_(true)
                            : t.is_contiguous() ? t.alias() : t.contiguous()).ToArray();
                    }

                    // The model continues with copies of the kept tensors, as Captum's layer evaluation does: models
                    // may dispose their intermediate values (TorchSharp's Sequential disposes each child's input
                    // once the child has run) or change them in place (an in-place ReLU after the layer, or an
                    // in-place layer reading its input), and neither may touch what is read or differentiated here.
                    // The copies are differentiable, so gradients still reach the kept tensors.
                    values[index] = kept;
                    if (gradAfterLayers && gradMode is null && Environment.CurrentManagedThreadId == callingThread)
                    {
                        gradMode = torch.enable_grad();
                    }

                    if (stopWhenComplete && !complete && calls.All(c => c > 0))
                    {
                        complete = true;
                        throw new CaptureComplete();
                    }

                    return kept.Select((t, i) => ChannelsLastLayout.CloneLike(t, current[i])).ToArray();
                }, argumentName));
            }

            output = forward.Invoke(args);
        }
        catch (Exception ex) when (complete && IsCaptureComplete(ex))
        {
            // Every layer has its values; the rest of the forward pass is not needed. A forward function may have
            // wrapped the signal (in its own exception, or an AggregateException from a task it waited on).
        }
        finally
        {
            gradMode?.Dispose();
            foreach (var hook in hooks)
            {
                hook.Dispose();
            }
        }

        CheckCalledOnce(calls);
        for (var l = 0; l < layers.Count; l++)
        {
            if (values[l].Length == 0)
            {
                throw new ArgumentException($"layer {names[l]}: its {(onInput ? "inputs hold" : "output holds")} no tensor to attribute to.", argumentName);
            }
        }

        return (keepOutput ? output : null, values);
    }

    private void CheckCalledOnce(int[] calls)
    {
        for (var l = 0; l < calls.Length; l++)
        {
            if (calls[l] == 0)
            {
                throw new ArgumentException(
                    $"layer {names[l]} ({layers[l].GetType().Name}) was never called by the forward pass. It must be part of the model and invoked through call(...), not forward(...), so that its hooks fire.",
                    argumentName);
            }

        }
    }

    private ArgumentException CalledMoreThanOnce(int layer, int calls) =>
        new($"layer {names[layer]} ({layers[layer].GetType().Name}) was called {calls} times in one forward pass; this method needs a layer that is called exactly once.", argumentName);

    private static bool IsCaptureComplete(Exception exception) => exception switch
    {
        CaptureComplete => true,
        AggregateException aggregate => aggregate.InnerExceptions.Any(IsCaptureComplete),
        { InnerException: { } inner } => IsCaptureComplete(inner),
        _ => false,
    };

    /// <summary>Thrown from a hook to abandon a forward pass whose remaining work is not needed.</summary>
    private sealed class CaptureComplete : Exception
    {
    }
}
