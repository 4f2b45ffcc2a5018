using Captum.Forward;
using Captum.Layers;
using Captum.Runtime;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// Neuron Gradient: the gradient of one neuron of a layer (its value on each example) with respect to every input
/// element: what Saliency is for the model's output, for an inner neuron.
/// </summary>
/// <remarks>
/// Python: <c>captum.attr.NeuronGradient(forward_func, layer)</c>, attributed with
/// <c>attribute(inputs, neuron_selector, ...)</c>; here the neuron selector is given to the constructor, so one
/// object explains one neuron. Inputs must be floating point. The layer must be called exactly once per forward pass,
/// through <c>call</c>. Cost: one forward and one backward pass.
/// </remarks>
public sealed class NeuronGradient
{
    private readonly LayerEvaluation evaluation;
    private readonly string layerName;

    /// <summary>Creates the method for one neuron.</summary>
    /// <param name="forwardFunc">The model or function that computes the layer.</param>
    /// <param name="layer">The layer (instance or dotted path).</param>
    /// <param name="neuronSelector">The neuron: an index into the layer's tensor without the batch dimension, or a function. Python: <c>neuron_selector</c>.</param>
    public NeuronGradient(ForwardFunction forwardFunc, LayerReference layer, NeuronSelector neuronSelector)
    {
        evaluation = NeuronGradient.Evaluation(forwardFunc, layer, neuronSelector);
        layerName = layer.ToString();
        NeuronSelector = neuronSelector;
    }

    /// <summary>The resolved layer.</summary>
    public nn.Module Layer => evaluation.Layers[0];

    /// <summary>The explained neuron.</summary>
    public NeuronSelector NeuronSelector { get; }

    /// <summary>The gradient of the neuron with respect to every input element.</summary>
    /// <param name="inputs">The model's inputs, batch first, floating point. Not modified.</param>
    /// <param name="options">Additional forward arguments and whether the neuron is in the layer's input.</param>
    /// <param name="cancellationToken">Checked before the forward pass.</param>
    /// <returns>One tensor per input, of its shape; the caller disposes the result.</returns>
    /// <exception cref="ArgumentException">An argument does not fit (e.g. the neuron index is out of range for the layer).</exception>
    public AttributionResult Attribute(Inputs inputs, NeuronGradientOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new NeuronGradientOptions();
        var tensors = inputs.Tensors;
        using var scope = torch.NewDisposeScope();
        ArgumentPreparation.BatchSize(tensors);
        LayerConductance.RequireFloatingInputs(tensors, nameof(NeuronGradient));
        cancellationToken.ThrowIfCancellationRequested();
        var leaves = Gradients.Leaves(tensors);
        var grads = NeuronGradients(evaluation, NeuronSelector, layerName, ArgumentPreparation.Concat(leaves, options.AdditionalForwardArgs ?? []), leaves, options.AttributeToNeuronInput);
        options.Progress?.Report(new AttributionProgress(1, 1));
        var result = new AttributionResult(grads.Select(g => g.MoveToOuterDisposeScope()).ToArray(), null);
        return result;
    }

    /// <summary>Checks the neuron selector and resolves the layer: the construction every neuron method shares.</summary>
    internal static LayerEvaluation Evaluation(ForwardFunction forwardFunc, LayerReference layer, NeuronSelector neuronSelector)
    {
        ArgumentNullException.ThrowIfNull(forwardFunc);
        TorchRuntime.EnsureAvailable();
        if (neuronSelector.IsEmpty)
        {
            throw new ArgumentException("neuronSelector is empty: give a neuron index or a selector function.", nameof(neuronSelector));
        }

        return LayerEvaluation.Create(forwardFunc, [layer], false);
    }

    /// <summary>
    /// Runs the model and returns the gradients of the sum of the selected neuron over the batch with respect to
    /// <paramref name="inputs"/> (which are among <paramref name="args"/> and require grad): Captum's neuron gradient function.
    /// </summary>
    internal static Tensor[] NeuronGradients(
        LayerEvaluation evaluation, NeuronSelector selector, string layerName, object?[] args, IReadOnlyList<Tensor> inputs, bool onInput)
    {
        using var grad = torch.enable_grad();
        var neuron = NeuronValue(evaluation, selector, layerName, args, onInput);
        return Gradients.Of(neuron, inputs);
    }

    /// <summary>
    /// Runs the model with gradients enabled and returns the selected neuron of every example ([batch]), attached
    /// to the graph: what the neuron methods differentiate in place of the model's output.
    /// </summary>
    internal static Tensor NeuronValue(LayerEvaluation evaluation, NeuronSelector selector, string layerName, object?[] args, bool onInput)
    {
        using var grad = torch.enable_grad();
        var (_, values) = evaluation.ForwardWithValues(args, onInput);
        return selector.Select(values[0], layerName);
    }
}
