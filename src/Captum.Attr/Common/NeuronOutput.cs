using Captum.Forward;
using Captum.Layers;
using Captum.Runtime;
using static TorchSharp.torch;

namespace Captum.Attr;

/// <summary>
/// The neuron a neuron method explains in place of the model's output: the resolved layer and the selector, what
/// every neuron method is built from. It runs the model and selects the neuron of every example from the layer's
/// output (or input).
/// </summary>
internal sealed class NeuronOutput
{
    private readonly string layerName;

    /// <summary>Checks the selector and resolves the layer.</summary>
    /// <exception cref="ArgumentException">The selector is empty, or the layer cannot be resolved.</exception>
    public NeuronOutput(ForwardFunction forwardFunc, LayerReference layer, NeuronSelector selector)
    {
        ArgumentNullException.ThrowIfNull(forwardFunc);
        TorchRuntime.EnsureAvailable();
        if (selector.IsEmpty)
        {
            throw new ArgumentException("neuronSelector is empty: give a neuron index or a selector function.", "neuronSelector");
        }

        Evaluation = LayerEvaluation.Create(forwardFunc, [layer], false);
        layerName = layer.ToString();
        Selector = selector;
    }

    /// <summary>Reads (or replaces) the layer's values during forward passes.</summary>
    public LayerEvaluation Evaluation { get; }

    /// <summary>The resolved layer.</summary>
    public nn.Module Layer => Evaluation.Layers[0];

    /// <summary>The neuron.</summary>
    public NeuronSelector Selector { get; }

    /// <summary>The neuron of every example, [batch], selected from the layer's tensors (or from tensors shaped as them, such as their gradients).</summary>
    public Tensor Select(Tensor[] layerTensors) => Selector.Select(layerTensors, layerName);

    /// <summary>
    /// Runs the model with gradients enabled on <paramref name="args"/> and returns the neuron of every example,
    /// [batch], attached to the graph: what the neuron methods differentiate in place of the model's output.
    /// </summary>
    public Tensor Value(object?[] args, bool onInput)
    {
        using var grad = torch.enable_grad();
        var (_, values) = Evaluation.ForwardWithValues(args, onInput);
        return Select(values[0]);
    }

    /// <summary>
    /// Runs the model and returns the gradients of the neuron's sum over the batch with respect to
    /// <paramref name="inputs"/> (which are among <paramref name="args"/> and require grad): Captum's neuron gradient function.
    /// </summary>
    public Tensor[] Gradients(object?[] args, IReadOnlyList<Tensor> inputs, bool onInput)
    {
        using var grad = torch.enable_grad();
        return Attr.Gradients.Of(Value(args, onInput), inputs);
    }

    /// <summary>
    /// The gradients of the neuron's sum over the batch at <paramref name="points"/> (followed by
    /// <paramref name="additional"/>), with respect to detached copies of the points.
    /// </summary>
    public Tensor[] Gradients(IReadOnlyList<Tensor> points, IReadOnlyList<object?> additional, bool onInput)
    {
        var leaves = Attr.Gradients.Leaves(points);
        return Gradients(ArgumentPreparation.Concat(leaves, additional), leaves, onInput);
    }
}
